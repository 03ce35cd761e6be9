"""The six panels' artists: the axes, curves, montages and bands of the picture, drawn from the
numbers visualisation.Animation keeps, and the views the window's keys choose.

    1 accuracy              2 cross-entropy loss     3 training digits
    4 weights (spread)      5 biases (spread)        6 test digits
"""
import numpy as np

from .digits import digit_grid, wrong_first
from .mistakes import draw_report, report_axes

PANELS = ("accuracy", "loss", "training digits", "weights", "biases", "test digits")
LAYOUTS = {  # key: panels shown, numbered 1 to 6 as above
    "1": (1,), "2": (2,), "3": (3,), "4": (4,), "5": (5,), "6": (6,),
    "7": (1, 2), "8": (4, 5), "9": (3, 6), "0": (1, 2, 3, 4, 5, 6), "escape": (1, 2, 3, 4, 5, 6),
}
VIEWS = {"0": "all six", "1": "accuracy", "2": "loss", "3": "training digits", "4": "weights",
         "5": "biases", "6": "test digits", "7": "accuracy and loss", "8": "weights and biases",
         "9": "training and test digits"}  # the keys, in words, for --layout
SPREAD_PERCENTILES = np.linspace(0, 100, 8)  # 8 lines bound 7 bands of about 14% of the values each
TEST_DIGITS, TEST_COLUMNS = 1000, 40  # 25 rows of 40
ZOOM_TICKS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def zoom_on_the_last_percent(ax):
    """Accuracies from 90% up, on a scale where 90%, 99% and 99.9% are equally far apart (the
    logarithm of the error rate): 98% and 99% stand apart instead of in a thin line at the top."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    ax.set_yscale("function", functions=(error_scale, error_scale_inverse))
    ax.set_ylim(0.9, 0.999)
    ax.yaxis.set_major_locator(FixedLocator(ZOOM_TICKS))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value * 100:g}%"))


def zoom_top(best):
    """The top of the zoom for curves that reach best: a tick or two above it, so that the curves
    fill the panel but keep a round mark above them."""
    above = [tick for tick in ZOOM_TICKS if tick > best]
    return above[1] if len(above) > 1 else ZOOM_TICKS[-1]


def error_scale(accuracy):
    return -np.log10(np.clip(1 - np.asarray(accuracy, dtype=float), 1e-4, 1))


def error_scale_inverse(position):
    return 1 - 10 ** -np.asarray(position, dtype=float)


def curve_lines(accuracy, loss, iterations, held_out):
    """Panels 1 and 2: their axes, and the training (blue) and held-out (red) lines, empty."""
    for ax, name in ((accuracy, "Accuracy"), (loss, "Cross-entropy loss")):
        ax.set_title(name, fontsize=10)
        ax.set_xlim(0, iterations or 1)
        ax.set_xlabel("training step", fontsize=8)
        ax.grid(True, alpha=0.3)
    accuracy.set_ylim(0, 1)
    lines = {
        "training accuracy": accuracy.plot([], [], color="tab:blue", lw=1, label="training")[0],
        "test accuracy": accuracy.plot([], [], color="tab:red", lw=1.5, label=held_out)[0],
        "training loss": loss.plot([], [], color="tab:blue", lw=1, label="training")[0],
        "test loss": loss.plot([], [], color="tab:red", lw=1.5, label=held_out)[0],
    }
    accuracy.legend(loc="lower left", fontsize=8)
    loss.legend(loc="upper right", fontsize=8)
    return lines


def zoom_inset(accuracy_ax, iterations, held_out):
    """The zoom on the last percent, hidden until the accuracy passes 90%, where the chapters compete."""
    zoom = accuracy_ax.inset_axes([0.4, 0.08, 0.57, 0.55])
    zoom_on_the_last_percent(zoom)
    zoom.set_xlim(0, iterations or 1)
    zoom.set_xticks([])
    zoom.set_title(f"{held_out} accuracy, 90% and up", fontsize=7, pad=2)
    zoom.tick_params(labelsize=7)
    zoom.set_visible(False)
    return zoom


def annotate(ax, remark):
    """A diagnosis.Remark as a short label with an arrow at its step."""
    known = remark.value is not None and np.isfinite(remark.value)
    y = remark.value if known else 0.5
    high = known and remark.panel == "accuracy" and remark.value > 0.5
    return ax.annotate(remark.label, xy=(remark.step, y), xycoords="data" if known else ("data", "axes fraction"),
                       xytext=(-30, -40 if high else 30), textcoords="offset points", fontsize=8,
                       color="0.15", ha="center", annotation_clip=False,
                       bbox=dict(boxstyle="round,pad=0.2", fc="lightyellow", ec="0.6", lw=0.5),
                       arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))


class SixPanels:
    """The artists on a figure; update() draws the parts whose numbers changed."""

    def __init__(self, figure, iterations, weights_title, biases_title, held_out):
        from matplotlib.gridspec import GridSpec
        self.figure, self.iterations = figure, iterations
        margins = dict(left=0.05, right=0.98, bottom=0.07, top=0.91, wspace=0.28, hspace=0.35)
        self.grids = {1: GridSpec(1, 1, **margins), 2: GridSpec(1, 2, **margins), 6: GridSpec(2, 3, **margins)}
        self.axes = [figure.add_subplot(self.grids[6][i]) for i in range(6)]
        self.layout = LAYOUTS["0"]
        self.report, self.report_axes, self.report_shown = None, None, False  # the mistakes, the key M's view
        self.build(weights_title, biases_title, held_out)

    def build(self, weights_title, biases_title, held_out):
        """held_out names the images measured beside training: "test", or "validation"."""
        accuracy, loss, training_digits, weights, biases, test_digits = self.axes
        self.lines = curve_lines(accuracy, loss, self.iterations, held_out)
        self.zoom = zoom_inset(accuracy, self.iterations, held_out)
        self.lines["zoom"] = self.zoom.plot([], [], color="tab:red", lw=1.2)[0]
        self.remarks = []  # what diagnosis.Watcher said, as annotations
        training_digits.set_title("Training digits (red: misrecognised)", fontsize=10)
        test_digits.set_title(f"{held_out.capitalize()} digits, misrecognised first", fontsize=10)
        self.images = {}
        for ax, key, shape in ((training_digits, "training", (280, 280)), (test_digits, "test", (700, 1120))):
            ax.set_xticks([])
            self.images[key] = ax.imshow(np.ones(shape + (3,)), interpolation="nearest", aspect="equal")
        training_digits.set_yticks([])
        test_digits.set_ylabel("accuracy", fontsize=8)
        for ax, name in ((weights, weights_title), (biases, biases_title)):
            ax.set_title(f"{name}: spread of values (7 bands)", fontsize=10)
            ax.set_xlim(0, self.iterations or 1)
            ax.set_xlabel("training step", fontsize=8)
        self.bands = {3: [], 4: []}
        for ax in self.axes:
            ax.tick_params(labelsize=8)

    def update(self, changed, training, test, spreads, training_digits, test_digits):
        """Bring the parts in changed up to date: training, test, spreads as Animation keeps them."""
        if "curves" in changed or "spread" in changed and self.iterations is None:
            self.update_curves(training, test, spreads)
        if "training digits" in changed:
            images, labels, predictions = training_digits
            self.set_image("training", digit_grid(images[:100], labels[:100], predictions[:100], 10))
        if "test digits" in changed:
            images, labels, predictions = test_digits
            order = wrong_first(labels, predictions)
            self.set_image("test", digit_grid(images[order], labels[order], predictions[order], TEST_COLUMNS))
            self.set_accuracy_scale(len(labels), float(np.mean(labels == predictions)), np.shape(images)[1])
        if "spread" in changed:
            for index, values in ((3, spreads[1]), (4, spreads[2])):
                self.draw_bands(index, spreads[0], np.array(values))

    def set_image(self, key, grid):
        """A montage into its panel, the panel sized to it (images of any size, any count)."""
        image = self.images[key]
        if image.get_array().shape != grid.shape:
            height, width = grid.shape[:2]
            image.set_extent((-0.5, width - 0.5, height - 0.5, -0.5))
            image.axes.set_xlim(-0.5, width - 0.5)
            image.axes.set_ylim(height - 0.5, -0.5)
        image.set_data(grid)

    def update_curves(self, training, test, spreads):
        if self.iterations is None:  # the length of training is not known ahead: the axes follow it
            last = max(training[0][-1:] + test[0][-1:] + spreads[0][-1:] + [1])
            for ax in (self.axes[0], self.axes[1], self.zoom, self.axes[3], self.axes[4]):
                ax.set_xlim(0, last)
        steps, accuracies, losses = training
        self.lines["training accuracy"].set_data(steps, accuracies)
        self.lines["training loss"].set_data(steps, losses)
        steps, accuracies, losses = test
        self.lines["test accuracy"].set_data(steps, accuracies)
        self.lines["test loss"].set_data(steps, losses)
        if accuracies and max(accuracies) > 0.9:
            self.zoom.set_visible(True)
            self.lines["zoom"].set_data(steps, accuracies)
            self.zoom.set_ylim(0.9, zoom_top(max(accuracies)))
        all_losses = np.array(training[2] + test[2])
        if all_losses.size:
            # An early spike should not flatten the rest: the scale follows the 98th percentile, and
            # leaves out losses a hundred times the median, such as batch norm's first test pass
            # (step 0, before any training step has filled its moving averages: about 1e12).
            ordinary = all_losses[all_losses <= 100 * np.median(all_losses)]
            top = max(np.percentile(ordinary, 98) * 1.1, 1e-3)
            self.axes[1].set_ylim(0, top)

    def set_accuracy_scale(self, count, accuracy, cell_height=28):
        """Ticks beside the test digits: the red cells above a tick's row leave that accuracy.

        The current accuracy is always marked, at the edge of the red cells; round values are
        added where they leave room for their labels.
        """
        pixels_per_digit = cell_height / TEST_COLUMNS
        position = lambda value: (1 - value) * count * pixels_per_digit  # noqa: E731
        kept = {position(accuracy): f"{accuracy:.1%}"}
        for value in (1.0, 0.99, 0.98, 0.97, 0.96, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.25, 0.0):
            y = position(value)
            if all(abs(y - other) >= 84 for other in kept):  # three rows apart: legible labels
                kept[y] = f"{value:.0%}"
        ticks = sorted(kept)
        self.axes[5].set_yticks(ticks, [kept[y] for y in ticks])

    def draw_bands(self, index, steps, percentiles):
        ax = self.axes[index]
        for band in self.bands[index]:
            band.remove()
        shades = (0.85, 0.7, 0.5, 0.3, 0.5, 0.7, 0.85)  # darkest in the middle
        self.bands[index] = [
            ax.fill_between(steps, percentiles[:, i], percentiles[:, i + 1], color=str(shades[i]), lw=0)
            for i in range(7)]
        low, high = percentiles.min(), percentiles.max()
        pad = (high - low) * 0.05 or 0.1
        ax.set_ylim(low - pad, high + pad)

    def add_remark(self, remark):
        """A diagnosis.Remark as a short label with an arrow at its step, on its panel."""
        self.remarks.append((remark, annotate(self.axes[0 if remark.panel == "accuracy" else 1], remark)))

    # --- the views ---------------------------------------------------------------------------------

    def show_panels(self, panels):
        """Show these panels (numbered 1 to 6), laid out to fill the window, and hide the others."""
        self.layout = tuple(panels)
        grid = self.grids[6 if len(panels) > 2 else len(panels)]
        for number, ax in enumerate(self.axes, start=1):
            ax.set_visible(number in panels)
        for slot, number in enumerate(panels if len(panels) <= 2 else range(1, 7)):
            self.axes[number - 1].set_position(grid[slot].get_position(self.figure))

    def set_report(self, report, held_out="test"):
        """The mistakes of the last test pass, for the key M (the view toggles with the panels)."""
        self.report = report
        self.report_axes = self.report_axes or report_axes(self.figure)
        draw_report(*self.report_axes, report, held_out)
        for ax in self.report_axes:
            ax.set_visible(False)

    def show_report(self, shown):
        self.report_shown = shown
        for ax in self.report_axes:
            ax.set_visible(shown)
        if shown:
            for ax in self.axes:
                ax.set_visible(False)
        else:
            self.show_panels(self.layout)

    def visible_panels(self):
        return tuple(number for number, ax in enumerate(self.axes, start=1) if ax.get_visible())
