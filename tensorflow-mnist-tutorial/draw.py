"""Draw a digit with the mouse and watch a trained network read it.

    python3 mnist_3.1_convolutional_bigger_dropout.py --save-model models/3.1
    python3 draw.py --model models/3.1

The pad shows the ten probabilities as you draw, and, small, the 28x28 image the network really
sees: your drawing prepared the way MNIST's digits were. Those were scanned, fitted into a 20x20
box keeping their proportions (the scaling leaves grey levels at the edges: anti-aliasing), then
placed in a 28x28 image with their centre of mass in the middle. A network trained on them expects
exactly that, so a digit drawn small in a corner is read as well as a big one in the centre.

Left mouse button: draw. C, Delete or the right button: clear. Q: quit. The live window of any
numbered script opens the same pad with the key D once training is over.
"""
import argparse
import os
import sys
import time

import numpy as np

from mnist_tutorial import command_line  # the one-line errors and the quiet TensorFlow import of the numbered scripts
from mnist_tutorial import savedmodel
from mnist_tutorial import where_shown
from mnist_tutorial.mnistdata import UserError

CANVAS = 280  # the drawing's resolution, in its own pixels
PEN_RADIUS = 14  # a 28-pixel pen on the 280-pixel canvas: MNIST's stroke width when drawn large
BOX, SIDE, CENTRE = 20, 28, 14  # MNIST: the digit fits a 20x20 box; its centre of mass at pixel 14
FIGURE_PIXELS, DPI = (840, 500), 100
PAD_PIXELS = (30, 30, 440, 440)  # the drawing area: left and bottom margins, width and height
PREDICT_INTERVAL = 0.05  # seconds between two predictions while the pen moves


def paint(ink, start, end, radius=PEN_RADIUS):
    """Paint a round pen's stroke from start to end ((x, y) canvas pixels) onto ink [H, W] in
    [0, 1]; edge pixels get the share of them the pen covers (anti-aliased)."""
    (x0, y0), (x1, y1) = start, end
    left, right = int(max(min(x0, x1) - radius - 1, 0)), int(min(max(x0, x1) + radius + 2, ink.shape[1]))
    top, bottom = int(max(min(y0, y1) - radius - 1, 0)), int(min(max(y0, y1) + radius + 2, ink.shape[0]))
    if left >= right or top >= bottom:
        return
    ys, xs = np.mgrid[top:bottom, left:right] + 0.5  # pixel centres
    dx, dy = x1 - x0, y1 - y0
    along = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    distance = np.hypot(xs - (x0 + along * dx), ys - (y0 + along * dy))
    covered = np.clip(radius + 0.5 - distance, 0, 1)
    np.maximum(ink[top:bottom, left:right], covered, out=ink[top:bottom, left:right])


def area_weights(inputs, outputs, scale):
    """[outputs, inputs]: how much of each input pixel each output pixel covers when a line of
    input pixels is shrunk by scale (output pixel i covers inputs [i / scale, (i + 1) / scale))."""
    edges = np.arange(outputs + 1) / scale
    starts = np.arange(inputs)
    overlap = np.minimum(edges[1:, None], starts + 1) - np.maximum(edges[:-1, None], starts)
    return np.clip(overlap, 0, None) * scale


def prepare(ink):
    """A drawing (ink [H, W] in [0, 1], any size) as MNIST's digits were made: float32 [28, 28].

    The ink's bounding box is shrunk, proportions kept, until its longer side is 20 pixels, each
    new pixel the average of the ink it covers; then it is moved whole pixels so that its centre
    of mass lands on pixel (14, 14) of a 28x28 image.
    """
    ink = np.asarray(ink, dtype=np.float64)
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    image = np.zeros((SIDE, SIDE), dtype=np.float32)
    if not len(rows):
        return image
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = BOX / max(crop.shape)
    height, width = (min(BOX, int(np.ceil(n * scale - 1e-9))) for n in crop.shape)
    boxed = area_weights(crop.shape[0], height, scale) @ crop @ area_weights(crop.shape[1], width, scale).T
    mass = boxed.sum()
    centre_y = (boxed.sum(axis=1) @ np.arange(height)) / mass
    centre_x = (boxed.sum(axis=0) @ np.arange(width)) / mass
    top = int(np.clip(round(CENTRE - centre_y), 0, SIDE - height))
    left = int(np.clip(round(CENTRE - centre_x), 0, SIDE - width))
    image[top:top + height, left:left + width] = np.clip(boxed, 0, 1)
    return image


class Pad:
    """The window: the drawing area, what the network sees, and its ten probabilities."""

    def __init__(self, predict, title):
        import matplotlib
        matplotlib.rcParams["toolbar"] = "None"  # no pan or zoom on a drawing pad
        where_shown.use_a_backend_that_opens(matplotlib)
        import matplotlib.pyplot as plt
        if not where_shown.is_interactive_backend(matplotlib.get_backend()):
            raise UserError(f"matplotlib cannot open a window here (it chose the {matplotlib.get_backend()} "
                            f"backend; on Linux check DISPLAY and install python3-tk)")
        self.plt, self.predict, self.title = plt, predict, title
        self.ink = np.zeros((CANVAS, CANVAS), dtype=np.float32)
        self.pen = None  # where the pen is while the button is down
        self.last_prediction = 0.0
        try:
            self.figure = plt.figure(figsize=(FIGURE_PIXELS[0] / DPI, FIGURE_PIXELS[1] / DPI), dpi=DPI)
        except Exception as e:  # TclError, Qt and macOS errors have no common type
            raise UserError(f"cannot open a window ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        self.build()
        canvas = self.figure.canvas
        canvas.mpl_connect("button_press_event", self.on_press)
        canvas.mpl_connect("motion_notify_event", self.on_move)
        canvas.mpl_connect("button_release_event", self.on_release)
        canvas.mpl_connect("key_press_event", self.on_key)
        self.update()

    def build(self):
        width, height = FIGURE_PIXELS
        left, bottom, side, _ = PAD_PIXELS
        self.pad = self.figure.add_axes([left / width, bottom / height, side / width, side / height])
        self.drawing = self.pad.imshow(np.ones((CANVAS, CANVAS)), cmap="gray", vmin=0, vmax=1,
                                       extent=(0, CANVAS, CANVAS, 0), interpolation="antialiased")
        self.pad.set_xticks([])
        self.pad.set_yticks([])
        self.pad.set_title("Draw a digit here", fontsize=10)
        self.seen = self.figure.add_axes([520 / width, 300 / height, 140 / width, 140 / height])
        self.seen_image = self.seen.imshow(np.ones((SIDE, SIDE)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        self.seen.set_xticks([])
        self.seen.set_yticks([])
        self.seen.set_title("What the network sees (28x28)", fontsize=9)
        self.answer = self.figure.text(740 / width, 385 / height, "", fontsize=48, ha="center", va="center")
        self.certainty = self.figure.text(740 / width, 320 / height, "", fontsize=11, ha="center", va="center")
        self.bars_axes = self.figure.add_axes([545 / width, 45 / height, 270 / width, 200 / height])
        self.bars = self.bars_axes.barh(range(10), np.zeros(10), color="tab:blue")
        self.bars_axes.set_xlim(0, 1)
        self.bars_axes.set_yticks(range(10))
        self.bars_axes.invert_yaxis()
        self.bars_axes.set_title("Probability of each digit", fontsize=9)
        self.bars_axes.tick_params(labelsize=8)
        self.figure.text(0.5, 0.01, "left button: draw    C, Delete or right button: clear    Q: quit",
                         fontsize=8, ha="center", color="0.4")

    def update(self):
        """Ask the network about the drawing as it is now, and show its answer."""
        image = prepare(self.ink)
        self.drawing.set_data(1 - self.ink)
        self.seen_image.set_data(1 - image)
        if image.any():
            probabilities = self.predict(image[None])[0]
            best = int(np.argmax(probabilities))
            verdict = f"{best} ({probabilities[best]:.0%})"
            for digit, bar in enumerate(self.bars):
                bar.set_width(probabilities[digit])
                bar.set_color("tab:red" if digit == best else "tab:blue")
        else:
            probabilities, best, verdict = np.zeros(10), None, "draw a digit"
            for bar in self.bars:
                bar.set_width(0)
        self.verdict = verdict
        self.answer.set_text("" if best is None else str(best))
        self.certainty.set_text("" if best is None else f"{probabilities[best]:.0%} sure")
        self.figure.canvas.manager.set_window_title(f"draw.py: {verdict} - {self.title}")
        self.figure.canvas.draw_idle()

    def position(self, event):
        if event.inaxes is not self.pad or event.xdata is None:
            return None
        return float(event.xdata), float(event.ydata)

    def on_press(self, event):
        if event.button == 3:
            return self.clear()
        at = self.position(event)
        if event.button == 1 and at:
            self.pen = at
            paint(self.ink, at, at)
            self.update()

    def on_move(self, event):
        at = self.position(event)
        if self.pen is None or at is None:
            return
        paint(self.ink, self.pen, at)
        self.pen = at
        if time.monotonic() - self.last_prediction >= PREDICT_INTERVAL:
            self.last_prediction = time.monotonic()
            self.update()
        else:
            self.drawing.set_data(1 - self.ink)
            self.figure.canvas.draw_idle()

    def on_release(self, event):
        if self.pen is not None:
            self.pen = None
            self.update()
            print(f"draw.py: {self.verdict}", flush=True)

    def on_key(self, event):
        if event.key in ("c", "delete", "backspace", "escape"):
            self.clear()
        elif event.key == "q":
            self.plt.close(self.figure)

    def clear(self):
        self.ink[:] = 0
        self.pen = None
        self.update()

    def show(self):
        self.plt.show(block=True)


def main():
    parser = command_line.ArgumentParser(prog="draw.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="a network saved by a numbered script's --save-model DIR (or the cloud "
                             "trainer's exported model folder)")
    args = parser.parse_args()
    try:
        if not where_shown.has_display():
            raise UserError("no display to open the pad's window on (DISPLAY is not set)")
        predict = savedmodel.load(args.model)
        pad = Pad(predict, os.path.basename(os.path.normpath(args.model)))
    except UserError as e:
        command_line.stop(f"error: {e}")
    print(f"draw.py: the network in {args.model} is ready: draw a digit in the window", flush=True)
    try:
        pad.show()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
