"""What an entry point of the tutorial needs before anything else: TensorFlow imported fast and
without its C++ start-up chatter, and the one line a problem the user can fix ends it with.

Importing this module imports TensorFlow (the modules that need it import this one first). When
numpy or TensorFlow is missing, the import raises MissingRequirement, which a terminal shows as
one line telling what to install. one_line_for_user_errors is the scripts' sys.excepthook (set by
command_line.parse): a UserError or an Interrupted that reaches the top of a script is one line
and exit status 1; anything else, a bug, keeps its traceback.
"""
import os
import sys

from . import in_notebook
from .interrupts import Interrupted


def import_tensorflow_quietly():
    """Import TensorFlow fast on CPUs and without its C++ start-up chatter.

    The chatter ("Could not find cuda drivers ...") is written straight to file descriptor 2 while
    the libraries load, whatever TF_CPP_MIN_LOG_LEVEL says, so stderr points at /dev/null for the
    duration of the import. Set TF_CPP_MIN_LOG_LEVEL to 0, 1 or 2 to see TensorFlow's logs.
    """
    # oneDNN's kernels make these models 2-4 times faster on x86 CPUs, but TensorFlow turns them
    # on by default only on some CPUs. TF_ENABLE_ONEDNN_OPTS=0 turns them off.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1", "2"):
        import tensorflow  # noqa: F401
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # and the later "failed call to cuInit" on a CPU
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    sys.meta_path.insert(0, KerasDeferred)
    try:
        import tensorflow  # noqa: F401
    finally:
        sys.meta_path.remove(KerasDeferred)
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class KerasDeferred:
    """An import hook that keeps `import tensorflow` from loading all of Keras up front.

    TensorFlow's __init__ eagerly imports keras.src.optimizers (and, through it, matplotlib.pyplot),
    about 1.5 s of a 4 s start-up that these scripts never use; it shrugs off an ImportError there.
    The hook is in place only during the import, so `tf.keras` still loads on first use.
    """

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "keras.src" or name.startswith("keras.src."):
            raise ImportError(f"{name} is loaded on first use, not by import tensorflow")
        return None


class MissingRequirement(ImportError):
    """numpy or TensorFlow cannot be imported: one line telling what to install."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{os.path.basename(sys.argv[0])}: error: {self}"]


def one_line_for_user_errors(kind, error, traceback):
    """sys.excepthook in a terminal: an interrupt or a UserError that reaches the top is one line;
    anything else (a bug, maybe in a learner's change to the loop) keeps its traceback."""
    if issubclass(kind, Interrupted):
        print(f"{os.path.basename(sys.argv[0])}: {error}", file=sys.stderr, flush=True)
    elif issubclass(kind, MissingRequirement) or issubclass(kind, UserError) and not issubclass(kind, AlreadySaid):
        print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr, flush=True)
    elif not issubclass(kind, AlreadySaid):  # that one's problems were each told as they happened
        sys.__excepthook__(kind, error, traceback)


try:
    import numpy as np  # noqa: F401  the first requirement a missing one is told of
    import_tensorflow_quietly()
except ImportError as e:  # the first thing a learner meets when the virtual environment is not active
    if not in_notebook.active():
        sys.excepthook = one_line_for_user_errors  # the script ends with this one line
    raise MissingRequirement(f"{e}: install the requirements into this Python with "
                             f"python3 -m pip install -r requirements.txt (see INSTALL.txt)") from None

from .mnistdata import UserError  # noqa: E402


class AlreadySaid(UserError):
    """Ends a script whose problems were each told in a line as they happened: exit status 1 and
    nothing more to print."""
