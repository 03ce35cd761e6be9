"""The six panels of one run, as Show keeps them: live where they can be shown (a window, a notebook
cell), off-screen for --save-png and --save-movie only, or none; and what happens when the window
is closed or a drawing fails.

A script's run ends when its window is closed. With keep_training (LivePanels, in a user's own
fit) a closed window, or a picture that fails, is said once and the run goes on without the panels.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from . import visualisation, where_shown

DRAW_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "draw.py")


class Panels:
    def __init__(self, settings, title, held_out, panel_titles, in_notebook, keep_training=False,
                 drawing_share=where_shown.MAX_DRAWING_SHARE):
        self.title, self.keep_training, self.step = title, keep_training, 0
        self.pads = []  # drawing pads opened from the live window
        options = dict(movie=settings.save_movie, movie_fps=settings.movie_fps, layout=settings.layout,
                       weights_title=panel_titles[0], biases_title=panel_titles[1], held_out=held_out,
                       drawing_share=drawing_share)
        self.animation = None
        show = where_shown.choose(settings.headless, in_notebook)
        if show:
            try:
                self.animation = visualisation.Animation(title, settings.iterations, show=show, **options)
            except where_shown.NoWindow as e:
                print(f"{e}: running headless, text only.", flush=True)
        if self.animation is None and (settings.save_png or settings.save_movie):
            self.animation = visualisation.Animation(title, settings.iterations, **options)

    def __bool__(self):
        return self.animation is not None

    @property
    def live_window(self):
        return bool(self.animation) and self.animation.show == "window"

    def drawing_s(self):
        """What the live frames took of training, or None when nothing was shown live."""
        return self.animation.drawing_s if self.animation and self.animation.live else None

    def do(self, action, default=None):
        """action(animation), if there are panels. With keep_training, a picture that fails is said
        once, and training goes on without it."""
        if not self.animation:
            return default
        if not self.keep_training:
            return action(self.animation)
        try:
            return action(self.animation)
        except Exception as e:  # a drawing failure must never cost the user's training
            print(f"{self.title}: the picture failed at step {self.step} ({type(e).__name__}: {e}): "
                  f"training goes on without it", flush=True)
            self.animation = None
            return default

    def tick(self, step, until):
        """Between two steps: the frame when one is due, the keys, the pause. False once the window
        is closed and the run must stop there."""
        self.step = step
        if self.do(lambda a: a.tick(until=until), True):
            return True
        if not self.keep_training:
            return False
        print(f"{self.title}: the window was closed at step {step}: training goes on, text only", flush=True)
        self.animation = None
        return True

    def training(self, step, accuracy, loss, images, labels, predictions):
        self.do(lambda a: a.add_training(step, accuracy, loss, images, labels, predictions))

    def test(self, step, accuracy, loss, digits, weights, biases, files):
        """digits: (images, labels, predictions) of the held-out digits panel 6 shows."""
        self.do(lambda a: a.add_test(step, accuracy, loss, *digits))
        self.do(lambda a: a.add_spread(step, np.ravel(weights), np.ravel(biases)))
        self.do(lambda a: files.write(a.frame))

    def remark(self, remark):
        self.do(lambda a: a.add_remark(remark))

    def set_report(self, report, held_out):
        self.do(lambda a: a.set_report(report, held_out))

    def model_folder(self, asked):
        """Where the trained network goes: asked (--save-model), or, for the live window's drawing
        pad, a temporary folder removed when the script ends; None when neither wants one."""
        if asked or not self.live_window:
            return asked
        folder = tempfile.mkdtemp(prefix="mnist-model-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return folder

    def finish(self, settings, files, model_folder, then, wait):
        """--save-png and --save-movie; the final frame; in a window, wait until it is closed (the
        key D opens a drawing pad for the network in model_folder)."""
        if not self.animation:
            return
        pad = None
        if model_folder and self.live_window:
            pad = lambda: self.pads.append(  # noqa: E731  its own process and window
                subprocess.Popen([sys.executable, DRAW_SCRIPT, "--model", model_folder]))
        if settings.save_png:
            files.write(lambda: self.animation.save_png(settings.save_png))
        if settings.save_movie:
            files.write(self.animation.save_movie)
        self.animation.finish(draw=pad, then=then, wait=wait)
        for pad in self.pads:
            pad.wait()  # the model folder may be a temporary one, removed when this script ends

    def abandon(self):
        self.do(lambda a: a.abandon())
