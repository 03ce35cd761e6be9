"""The six-panel picture of a network learning: what it shows, and how it is drawn.

    1 accuracy              2 cross-entropy loss     3 training digits
    4 weights (spread)      5 biases (spread)        6 test digits

Keys in the window: 1 to 6 show one panel alone, 7 panels 1 and 2, 8 panels 4 and 5, 9 panels 3
and 6, 0 or Esc all six again; Space pauses and resumes training. Matplotlib's own keys keep
working: o zooms to a box, h goes home, ctrl+s saves the picture.

Where it is shown (a window, a notebook cell, a movie), and how often it is redrawn, is
where_shown.py's part. Digit montages are built only for a frame, and only when they changed.
"""
import numpy as np

from mnistdata import atomic_file
from where_shown import DPI, FIGURE_INCHES, MovieWriter, Screen, open_figure


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

# A 5x7 pixel font for the labels of misrecognised digits.
GLYPHS = {
    0: [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    1: ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    2: [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    3: ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
    4: ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    5: ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    6: ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
    7: ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    8: [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    9: [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
}
GLYPH_MASKS = {d: np.array([[c == "#" for c in row] for row in rows]) for d, rows in GLYPHS.items()}
WRONG_BACKGROUND = np.array([1.0, 0.55, 0.55])
LABEL_COLOUR = np.array([0.35, 0.0, 0.0])




def digit_grid(images, labels, predictions, columns):
    """A montage of digits: black on white when recognised, on red with both labels when not.

    images [N, 28, 28] or [N, 28, 28, 1] with pixels in [0, 1]; labels and predictions [N] ints.
    Returns an RGB image [rows * 28, columns * 28, 3]; unused cells stay white. The correct label
    is drawn in the bottom-left corner of a red cell, the predicted one in the bottom-right.
    """
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    count = len(images)
    rows = -(-count // columns)
    wrong = np.asarray(labels) != np.asarray(predictions)
    background = np.where(wrong[:, None, None, None], WRONG_BACKGROUND, 1.0)  # [N, 1, 1, 3]
    cells = background * (1.0 - images[..., None])  # ink darkens the background
    for i in np.flatnonzero(wrong):
        for digit, x in ((labels[i], 1), (predictions[i], 22)):
            cells[i, 20:27, x:x + 5][GLYPH_MASKS[int(digit)]] = LABEL_COLOUR
    grid = np.ones((rows * columns, 28, 28, 3), dtype=np.float32)
    grid[:count] = cells
    return grid.reshape(rows, columns, 28, 28, 3).swapaxes(1, 2).reshape(rows * 28, columns * 28, 3)


def wrong_first(labels, predictions):
    """Indices that put misrecognised digits first, each group in its original order."""
    return np.argsort(np.asarray(labels) == np.asarray(predictions), kind="stable")


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


def draw_report(matrix_ax, mistakes_ax, report, held_out="test"):
    """The confusion matrix of a diagnosis.Report, and the digits it was surest of and got wrong."""
    matrix = report.matrix
    off = np.where(np.eye(10, dtype=bool), 0, matrix)
    matrix_ax.clear()
    matrix_ax.imshow(off, cmap="Reds", vmin=0, vmax=max(off.max(), 1))
    for true in range(10):
        for said in range(10):
            count = matrix[true, said]
            if count:
                matrix_ax.text(said, true, str(count), ha="center", va="center", fontsize=7,
                               color="white" if true != said and count > off.max() / 2 else "black")
    matrix_ax.set_xticks(range(10))
    matrix_ax.set_yticks(range(10))
    matrix_ax.set_xlabel("the network's answer", fontsize=9)
    matrix_ax.set_ylabel("the true digit", fontsize=9)
    matrix_ax.set_title(f"Confusion matrix of the {matrix.sum():,} {held_out} digits: {np.trace(matrix):,} on the "
                        f"diagonal ({report.accuracy:.2%})", fontsize=10)
    matrix_ax.tick_params(labelsize=8)
    mistakes_ax.clear()
    columns = 8
    if report.mistakes:
        images, labels, said, certainty = zip(*report.mistakes)
        grid = digit_grid(np.array(images), np.array(labels), np.array(said), columns)
        mistakes_ax.imshow(grid, interpolation="nearest")
        for index, probability in enumerate(certainty):
            row, column = divmod(index, columns)
            mistakes_ax.text(column * 28 + 14, row * 28 + 1, f"{probability:.0%}", ha="center", va="top",
                             fontsize=6.5, color=LABEL_COLOUR)
    mistakes_ax.set_xticks([])
    mistakes_ax.set_yticks([])
    mistakes_ax.set_title(f"The {len(report.mistakes)} mistakes it was surest of, surest first\n(true digit "
                          f"bottom left, its answer bottom right, how sure it was on top)", fontsize=10)


def report_figure(report, held_out="test"):
    """The report alone, off-screen: for --save-report and the notebook."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpec
    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    grid = GridSpec(1, 2, figure=figure, width_ratios=(1, 1.3), left=0.05, right=0.98, bottom=0.07, top=0.88,
                    wspace=0.15)
    draw_report(figure.add_subplot(grid[0]), figure.add_subplot(grid[1]), report, held_out)
    return figure


def save_report(report, held_out, path):
    """--save-report FILE.png: the report alone as a PNG file."""
    with atomic_file(path) as f:
        report_figure(report, held_out).savefig(f, format="png", dpi=DPI)




class Animation(Screen):
    """The figure and the numbers behind it, shown where `show` says (see where_shown.py).

    The training loop calls add_training / add_test / add_spread with new numbers, tick() at every
    step, save_png() and save_movie() for the files asked for, and finish() at the end. layout is
    the first view, a key of LAYOUTS; the PNG and the movie show it too.
    """

    def __init__(self, title, iterations, show=None, weights_title="Weights", biases_title="Biases",
                 movie=None, movie_fps=10, held_out="test", layout="0"):
        from matplotlib.gridspec import GridSpec

        self.figure, self.plt = open_figure(show)
        self.show, self.live, self.iterations = show, show is not None, iterations
        self.figure.suptitle(title, fontsize=11)
        margins = dict(left=0.05, right=0.98, bottom=0.07, top=0.91, wspace=0.28, hspace=0.35)
        self.grids = {1: GridSpec(1, 1, **margins), 2: GridSpec(1, 2, **margins), 6: GridSpec(2, 3, **margins)}
        self.axes = [self.figure.add_subplot(self.grids[6][i]) for i in range(6)]
        self.layout = LAYOUTS["0"]
        self.on_draw = None  # what the key D does once training is over
        self.report = None  # diagnosis.Report of the last test pass, the key M's view
        self.report_axes, self.report_shown = None, False
        self.training = ([], [], [])  # steps, accuracies, losses
        self.test = ([], [], [])
        self.spreads = ([], [], [])  # steps, weight percentiles, bias percentiles
        self.training_digits = self.test_digits = None
        self.changed = set()  # the parts with new numbers since the last frame
        self.held_out = held_out
        self.build(weights_title, biases_title, held_out)
        self.start_layout = LAYOUTS[layout]
        self.show_panels(self.start_layout)
        self.movie = MovieWriter(movie, movie_fps) if movie else None
        self.start_showing(title)

    # --- building and drawing the panels --------------------------------------------------------

    def build(self, weights_title, biases_title, held_out):
        """held_out names the images measured beside training: "test", or "validation"."""
        accuracy, loss, training_digits, weights, biases, test_digits = self.axes
        for ax, name in ((accuracy, "Accuracy"), (loss, "Cross-entropy loss")):
            ax.set_title(name, fontsize=10)
            ax.set_xlim(0, self.iterations)
            ax.set_xlabel("training step", fontsize=8)
            ax.grid(True, alpha=0.3)
        accuracy.set_ylim(0, 1)
        self.lines = {
            "training accuracy": accuracy.plot([], [], color="tab:blue", lw=1, label="training")[0],
            "test accuracy": accuracy.plot([], [], color="tab:red", lw=1.5, label=held_out)[0],
            "training loss": loss.plot([], [], color="tab:blue", lw=1, label="training")[0],
            "test loss": loss.plot([], [], color="tab:red", lw=1.5, label=held_out)[0],
        }
        accuracy.legend(loc="lower left", fontsize=8)
        loss.legend(loc="upper right", fontsize=8)
        # once the test accuracy passes 90%, a zoom on the last percent, where the chapters compete
        self.zoom = accuracy.inset_axes([0.4, 0.08, 0.57, 0.55])
        zoom_on_the_last_percent(self.zoom)
        self.zoom.set_xlim(0, self.iterations)
        self.zoom.set_xticks([])
        self.zoom.set_title(f"{held_out} accuracy, 90% and up", fontsize=7, pad=2)
        self.zoom.tick_params(labelsize=7)
        self.lines["zoom"] = self.zoom.plot([], [], color="tab:red", lw=1.2)[0]
        self.zoom.set_visible(False)
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
            ax.set_xlim(0, self.iterations)
            ax.set_xlabel("training step", fontsize=8)
        self.bands = {3: [], 4: []}
        for ax in self.axes:
            ax.tick_params(labelsize=8)

    def add_training(self, step, accuracy, loss, images=None, labels=None, predictions=None):
        for series, value in zip(self.training, (step, accuracy, loss)):
            series.append(value)
        if images is not None:
            self.training_digits = (images, labels, predictions)
            self.changed.add("training digits")
        self.changed.add("curves")

    def add_test(self, step, accuracy, loss, images=None, labels=None, predictions=None):
        for series, value in zip(self.test, (step, accuracy, loss)):
            series.append(value)
        if images is not None:
            self.test_digits = (images, labels, predictions)
            self.changed.add("test digits")
        self.changed.add("curves")

    def add_remark(self, remark):
        """A diagnosis.Remark as a short label with an arrow at its step, on its panel."""
        ax = self.axes[0 if remark.panel == "accuracy" else 1]
        known = remark.value is not None and np.isfinite(remark.value)
        y = remark.value if known else 0.5
        high = known and remark.panel == "accuracy" and remark.value > 0.5
        note = ax.annotate(remark.label, xy=(remark.step, y), xycoords="data" if known else ("data", "axes fraction"),
                           xytext=(-30, -40 if high else 30), textcoords="offset points", fontsize=8,
                           color="0.15", ha="center", annotation_clip=False,
                           bbox=dict(boxstyle="round,pad=0.2", fc="lightyellow", ec="0.6", lw=0.5),
                           arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))
        self.remarks.append((remark, note))
        self.changed.add("curves")

    def add_spread(self, step, weights, biases):
        """weights and biases: every value of them, flattened; kept as percentiles only."""
        self.spreads[0].append(step)
        self.spreads[1].append(np.percentile(weights, SPREAD_PERCENTILES))
        self.spreads[2].append(np.percentile(biases, SPREAD_PERCENTILES))
        self.changed.add("spread")

    def update_artists(self):
        """Bring the parts that have new numbers up to date."""
        if "curves" in self.changed:
            self.update_curves()
        if "training digits" in self.changed:
            images, labels, predictions = self.training_digits
            self.images["training"].set_data(digit_grid(images[:100], labels[:100], predictions[:100], 10))
        if "test digits" in self.changed:
            images, labels, predictions = self.test_digits
            order = wrong_first(labels, predictions)
            self.images["test"].set_data(digit_grid(images[order], labels[order], predictions[order], TEST_COLUMNS))
            self.set_accuracy_scale(len(labels), float(np.mean(labels == predictions)))
        if "spread" in self.changed:
            for index, values in ((3, self.spreads[1]), (4, self.spreads[2])):
                self.draw_bands(index, self.spreads[0], np.array(values))
        self.changed.clear()

    def update_curves(self):
        steps, accuracies, losses = self.training
        self.lines["training accuracy"].set_data(steps, accuracies)
        self.lines["training loss"].set_data(steps, losses)
        steps, accuracies, losses = self.test
        self.lines["test accuracy"].set_data(steps, accuracies)
        self.lines["test loss"].set_data(steps, losses)
        if accuracies and max(accuracies) > 0.9:
            self.zoom.set_visible(True)
            self.lines["zoom"].set_data(steps, accuracies)
            self.zoom.set_ylim(0.9, zoom_top(max(accuracies)))
        all_losses = np.array(self.training[2] + self.test[2])
        if all_losses.size:
            # An early spike should not flatten the rest: the scale follows the 98th percentile, and
            # leaves out losses a hundred times the median, such as batch norm's first test pass
            # (step 0, before any training step has filled its moving averages: about 1e12).
            ordinary = all_losses[all_losses <= 100 * np.median(all_losses)]
            top = max(np.percentile(ordinary, 98) * 1.1, 1e-3)
            self.axes[1].set_ylim(0, top)

    def set_accuracy_scale(self, count, accuracy):
        """Ticks beside the test digits: the red cells above a tick's row leave that accuracy.

        The current accuracy is always marked, at the edge of the red cells; round values are
        added where they leave room for their labels.
        """
        pixels_per_digit = 28 / TEST_COLUMNS
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

    def on_key(self, event):
        if event.key == " ":
            self.paused = not self.paused
            self.figure.suptitle(self.figure._suptitle.get_text().removesuffix("  (paused: Space resumes)")
                                 + ("  (paused: Space resumes)" if self.paused else ""), fontsize=11)
            self.figure.canvas.draw_idle()
        elif event.key == "d" and self.on_draw:
            self.on_draw()
        elif event.key == "m" and self.report is not None:
            self.show_report(not self.report_shown)
            self.figure.canvas.draw_idle()
        elif event.key in LAYOUTS:
            self.show_panels(LAYOUTS[event.key])
            if self.show == "widget":
                self.figure.canvas.draw()  # now, even while the cell is busy training
            else:
                self.figure.canvas.draw_idle()

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
        from matplotlib.gridspec import GridSpec
        self.report = report
        if self.report_axes is None:
            grid = GridSpec(1, 2, width_ratios=(1, 1.3), left=0.05, right=0.98, bottom=0.07, top=0.88, wspace=0.15)
            self.report_axes = [self.figure.add_subplot(grid[i]) for i in range(2)]
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

    # --- export and the end -------------------------------------------------------------------------

    def frame(self):
        """Record the current state into the movie, in the first view, if one is being made."""
        if self.movie:
            layout = self.layout
            self.show_panels(self.start_layout)
            self.update_artists()
            self.figure.canvas.draw()
            self.movie.add(np.asarray(self.figure.canvas.buffer_rgba())[..., :3])
            self.show_panels(layout)

    def save_png(self, path):
        """The panels as they are now, in the first view, into a PNG file."""
        layout = self.layout
        self.show_panels(self.start_layout)
        self.update_artists()
        try:
            with atomic_file(path) as f:
                self.figure.savefig(f, format="png", dpi=DPI)
        finally:
            self.show_panels(layout)

    def report_figure(self):
        """The report of the mistakes as a figure of its own, shown below the panels in a notebook."""
        return report_figure(self.report, self.held_out)
