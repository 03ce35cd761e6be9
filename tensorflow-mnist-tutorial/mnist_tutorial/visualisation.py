"""The six-panel picture of a network learning: the numbers a training loop hands over, drawn.

    1 accuracy              2 cross-entropy loss     3 training digits
    4 weights (spread)      5 biases (spread)        6 test digits

Keys in the window: 1 to 6 show one panel alone, 7 panels 1 and 2, 8 panels 4 and 5, 9 panels 3
and 6, 0 or Esc all six again; Space pauses and resumes training. Matplotlib's own keys keep
working: o zooms to a box, h goes home, ctrl+s saves the picture.

The artists are six_panels.py's; where the picture is shown (a window, a notebook cell) and how
often it is redrawn, where_shown.py's; the movie, movie.py's. Digit montages are built only for a
frame, and only when they changed.
"""
import numpy as np

from .mistakes import report_figure, save_report  # noqa: F401  save_report: Show's --save-report
from .mnistdata import atomic_file
from .movie import MovieWriter
from .six_panels import (LAYOUTS, PANELS, SPREAD_PERCENTILES, TEST_COLUMNS, TEST_DIGITS, VIEWS,  # noqa: F401
                         ZOOM_TICKS, SixPanels, error_scale, error_scale_inverse, zoom_top)
from .where_shown import DPI, MAX_DRAWING_SHARE, Screen


class Animation:
    """The six panels and the numbers behind them, shown where `show` says by a where_shown.Screen
    (a where_shown.Picture: update_artists, on_key, on_pause, figure_below).

    The training loop calls add_training / add_test / add_spread with new numbers, tick() at every
    step, save_png() and save_movie() for the files asked for, and finish() at the end. layout is
    the first view, a key of LAYOUTS; the PNG and the movie show it too.
    """

    def __init__(self, title, iterations, show=None, weights_title="Weights", biases_title="Biases",
                 movie=None, movie_fps=10, held_out="test", layout="0", drawing_share=MAX_DRAWING_SHARE):
        self.screen = Screen(show, title, drawing_share)  # NoWindow when no window can open here
        self.figure, self.iterations, self.held_out = self.screen.figure, iterations, held_out
        self.figure.suptitle(title, fontsize=11)
        self.panels = SixPanels(self.figure, iterations, weights_title, biases_title, held_out)
        self.on_draw = None  # what the key D does once training is over
        self.training = ([], [], [])  # steps, accuracies, losses
        self.test = ([], [], [])
        self.spreads = ([], [], [])  # steps, weight percentiles, bias percentiles
        self.training_digits = self.test_digits = None
        self.changed = set()  # the parts with new numbers since the last frame
        self.start_layout = LAYOUTS[layout]
        self.panels.show_panels(self.start_layout)
        self.movie = MovieWriter(movie, movie_fps) if movie else None
        self.screen.start(self)

    show = property(lambda self: self.screen.show)  # "window", "inline", "widget", or None
    live = property(lambda self: self.screen.live)
    drawing_s = property(lambda self: self.screen.drawing_s)  # all the frames' drawing so far
    paused = property(lambda self: self.screen.paused)

    def tick(self, until=lambda: False):
        return self.screen.tick(until)

    def close(self):
        self.screen.close()

    # --- the numbers ------------------------------------------------------------------------------

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
        self.panels.add_remark(remark)
        self.changed.add("curves")

    def add_spread(self, step, weights, biases):
        """weights and biases: every value of them, flattened; kept as percentiles only."""
        self.spreads[0].append(step)
        self.spreads[1].append(np.percentile(weights, SPREAD_PERCENTILES))
        self.spreads[2].append(np.percentile(biases, SPREAD_PERCENTILES))
        self.changed.add("spread")

    def set_report(self, report, held_out="test"):
        """The mistakes of the last test pass, for the key M (the view toggles with the panels)."""
        self.panels.set_report(report, held_out)

    # --- where_shown.Picture ----------------------------------------------------------------------

    def update_artists(self):
        """Bring the parts that have new numbers up to date."""
        self.panels.update(self.changed, self.training, self.test, self.spreads, self.training_digits,
                           self.test_digits)
        self.changed.clear()

    def on_pause(self, paused):
        self.figure.suptitle(self.figure._suptitle.get_text().removesuffix("  (paused: Space resumes)")
                             + ("  (paused: Space resumes)" if paused else ""), fontsize=11)

    def on_key(self, event):
        if event.key == "d" and self.on_draw:
            self.on_draw()
        elif event.key == "m" and self.panels.report is not None:
            self.panels.show_report(not self.panels.report_shown)
            self.figure.canvas.draw_idle()
        elif event.key in LAYOUTS:
            self.panels.show_panels(LAYOUTS[event.key])
            self.screen.redraw_now()

    def figure_below(self):
        """The report of the mistakes as a figure of its own, shown below the panels in a notebook."""
        return report_figure(self.panels.report, self.held_out) if self.panels.report is not None else None

    def visible_panels(self):
        return self.panels.visible_panels()

    # --- export and the end -------------------------------------------------------------------------

    def in_first_view(self, draw):
        """draw(), with the first view shown, as the PNG and the movie show it; the view is put back."""
        layout = self.panels.layout
        self.panels.show_panels(self.start_layout)
        self.update_artists()
        try:
            return draw()
        finally:
            self.panels.show_panels(layout)

    def frame(self):
        """Record the current state into the movie, if one is being made."""
        if self.movie:
            self.in_first_view(self.figure.canvas.draw)
            self.movie.add(np.asarray(self.figure.canvas.buffer_rgba())[..., :3])

    def save_png(self, path):
        """The panels as they are now, in the first view, into a PNG file."""
        def save():
            with atomic_file(path) as f:
                self.figure.savefig(f, format="png", dpi=DPI)
        self.in_first_view(save)

    def save_movie(self):
        """Complete the movie: it appears under its name only if ffmpeg wrote all of it."""
        movie, self.movie = self.movie, None
        movie.close()

    def finish(self, draw=None, then="exit", wait=True):
        """The final frame; then, in a window, wait for it to be closed (unless wait is False), with
        draw() (if given) called on the key D. In a notebook the final picture stays in the cell,
        the mistakes below it. A movie not saved by now is abandoned."""
        if self.movie:
            self.movie.abandon()
            self.movie = None
        self.on_draw = draw
        keys = "M shows the mistakes" + (", D opens a pad to draw digits for the network" if draw else "")
        self.screen.finish(f"Training is over ({keys}): close the window to {then}.", wait)

    def abandon(self):
        """Training stopped early: no movie; a notebook keeps the picture of where it stopped."""
        try:
            self.screen.abandon()
        finally:
            if self.movie:
                self.movie.abandon()
