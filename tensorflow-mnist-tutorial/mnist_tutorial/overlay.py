"""The lab bench's picture: every variant's test accuracy (solid) and training accuracy (dotted),
and its test loss, overlaid as they grow, with the run's sentence below at the end. It is a
where_shown.Picture, shown by the same Screen as the six panels: a window with Space to pause, a
notebook cell, or off-screen for --save-png.
"""
import textwrap

from .mnistdata import atomic_file
from .where_shown import png_bytes


class Overlay:
    def __init__(self, screen, title):
        self.screen, self.figure, self.title = screen, screen.figure, title
        self.accuracy_axes, self.loss_axes = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.22, top=0.88, wspace=0.2)
        self.accuracy_axes.set_title("Accuracy: test (solid), training (dotted)", fontsize=10)
        self.loss_axes.set_title("Test loss (cross-entropy)", fontsize=10)
        for ax in (self.accuracy_axes, self.loss_axes):
            ax.set_xlabel("epochs")
            ax.grid(alpha=0.3)
        self.loss_axes.set_yscale("log")  # from the first, untrained losses down to the last
        self.footer = self.figure.text(0.06, 0.02, "", fontsize=9, va="bottom")
        self.lines, self.curves, self.current = [], [], ""
        self.say("starting")
        screen.start(self)

    def add_variant(self, name, curve, number, count):
        """A variant starts: its lines, drawn from curve (epoch, test and training accuracy, test
        loss) as it grows."""
        line, = self.accuracy_axes.plot([], [], lw=1.6, label=name)
        train, = self.accuracy_axes.plot([], [], lw=0.9, ls=":", color=line.get_color())
        loss, = self.loss_axes.plot([], [], lw=1.6, color=line.get_color(), label=name)
        self.lines.append((line, train, loss))
        self.curves.append(curve)
        self.accuracy_axes.legend(loc="best", fontsize=8)
        self.current = name
        self.say(f"training {name} ({number} of {count})")

    def say(self, what):
        self.figure.suptitle(f"{self.title}: {what}", fontsize=11)

    # --- where_shown.Picture ------------------------------------------------------------------

    def update_artists(self):
        for curve, (line, train, loss) in zip(self.curves, self.lines):
            line.set_data(curve["epoch"], curve["test_accuracy"])
            train.set_data(curve["epoch"], curve["train_accuracy"])
            loss.set_data(curve["epoch"], curve["test_loss"])
        for ax in (self.accuracy_axes, self.loss_axes):
            ax.relim()
            ax.autoscale_view()

    def on_key(self, event):
        pass  # Space, the only key of the lab bench, is the Screen's

    def on_pause(self, paused):
        self.say(("paused (Space resumes): " if paused else "training ") + self.current)

    def figure_below(self):
        return None

    # --- the end ------------------------------------------------------------------------------

    def finish(self, sentence, save_png=None):
        """The sentence below the curves; --save-png; in a window, wait until it is closed."""
        self.say("done")
        self.footer.set_text(textwrap.fill(sentence, 170))
        if save_png:
            self.update_artists()
            with atomic_file(save_png) as f:
                f.write(png_bytes(self.figure))
            print(f"picture written to {save_png}", flush=True)
        if self.screen.live:
            self.screen.finish("The experiment is over: close the window to exit.")
