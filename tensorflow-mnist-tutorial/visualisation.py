"""The six-panel picture of a network learning, live in a window, in a movie or in a PNG.

    1 accuracy              2 cross-entropy loss     3 training digits
    4 weights (spread)      5 biases (spread)        6 test digits

Keys in the window: 1 to 6 show one panel alone, 7 panels 1 and 2, 8 panels 4 and 5, 9 panels 3
and 6, 0 or Esc all six again; Space pauses and resumes training. Matplotlib's own keys keep
working: o zooms to a box, h goes home, ctrl+s saves the picture.

Training never waits for the drawing: the training loop hands over numbers as it gets them, and
the window is redrawn from the latest ones at most five times a second, and after a frame only
once the loop has trained for 1 / 0.15 (about 6.7) times as long as the frame took: 13% of the
time would go to drawing if every frame took as long as the one before; 16% was measured for 2.1
in a window, where frames vary (on two cores the drawing also slows training down while it
runs). Digit montages are built only for a frame, and only when they changed.

Where the picture goes (`show`): "window", a desktop window; "inline", a Jupyter notebook's cell,
one picture replaced in place at each frame (it works wherever Jupyter's default inline backend
does: JupyterLab, Notebook, VS Code, Colab); "widget", ipympl's interactive canvas (%matplotlib
widget), which answers the keys too; None, off-screen, for --save-png and --save-movie only.
"""
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from mnistdata import UserError, atomic_file, current_umask

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
FIGURE_INCHES, DPI = (12.8, 7.2), 100
ZOOM_TICKS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)  # 1280x720: also the movie's frame size
MAX_FPS, MAX_DRAWING_SHARE = 5.0, 0.15
EVENT_INTERVAL = 0.05  # seconds between two looks at the keyboard and mouse

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


class NoWindow(Exception):
    """No window could be opened: the caller goes on headless."""


def notebook_show():
    """In a notebook: ipympl's canvas when %matplotlib widget is on, else a picture in the cell."""
    import matplotlib
    backend = matplotlib.get_backend().lower()
    return "widget" if "ipympl" in backend or backend == "widget" else "inline"


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


def png_bytes(figure):
    with io.BytesIO() as buffer:
        figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


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


class Animation:
    """The figure, the numbers behind it, and where it is shown (see `show` above).

    The training loop calls add_training / add_test / add_spread with new numbers, tick() at every
    step, save_png() and save_movie() for the files asked for, and finish() at the end. layout is
    the first view, a key of LAYOUTS; the PNG and the movie show it too.
    """

    def __init__(self, title, iterations, show=None, weights_title="Weights", biases_title="Biases",
                 movie=None, movie_fps=10, held_out="test", layout="0"):
        import matplotlib
        from matplotlib.gridspec import GridSpec

        self.plt = None
        if show in ("window", "widget"):
            if show == "window":
                use_a_backend_that_opens(matplotlib)
            import matplotlib.pyplot as plt
            self.plt = plt
            if show == "window" and not is_interactive_backend(matplotlib.get_backend()):
                raise NoWindow(f"matplotlib cannot open a window here (it chose the {matplotlib.get_backend()} "
                               "backend; on Linux check DISPLAY and install python3-tk)")
            try:
                self.figure = plt.figure(figsize=FIGURE_INCHES, dpi=DPI)
            except Exception as e:  # TclError, Qt and macOS errors have no common type
                raise NoWindow(f"cannot open a window ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        else:  # drawn off-screen, outside pyplot: a notebook's own backend and figures stay as they are
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            self.figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
            FigureCanvasAgg(self.figure)
        self.show, self.live, self.iterations = show, show is not None, iterations
        self.cell = self.ui = None  # the notebook cell's picture; the widget's event poll
        if show in ("window", "widget"):
            self.figure.canvas.manager.set_window_title(title)
        self.figure.suptitle(title, fontsize=11)
        margins = dict(left=0.05, right=0.98, bottom=0.07, top=0.91, wspace=0.28, hspace=0.35)
        self.grids = {1: GridSpec(1, 1, **margins), 2: GridSpec(1, 2, **margins), 6: GridSpec(2, 3, **margins)}
        self.axes = [self.figure.add_subplot(self.grids[6][i]) for i in range(6)]
        self.layout = LAYOUTS["0"]
        self.paused = self.closed = False
        self.on_draw = None  # what the key D does once training is over
        self.report = None  # diagnosis.Report of the last test pass, the key M's view
        self.report_axes, self.report_shown = None, False
        self.training = ([], [], [])  # steps, accuracies, losses
        self.test = ([], [], [])
        self.spreads = ([], [], [])  # steps, weight percentiles, bias percentiles
        self.training_digits = self.test_digits = None
        self.last_draw = self.last_events = self.draw_seconds = 0.0
        self.drawing_s = 0.0  # all the frames' drawing so far, for --results
        self.changed = set()  # the parts with new numbers since the last frame
        self.held_out = held_out
        self.build(weights_title, biases_title, held_out)
        self.start_layout = LAYOUTS[layout]
        self.show_panels(self.start_layout)
        self.movie = MovieWriter(movie, movie_fps) if movie else None
        # closures, not bound methods, which matplotlib holds weakly: a notebook's canvas outlives the
        # script that made it, and its keys must keep working
        self.figure.canvas.mpl_connect("key_press_event", lambda event: self.on_key(event))
        self.figure.canvas.mpl_connect("close_event", lambda event: self.on_close(event))
        if show == "window":
            self.plt.show(block=False)
        if show == "widget":  # shown now, not by pyplot, which %run keeps from showing until the end
            from IPython.display import display
            display(self.figure.canvas)
            self.ui = WidgetEvents()
        if self.live:
            self.draw()
            self.last_draw = 0.0  # the first numbers are drawn as soon as they come

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

    def draw(self):
        started = time.perf_counter()
        self.update_artists()
        if self.show == "inline":
            self.show_in_cell()
        else:
            self.figure.canvas.draw()  # ipympl's canvas sends the new picture to the notebook here
        if self.live:
            self.handle_events()
        self.draw_seconds = time.perf_counter() - started
        self.drawing_s += self.draw_seconds
        self.last_draw = time.perf_counter()

    def show_in_cell(self):
        """One picture in the notebook cell, replaced in place: the first call shows it."""
        from IPython.display import Image, display
        png = png_bytes(self.figure)
        if self.cell is None:
            self.cell = display(Image(data=png), display_id=True)
        else:
            self.cell.update(Image(data=png))

    def handle_events(self):
        """Answer the keys and clicks that came in since last time."""
        if self.show == "window":
            self.figure.canvas.flush_events()
        elif self.ui:
            self.ui.poll()
        self.last_events = time.perf_counter()

    # --- the window -------------------------------------------------------------------------------

    def tick(self, until=lambda: False):
        """Called at every training step: redraw when a frame is due, handle keys, wait while paused
        (or until `until()` is true: Ctrl-C pressed while paused).

        Returns False once the window has been closed.
        """
        if self.live:
            now = time.perf_counter()
            # at most MAX_FPS frames a second, and a pause of the last frame's time / MAX_DRAWING_SHARE
            if now - self.last_draw >= max(1.0 / MAX_FPS, self.draw_seconds / MAX_DRAWING_SHARE):
                self.draw()
            elif now - self.last_events >= EVENT_INTERVAL:  # keys and clicks answered promptly
                self.handle_events()
        while self.paused and not self.closed and not until():
            if self.show == "window":
                self.figure.canvas.start_event_loop(0.05)
            else:
                time.sleep(0.05)
                self.handle_events()
        return not self.closed

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

    def on_close(self, event):
        self.closed = True
        self.paused = False

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

    def save_movie(self):
        """Complete the movie: it appears under its name only if ffmpeg wrote all of it."""
        movie, self.movie = self.movie, None
        movie.close()

    def finish(self, draw=None):
        """The final frame; then, in a window, wait for it to be closed, with draw() (if given)
        called on the key D. In a notebook the final picture stays in the cell. A movie not saved
        by now is abandoned."""
        self.draw()
        if self.movie:
            self.movie.abandon()
            self.movie = None
        self.stop_events()
        if self.show == "inline" and self.report is not None:  # the mistakes, below the panels
            from IPython.display import Image, display
            display(Image(data=png_bytes(report_figure(self.report, self.held_out))))
        if self.show == "window" and not self.closed:
            self.on_draw = draw
            keys = "M shows the mistakes" + (", D opens a pad to draw digits for the network" if draw else "")
            print(f"Training is over ({keys}): close the window to exit.", flush=True)
            self.plt.show(block=True)

    def abandon(self):
        """Training stopped early: no movie; a notebook keeps the picture of where it stopped."""
        try:
            if self.show in ("inline", "widget"):
                self.draw()
        finally:
            self.stop_events()
            if self.movie:
                self.movie.abandon()

    def stop_events(self):
        if self.ui:
            self.ui.close()
            self.ui = None

    def close(self):
        if self.plt:
            self.plt.close(self.figure)


class WidgetEvents:
    """Lets ipympl's canvas hear its keys while the cell trains.

    A kernel runs one cell at a time and reads the notebook's next message only when the cell is
    done, so keys pressed on the canvas would wait for the end of training. poll() reads the
    messages waiting for the kernel: a widget's message (a key on the canvas) is handled at once,
    anything else (say, the next cell to run) is handed back to the kernel, in order, when training
    ends. This reads ipykernel 7's queue for the main shell, as ipykernel's own GUI event loops do;
    with any other kernel, poll() does nothing and the canvas answers once the cell is done.
    """

    def __init__(self):
        self.kernel, self.socket, self.waiting = None, None, []
        try:
            from IPython import get_ipython
            from ipykernel.eventloops import get_shell_stream
            kernel = get_ipython().kernel
            if kernel._supports_kernel_subshells and hasattr(kernel, "shell_main"):
                self.kernel, self.socket = kernel, get_shell_stream(kernel).socket
        except Exception:  # another kernel, or another version of this one
            pass

    def poll(self):
        if not self.socket:
            return
        import json
        session = self.kernel.session
        while self.socket.poll(0):
            frames = self.socket.recv_multipart(copy=False)
            try:
                idents, parts = session.feed_identities([frame.bytes for frame in frames])
                # only a look at the header: the session authenticates a message once, and what
                # goes back to the kernel must still be new to it
                ours = json.loads(parts[1])["msg_type"] == "comm_msg"
                message = session.deserialize(parts) if ours else None
            except Exception:
                ours = False
            if ours:
                self.kernel.comm_manager.comm_msg(None, idents, message)
            else:
                self.waiting.append(frames)  # the kernel's business

    def close(self):
        """Hand what the kernel did not read yet back to it, in the order it came."""
        import asyncio
        for frames in self.waiting:
            asyncio.ensure_future(self.kernel.shell_main(None, frames))
        self.waiting, self.socket = [], None


def use_a_backend_that_opens(matplotlib):
    """Switch from Qt to Tk when Qt cannot open a window here.

    A Qt that cannot load its platform plugin (on Linux, often for want of a system library such
    as libxcb-cursor0) aborts the whole process instead of raising an error, so a child process
    tries it first.
    """
    backend = matplotlib.get_backend()
    if not backend.lower().startswith("qt") or sys.platform in ("darwin", "win32"):
        return
    probe = subprocess.run([sys.executable, "-c", "import sys; from matplotlib.backends.qt_compat import "
                            "QtWidgets; QtWidgets.QApplication(sys.argv[:1])"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode == 0:
        return
    reason = next((line.strip() for line in probe.stderr.splitlines() if line.strip()),
                  f"exit status {probe.returncode}")
    try:
        import tkinter  # noqa: F401
    except ImportError:
        raise NoWindow(f"Qt cannot open a window here ({reason})") from None
    print(f"Qt cannot open a window here ({reason}): using Tk instead.", flush=True)
    matplotlib.use("TkAgg")


def is_interactive_backend(name):
    return name.lower() not in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template") \
        and not name.lower().startswith("module://matplotlib_inline")


class MovieWriter:
    """Frames into an H.264 mp4 through the ffmpeg that the imageio-ffmpeg wheel ships."""

    def __init__(self, path, fps):
        import imageio_ffmpeg

        self.path, self.fps = path, fps
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.temporary = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=".mp4")
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror or e}") from e
        os.close(fd)
        width, height = FIGURE_INCHES[0] * DPI, FIGURE_INCHES[1] * DPI
        self.size = (int(width), int(height))
        self.writer = imageio_ffmpeg.write_frames(
            self.temporary, self.size, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            quality=None, bitrate=None, output_params=["-crf", "23", "-preset", "veryfast"],
            macro_block_size=8, ffmpeg_log_level="error")
        self.writer.send(None)
        self.frames, self.failed = 0, False

    def add(self, rgb):
        """One more frame; if ffmpeg has stopped (a full disk), training goes on and close() says so."""
        if self.failed:
            return
        width, height = self.size
        frame = np.full((height, width, 3), 255, dtype=np.uint8)  # a resized window: crop or pad
        h, w = min(height, rgb.shape[0]), min(width, rgb.shape[1])
        frame[:h, :w] = rgb[:h, :w]
        try:
            self.writer.send(frame.tobytes())
        except (OSError, StopIteration):
            self.failed = True
            return
        self.frames += 1

    def close(self):
        """Rename the movie into place once ffmpeg has written every frame; otherwise a UserError.

        ffmpeg's exit status does not reach us through imageio-ffmpeg, so the file is read back:
        a movie cut short by a full disk has no index and cannot be read."""
        import imageio_ffmpeg

        try:
            self.writer.close()
            try:
                frames, _ = imageio_ffmpeg.count_frames_and_secs(self.temporary)
            except (RuntimeError, OSError):
                frames = None
            if self.failed or frames != self.frames:
                raise UserError(f"cannot write {self.path}: ffmpeg could not finish it (is the disk full?)")
            os.chmod(self.temporary, 0o666 & ~current_umask())  # mkstemp makes it private
            os.replace(self.temporary, self.path)
        except OSError as e:
            raise UserError(f"cannot write {self.path}: {e.strerror or e}") from e
        finally:
            if os.path.exists(self.temporary):
                os.unlink(self.temporary)

    def abandon(self):
        try:
            self.writer.close()
        finally:
            if os.path.exists(self.temporary):
                os.unlink(self.temporary)
