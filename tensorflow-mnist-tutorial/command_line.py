"""What every script does before its lesson: the command line, and the data it chooses.

    args = command_line.parse(__doc__, iterations=10000)   # the flags every script shares
    mnist = command_line.load_mnist(args)                  # mnist.train.next_batch(100), mnist.test

TensorFlow is imported here, fast and without its C++ start-up chatter, before anything else
needs it. A problem the user can fix (a bad flag, no MNIST) ends the script with one line: stop()
in a terminal, and in a Jupyter notebook a one-line error that leaves the kernel alive.
"""
import argparse
import os
import shutil
import signal
import sys
import textwrap
import threading

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


try:
    import numpy as np
    import_tensorflow_quietly()
except ImportError as e:  # the first thing a learner meets when the virtual environment is not active
    sys.exit(f"{os.path.basename(sys.argv[0])}: error: {e}: install the requirements into this "
             f"Python with python3 -m pip install -r requirements.txt (see INSTALL.txt)")

import mnistdata  # noqa: E402
import in_notebook  # noqa: E402
import savedmodel  # noqa: E402
import visualisation  # noqa: E402
from mnistdata import UserError  # noqa: E402


def help_width():
    """--help's width: the terminal's, at most 100 columns."""
    return min(shutil.get_terminal_size().columns, 100)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line instead of the whole usage text."""

    def error(self, message):
        stop(f"error: {message} (see --help)", status=2)


def stop(message, status=1):
    """End the script with one line: exit status in a terminal, no traceback in a notebook."""
    line = f"{os.path.basename(sys.argv[0])}: {message}"
    if in_notebook.active():
        raise in_notebook.Stopped(line)  # the kernel lives on
    print(line, file=sys.stderr, flush=True)
    sys.exit(status)


def whole_number(minimum):
    """An argparse type: a whole number no smaller than minimum."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value
    return parse



def parse(description, iterations, batch_size=100, test_every=100, more=None):
    """The command line every script shares, checked: the files asked for can be written, and
    --save-movie has what it needs. more(parser) adds flags of the caller's own."""
    epilog = (f"The window's keys: 1-6 one panel, 7 panels 1+2, 8 panels 4+5, 9 panels 3+6, 0 or Esc all "
              f"six, Space pause; after training, M the mistakes and D a pad to draw digits for the "
              f"network. In a Jupyter notebook (%run this script) the panels are drawn in the cell. "
              f"Without a display, or with --headless, the output is text only. MNIST (55 MB) is fetched "
              f"into the data folder the first time; ${mnistdata.DATA_DIR_VARIABLE} sets another.")
    parser = ArgumentParser(
        prog=os.path.basename(sys.argv[0]), usage="%(prog)s [options]",
        description=description, epilog=textwrap.fill(epilog, help_width() - 2),
        # the docstring as written, one line per flag: --help fits a screen
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(
            prog, max_help_position=26, width=help_width()))
    parser.add_argument("--iterations", type=whole_number(1), default=iterations, metavar="N",
                        help="training steps, one mini-batch each (default: %(default)s)")
    parser.add_argument("--batch-size", type=whole_number(1), default=batch_size, metavar="N",
                        help="training images per step (default: %(default)s)")
    parser.add_argument("--seed", type=whole_number(0), default=0, metavar="N",
                        help="the same seed gives the same numbers on the same machine (default: %(default)s)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help=f"folder of the four MNIST files (default: ${mnistdata.DATA_DIR_VARIABLE}, "
                             f"else data/ here)")
    parser.add_argument("--headless", action="store_true",
                        help="text only, no window (chosen by itself when there is no display)")
    parser.add_argument("--log-every", type=whole_number(1), default=20, metavar="N",
                        help="print accuracy and loss on the training batch every N steps (default: %(default)s)")
    parser.add_argument("--test-every", type=whole_number(1), default=test_every, metavar="N",
                        help="test on all 10,000 test images every N steps and at the end (default: %(default)s)")
    parser.add_argument("--test-batch-size", type=whole_number(1), default=1000, metavar="N",
                        help="test images per forward pass: fewer use less memory (default: %(default)s)")
    parser.add_argument("--validation", type=whole_number(0), default=0, metavar="N",
                        help="measure on the last N training images instead of the test images, to "
                             "compare settings without looking at the test set (10000 is usual)")
    parser.add_argument("--threads", type=whole_number(0), default=0, metavar="N",
                        help="CPU threads per operation; 0 means one per core (default: %(default)s)")
    parser.add_argument("--layout", choices=list(visualisation.VIEWS), default="0", metavar="K",
                        help="the picture's view, numbered as the window's keys below (default: %(default)s)")
    parser.add_argument("--save-png", metavar="FILE.png",
                        help="write the panels at the end of training to FILE.png (headless too)")
    parser.add_argument("--save-report", metavar="FILE.png",
                        help="write the report of the network's mistakes to FILE.png (key M shows it)")
    parser.add_argument("--save-movie", metavar="FILE.mp4",
                        help="record the panels as a video, one frame per test (needs imageio-ffmpeg)")
    parser.add_argument("--movie-fps", type=whole_number(1), default=10, metavar="N",
                        help="frames per second of the movie (default: %(default)s)")
    parser.add_argument("--tensorboard", metavar="DIR",
                        help="write TensorBoard summaries to a folder of DIR named after the script, "
                             "seed and time; tensorboard --logdir DIR or compare.py DIR compares runs")
    parser.add_argument("--results", metavar="FILE.json",
                        help="write final and best accuracy, steps, time and every test to FILE.json")
    parser.add_argument("--save-model", metavar="DIR",
                        help="save the trained network in DIR, for draw.py --model DIR")
    if more:
        more(parser)
    args = parser.parse_args()
    check_output(parser, "--save-png", args.save_png, ".png")
    check_output(parser, "--save-report", args.save_report, ".png")
    check_output(parser, "--results", args.results, ".json")
    if args.save_model:
        try:
            savedmodel.check_target(args.save_model)
        except UserError as e:
            parser.error(f"--save-model {args.save_model}: {e}")
    check_output(parser, "--save-movie", args.save_movie, ".mp4")
    if args.save_movie:
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            parser.error("--save-movie needs the imageio-ffmpeg package: python3 -m pip install imageio-ffmpeg")
    if args.tensorboard:
        try:
            os.makedirs(args.tensorboard, exist_ok=True)
        except OSError as e:
            parser.error(f"--tensorboard: cannot create {args.tensorboard} ({e.strerror})")

    args.rng = np.random.default_rng(args.seed)  # the order of the training images
    if not in_notebook.active():
        sys.excepthook = one_line_for_user_errors
    return args


def check_output(parser, flag, path, extension):
    """A file we will write at the end must be writable now, not after an hour of training."""
    if path is None:
        return
    if not path.lower().endswith(extension):
        parser.error(f"{flag} {path}: the file name must end in {extension}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"{flag} {path}: the folder {directory} does not exist")
    if os.path.isdir(path):
        parser.error(f"{flag} {path}: that is a folder; give a file's name")
    try:
        mnistdata.check_writable(directory)
    except UserError as e:
        parser.error(f"{flag} {path}: {e}")


def has_display():
    """Whether a window can be opened: on Linux and BSD that needs an X11 or Wayland display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class Interrupted(KeyboardInterrupt):
    """A second Ctrl-C, which stops at once: one line in a terminal (see parse) and in a notebook."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{os.path.basename(sys.argv[0])}: {self}"]


def one_line_for_user_errors(kind, error, traceback):
    """sys.excepthook in a terminal: an interrupt or a UserError that reaches the top is one line;
    anything else (a bug, maybe in a learner's change to the loop) keeps its traceback."""
    if issubclass(kind, Interrupted):
        print(f"{os.path.basename(sys.argv[0])}: {error}", file=sys.stderr, flush=True)
    elif issubclass(kind, UserError):
        print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr, flush=True)
    else:
        sys.__excepthook__(kind, error, traceback)



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


class Batches:
    """mnist.train: next_batch(n) gives n images as floats in [0, 1], [n, 28, 28, 1], and their
    one-hot labels [n, 10]. Every epoch visits each training image once, in a new order (--seed)."""

    def __init__(self, images, labels, rng):
        self.images, self.labels, self.rng = images, labels, rng  # images stay bytes until drawn
        self.order, self.size = None, None

    def next_batch(self, size):
        if size != self.size:
            self.order, self.size = shuffled_batches(len(self.images), size, self.rng), size
        indices = next(self.order)
        return mnistdata.to_float(self.images[indices]), self.labels[indices]

    def __len__(self):
        return len(self.images)


class Images:
    """mnist.test: all the held-out images at once, .images [n, 28, 28, 1] and .labels [n, 10]."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)


class Mnist:
    """What load_mnist gives a script: mnist.train, mnist.test, and mnist.held_out, the name of
    what mnist.test holds: "test", or "validation" with --validation."""

    def __init__(self, train, test, held_out):
        self.train, self.test, self.held_out = train, test, held_out


def load_mnist(args):
    """MNIST as the codelab's scripts read it, or one line and exit 1 when it cannot be had."""
    try:
        data = mnistdata.load(args.data_dir, one_hot=True, pixels_as_bytes=True)
        held_out = "test"
        if args.validation:
            if args.validation >= len(data.train_images):
                raise UserError(f"--validation {args.validation} leaves no training images "
                                f"(the training set has {len(data.train_images)})")
            n, held_out = args.validation, "validation"
            data = data._replace(train_images=data.train_images[:-n], train_labels=data.train_labels[:-n],
                                 test_images=data.train_images[-n:], test_labels=data.train_labels[-n:])
        if args.batch_size > len(data.train_images):
            raise UserError(f"--batch-size {args.batch_size} is larger than the training set "
                            f"({len(data.train_images)} images)")
    except UserError as e:
        stop(f"error: {e}")
    except KeyboardInterrupt:  # while MNIST is fetched, the first time
        stop("interrupted at step 0")
    # The test set is converted to floats once (31 MB), not at each of the ~100 test passes; the
    # training set stays in bytes and each batch is converted as it is drawn.
    return Mnist(Batches(data.train_images, data.train_labels, args.rng),
                 Images(mnistdata.to_float(data.test_images), data.test_labels), held_out)



def shuffled_batches(count, batch_size, rng):
    """Endless mini-batches of indices; each epoch visits every image once, in a new order."""
    order = rng.permutation(count)
    while True:
        while len(order) < batch_size:  # an epoch ends inside this batch: start the next one
            order = np.concatenate([order, rng.permutation(count)])
        yield order[:batch_size]
        order = order[batch_size:]

