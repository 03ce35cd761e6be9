"""Ctrl-C between two training steps, and the one line a stopped loop ends with.

    with StopBetweenSteps(lambda: f"interrupted at step {step}") as interrupt:
        for step in ...:
            interrupt.check()   # Interrupted, between two steps, once Ctrl-C was pressed
"""
import os
import signal
import sys
import threading


class Interrupted(KeyboardInterrupt):
    """The loop was stopped (Ctrl-C, the window closed): one line in a terminal (see parse) and in a
    notebook."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{os.path.basename(sys.argv[0])}: {self}"]


class StopBetweenSteps:
    """Ctrl-C (or a notebook's interrupt button) while training stops the loop between two steps.

    Left to itself, Python raises KeyboardInterrupt wherever the main thread happens to be: inside
    a finaliser it is printed and lost, and training goes on; inside a library, between taking a
    lock and giving it back (TensorFlow's session lock, a Jupyter kernel's output), it leaves the
    lock taken and the next user of it waits forever: a frozen kernel. So while the loop runs, the
    signal only asks, and check() stops the loop before the next training step, or at once while
    the window is paused. A second Ctrl-C interrupts at once, for a step that never ends. Where
    SIGINT is ignored (nohup) or handled by someone else, nothing changes.
    """

    def __init__(self, describe=lambda: "interrupted"):
        self.asked, self.previous, self.describe = False, None, describe

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self.ask)
        return self

    def ask(self, signum, frame):
        if self.asked:
            raise Interrupted(self.describe())
        self.asked = True

    def check(self):
        if self.asked:
            self.asked = False  # answered
            raise Interrupted(self.describe())

    def restore(self):
        """Give SIGINT its handler back; once is enough."""
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def __exit__(self, kind, error, traceback):
        self.restore()
        if kind is None:
            self.check()  # asked during the last step: stop before the report
