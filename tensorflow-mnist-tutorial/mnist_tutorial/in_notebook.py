"""What changes when a script runs in a Jupyter notebook (%run mnist_2.1_... in a cell).

In a terminal a script prints the codelab's progress lines and ends a problem with one line and a
non-zero exit. In a notebook the kernel must survive the script and the cell must stay readable:
- a problem or an interrupt ends the script with one line and no traceback (Stopped), and the
  kernel goes on, ready for the next cell;
- the per-step lines give way to a progress bar, and the test passes to a short summary.
The picture itself is drawn by visualisation.py, into the cell (inline) or an ipympl canvas
(where_shown.py).
(Not named notebook.py: that is the name of Jupyter's own Notebook package.)
"""
import sys


def active():
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), False in a terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and hasattr(shell, "kernel")


def once_after_the_cell(action):
    """action(), once, after the cell that is running now."""
    events = sys.modules["IPython"].get_ipython().events

    def after(result=None):
        events.unregister("post_run_cell", after)
        action()
    events.register("post_run_cell", after)


class Stopped(Exception):
    """Ends a script in a notebook: IPython shows just this one line instead of a traceback."""

    def _render_traceback_(self):
        return [str(self)]


class ProgressBar:
    """The notebook's report: one bar (step, epoch, latest test accuracy, time left) while training,
    then one line that sums up the test passes. tqdm's notebook bar when ipywidgets is installed,
    its text bar otherwise."""

    def __init__(self, title, iterations, steps_per_epoch, held_out):
        try:
            import ipywidgets  # noqa: F401  (tqdm's notebook bar is an ipywidget)
            from tqdm.notebook import tqdm
            options = {}
        except ImportError:
            from tqdm import tqdm
            options = {"file": sys.stdout, "mininterval": 0.5}
        self.bar = tqdm(total=iterations, desc=title, unit="step", **options)
        self.steps_per_epoch, self.held_out = steps_per_epoch, held_out
        self.tests = []  # (step, accuracy) of every test pass
        self.latest_test = None

    def training(self, step, accuracy, loss, learning_rate):
        self.advance(step)

    def test(self, step, accuracy, loss):
        self.tests.append((step, accuracy))
        self.latest_test = accuracy
        self.advance(step)

    def advance(self, step):
        if step > self.bar.n:
            self.bar.set_postfix_str(f"epoch {step / self.steps_per_epoch:.2f}, {self.held_out} accuracy "
                                     f"{self.latest_test:.4f}", refresh=False)
            self.bar.update(step - self.bar.n)

    def close(self):
        self.bar.close()  # the notebook bar turns red if training stopped before the end
        if self.tests:
            print(self.summary(), flush=True)

    def summary(self, points=6):
        """The test passes in one line: about `points` of them, evenly spread, and the last."""
        chosen = self.tests[::max(1, -(-len(self.tests) // points))]
        if chosen[-1] != self.tests[-1]:
            chosen.append(self.tests[-1])
        return (f"{len(self.tests)} {self.held_out} passes, accuracy "
                + ", ".join(f"{accuracy:.4f} at step {step}" for step, accuracy in chosen))
