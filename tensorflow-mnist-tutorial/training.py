"""The command line, the data and the picture shared by every numbered script; the lesson,
building the graph and running it, is in the script itself:

    args = training.setup(__doc__, iterations=10000)   # flags, graph mode, seeds
    ... placeholders, variables, model, loss, accuracy, optimizer ...
    mnist = training.load_mnist(args)                  # mnist.train.next_batch(100), mnist.test.images
    show = training.Show(args, mnist)                  # progress lines, the six panels, the reports
    with tf.Session(config=args.session_config) as sess:
        sess.run(tf.global_variables_initializer())
        for i in show.steps():                          # 0, 1, ..., --iterations
            batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
            ... every --log-every steps: sess.run([accuracy, cross_entropy, ...]) -> show.training(...)
            ... every --test-every steps: the same on mnist.test -> show.test(...)
            sess.run(train_step, feed_dict={X: batch_X, Y_: batch_Y, ...})
        show.finish(sess, X, Y)

Show prints the codelab's progress lines (a progress bar in a Jupyter notebook, where %run draws
the picture in the cell: see in_notebook.py), draws the panels, notes what it sees in the curves,
and at the end writes the files asked for. Ctrl-C or closing the window ends the loop between
two steps, and the script with one line.
"""
import argparse
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time


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
import tensorflow  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

import diagnosis  # noqa: E402
import mnistdata  # noqa: E402
import in_notebook  # noqa: E402
import savedmodel  # noqa: E402
import visualisation  # noqa: E402
from mnistdata import UserError  # noqa: E402

DRAW_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "draw.py")


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


def setup(description, iterations, batch_size=100, test_every=100):
    """Parse the command line, switch TensorFlow to graph mode and seed every random generator."""
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

    tf.disable_eager_execution()  # the scripts build a graph first, then run it in a Session
    tf.reset_default_graph()
    tf.set_random_seed(args.seed)
    tensorflow.config.experimental.enable_op_determinism()  # same seed, same numbers
    args.rng = np.random.default_rng(args.seed)
    # the script's tf.Session(config=args.session_config): --threads CPU threads per operation
    args.session_config = tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                                         inter_op_parallelism_threads=args.threads)
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
    """A second Ctrl-C, which stops at once: one line in a terminal (see setup) and in a notebook."""

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


def run_in_slices(sess, fetches, feed_dict, slice_size):
    """sess.run(fetches, feed_dict) over many images, slice_size images at a time.

    At once, 10,000 test images through a large convolutional network take gigabytes; in slices
    the memory stays that of one slice (--test-batch-size) and the answers are the same: a number
    (a mean over the images, like accuracy) is averaged over the slices weighted by their size,
    and rows, one per image (like Y), are joined. Feeds of one row per image are sliced; the others
    (pkeep, the step) go to every slice as they are.
    """
    count = max(len(value) for value in feed_dict.values() if np.ndim(value) > 0)
    totals = None
    for start in range(0, count, slice_size):
        piece = {key: value[start:start + slice_size] if np.ndim(value) > 0 and len(value) == count else value
                 for key, value in feed_dict.items()}
        values = sess.run(fetches, piece)
        size = min(slice_size, count - start)
        if totals is None:
            totals = [[] for _ in values]
        for total, value in zip(totals, values):
            total.append(value * size if np.ndim(value) == 0 else value)
    return [sum(total) / count if np.ndim(total[0]) == 0 else np.concatenate(total) for total in totals]


class Show:
    """Everything a script shows of its training, fed with what its loop measures.

        show = training.Show(args, mnist)
        for i in show.steps():                  # 0 .. --iterations
            ...
            show.training(i, accuracy, loss, batch_X, batch_Y, predictions, learning_rate)
            show.test(i, accuracy, loss, predictions, weights, biases)
        show.finish(sess, X, Y, {pkeep: 1.0})

    It prints the codelab's progress lines (a progress bar in a notebook), draws the six panels in
    a window, in a notebook cell or off-screen for --save-png and --save-movie, notes what it sees
    in the curves, writes TensorBoard summaries, and at the end the summary, --results,
    --save-report and --save-model. The loop decides what is measured and when; Show only shows.
    panels names what panels 4 and 5 show the spread of (weights and biases unless told).
    """

    def __init__(self, args, mnist, panels=("Weights", "Biases")):
        self.args, self.mnist, self.held_out = args, mnist, mnist.held_out
        self.panel_titles = list(panels)
        self.in_notebook = in_notebook.active()
        self.report = self.animation = self.summaries = self.drawing_seconds = None
        self.step, self.stopped, self.finished, self.seconds = 0, None, False, None
        if self.in_notebook:  # a problem before finish() must not leave a bar running, a figure open
            shell = sys.modules["IPython"].get_ipython()
            shell.events.register("post_run_cell", self.after_the_cell)
        # From here on Ctrl-C only asks, and the loop stops at its next step: also while the window
        # opens and the Session starts, before the loop's first step.
        self.interrupt = StopBetweenSteps(lambda: f"interrupted at step {self.step}").__enter__()
        self.tests = []  # (step, accuracy, loss) of every test pass
        self.probabilities = None  # of every held-out image, at the last test pass
        self.pads = []  # drawing pads opened from the live window
        self.unwritten = []  # the files asked for that the file system refused, one line each
        self.print_header()
        steps_per_epoch = len(mnist.train) / args.batch_size
        self.report = (in_notebook.ProgressBar(os.path.basename(sys.argv[0]), args.iterations, steps_per_epoch,
                                               self.held_out)
                       if self.in_notebook else Lines(self.held_out, steps_per_epoch))
        self.animation = self.open_animation()
        self.watcher = diagnosis.Watcher(args.iterations, self.held_out)
        self.summaries = Summaries(run_folder(args), list(map(tag_name, panels))) if args.tensorboard else None

    # --- what the loop calls ----------------------------------------------------------------------

    def steps(self):
        """The step numbers 0, 1, ..., --iterations. Between two steps the live window is kept
        alive (and waits while paused with Space); Ctrl-C or closing the window ends the loop
        there, and finish() then stops the script with one line."""
        started = time.perf_counter()
        try:
            for i in range(self.args.iterations + 1):
                self.step = i
                if not self.between_steps():
                    return
                yield i
            self.between_steps()  # Ctrl-C while the last reports were made
        finally:
            self.interrupt.restore()
            self.seconds = time.perf_counter() - started
            if self.animation and self.animation.live:  # what the frames cost the loop
                self.drawing_seconds = self.animation.drawing_s

    def between_steps(self):
        if self.animation and not self.animation.tick(until=lambda: self.interrupt.asked):
            self.stopped = f"the window was closed at step {self.step}: training stopped"
            return False
        if self.interrupt.asked:  # Ctrl-C, or the notebook's interrupt button
            self.stopped = f"interrupted at step {self.step}"
            return False
        return True

    def training(self, step, accuracy, loss, images, labels, probabilities, learning_rate=None):
        """Accuracy and loss on a training batch, the batch itself (images, one-hot labels) and the
        network's answers for it (probabilities, one row per image)."""
        self.report.training(step, accuracy, loss, learning_rate)
        self.say(self.watcher.add_training(step, accuracy, loss))
        if self.animation:
            self.animation.add_training(step, accuracy, loss, images, np.argmax(labels, 1),
                                        np.argmax(probabilities, 1))
        if self.summaries:
            scalars = {"accuracy/training": accuracy, "loss/training": loss}
            if learning_rate is not None:
                scalars["learning_rate"] = learning_rate
            self.summaries.scalars(step, scalars)

    def test(self, step, accuracy, loss, probabilities, weights, biases):
        """Accuracy and loss on all the held-out images (mnist.test), the network's answers for each
        (probabilities), and the values whose spread panels 4 and 5 show (weights and biases, or
        whatever the script named in panels)."""
        self.tests.append((step, accuracy, loss))
        self.probabilities = probabilities
        self.report.test(step, accuracy, loss)
        self.say(self.watcher.add_test(step, accuracy, loss))
        if self.animation:
            shown = visualisation.TEST_DIGITS
            self.animation.add_test(step, accuracy, loss, self.mnist.test.images[:shown],
                                    np.argmax(self.mnist.test.labels[:shown], 1), np.argmax(probabilities[:shown], 1))
            self.animation.add_spread(step, np.ravel(weights), np.ravel(biases))
            self.write(self.animation.frame)
        if self.summaries:
            self.summaries.scalars(step, {"accuracy/test": accuracy, "loss/test": loss})
            self.summaries.histograms(step, [weights, biases])

    def finish(self, sess, X, Y, testing_feed=None):
        """After the loop: the summary, the files asked for, the report of the mistakes; in a window,
        wait until it is closed. --save-model keeps the network from X to Y, with testing_feed
        (e.g. {pkeep: 1.0}) fixed in it. A stopped loop ends the script here, in one line."""
        args = self.args
        self.finished = True
        self.interrupt.restore()  # the loop may have ended early, with a break
        try:
            self.report.close()
            if self.stopped or not self.tests:
                if self.animation:
                    self.animation.abandon()
                stop(self.stopped or "error: the loop ended before any test pass: nothing to report")
            self.print_summary(sess)
            if args.results:
                self.write(self.write_results)
            self.report_mistakes()
            model_dir = self.write(lambda: self.save_model(sess, X, Y, testing_feed or {}))
        finally:
            if self.summaries:
                self.summaries.close()
        if self.animation:
            pad = None
            if model_dir and self.animation.show == "window":
                pad = lambda: self.pads.append(  # noqa: E731  its own process and window
                    subprocess.Popen([sys.executable, DRAW_SCRIPT, "--model", model_dir]))
            if args.save_png:
                self.write(lambda: self.animation.save_png(args.save_png))
            if args.save_movie:
                self.write(self.animation.save_movie)
            self.animation.finish(draw=pad)
        for pad in self.pads:
            pad.wait()  # the model folder may be a temporary one, removed when this script ends
        if self.unwritten and not self.in_notebook:
            sys.exit(1)  # each was told in its own line as it failed

    # --- the rest ---------------------------------------------------------------------------------

    def after_the_cell(self, result=None):
        """In a notebook, after the cell that ran the script: if the loop never reached finish() (an
        error, a second interrupt), the bar is closed and the picture left where training stopped."""
        sys.modules["IPython"].get_ipython().events.unregister("post_run_cell", self.after_the_cell)
        self.interrupt.restore()
        if not self.finished:
            self.finished = True
            if self.report:
                self.report.close()
            if self.animation:
                self.animation.abandon()
            if self.summaries:
                self.summaries.close()

    def write(self, output):
        """Write one of the files asked for. If the file system refuses (a full disk), say so in one
        line now and go on with the others: an hour of training is not lost to one picture."""
        try:
            return output()
        except UserError as e:
            print(f"{os.path.basename(sys.argv[0])}: error: {e}", file=sys.stderr, flush=True)
            self.unwritten.append(str(e))

    def say(self, remarks):
        """What the watcher saw in the curves: a line, and a label on the chart."""
        for remark in remarks:
            print(f"note at step {remark.step}: {remark.text}", flush=True)
            if self.animation:
                self.animation.add_remark(remark)

    def report_mistakes(self):
        """The confusion matrix and the surest mistakes of the network on the held-out images at the
        last test pass: the five most confused pairs printed, the rest for --save-report and the
        window's key M."""
        test = self.mnist.test
        report = diagnosis.mistakes(test.images, np.argmax(test.labels, 1), self.probabilities)
        print(diagnosis.confused_line(report, self.held_out), flush=True)
        if self.args.save_report:
            self.write(lambda: visualisation.save_report(report, self.held_out, self.args.save_report))
        if self.animation:
            self.animation.set_report(report, self.held_out)

    def save_model(self, sess, X, Y, testing_feed):
        """The trained network as a folder: where --save-model says, or a temporary one for the
        live window's drawing pad; None when neither wants one."""
        args = self.args
        directory = args.save_model
        if not directory and self.animation and self.animation.show == "window":
            directory = tempfile.mkdtemp(prefix="mnist-model-")
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
        if directory:
            savedmodel.save(sess, directory, X, Y, testing_feed)
            if args.save_model:
                print(f"model saved to {directory}: python3 {os.path.relpath(DRAW_SCRIPT)} --model "
                      f"{directory} to draw digits for it", flush=True)
        return directory

    def open_animation(self):
        """The live window, or an off-screen figure for --save-png and --save-movie, or None."""
        args = self.args
        title = os.path.basename(sys.argv[0])
        options = dict(movie=args.save_movie, movie_fps=args.movie_fps, layout=args.layout,
                       weights_title=self.panel_titles[0], biases_title=self.panel_titles[1],
                       held_out=self.held_out)
        if not args.headless:
            if self.in_notebook:  # the picture goes into the cell, whatever the display
                return visualisation.Animation(title, args.iterations, show=visualisation.notebook_show(),
                                               **options)
            if not has_display():
                print("No display found (DISPLAY is not set): running headless, text only.", flush=True)
            else:
                try:
                    return visualisation.Animation(title, args.iterations, show="window", **options)
                except visualisation.NoWindow as e:
                    print(f"{e}: running headless, text only.", flush=True)
        if args.save_png or args.save_movie:
            return visualisation.Animation(title, args.iterations, **options)
        return None

    def print_header(self):
        args, mnist = self.args, self.mnist
        # what training learns: weights are matrices and patches, biases (and offsets, scales) rows
        variables = tf.trainable_variables()
        count = lambda rank1: sum(int(np.prod(v.shape.as_list())) for v in variables  # noqa: E731
                                  if (v.shape.rank == 1) == rank1)
        print(f"{os.path.basename(sys.argv[0])}: {args.iterations} steps of {args.batch_size} "
              f"images, seed {args.seed}; {len(mnist.train)} training and "
              f"{len(mnist.test)} {self.held_out} images; {count(False)} weights and "
              f"{count(True)} biases to learn", flush=True)

    def print_summary(self, sess):
        args = self.args
        final, best = self.final(), self.best()
        steps = self.steps_trained()
        images = steps * args.batch_size
        values = sess.run(tf.trainable_variables())
        weights = np.concatenate([np.ravel(v) for v in values if np.ndim(v) > 1] or [np.zeros(1)])
        biases = np.concatenate([np.ravel(v) for v in values if np.ndim(v) == 1] or [np.zeros(1)])
        print(f"weights range from {weights.min():.3f} to {weights.max():.3f}, biases from "
              f"{biases.min():.3f} to {biases.max():.3f}")
        print(f"final {self.held_out} accuracy {final[1]:.4f} (best {best[1]:.4f} at step {best[0]}); "
              f"{steps} steps in {self.seconds:.1f} s, {images / self.seconds:,.0f} training images/s",
              flush=True)

    def steps_trained(self):
        """The step of the last test pass: the loop may have stopped before --iterations."""
        return self.final()[0]

    def final(self):
        """(step, accuracy, loss) of the last test pass."""
        return self.tests[-1]

    def best(self):
        """(step, accuracy, loss) of the best test pass, the earliest of equals."""
        return max(self.tests, key=lambda test: test[1])

    def write_results(self):
        """--results FILE.json: this run's figures for programs (benchmarks/run.py, the tests)."""
        args = self.args
        final, best = self.final(), self.best()
        results = {
            "script": os.path.basename(sys.argv[0]), "seed": args.seed, "held_out": self.held_out,
            "steps": self.steps_trained(), "batch_size": args.batch_size,
            # accuracies count images out of thousands: four decimals are the measurement
            "final_accuracy": round(float(final[1]), 4), "best_accuracy": round(float(best[1]), 4),
            "best_step": best[0], "training_s": self.seconds, "drawing_s": self.drawing_seconds,
            "images_per_s": self.steps_trained() * args.batch_size / self.seconds,
            "tests": [{"step": step, "accuracy": round(float(accuracy), 4), "loss": float(loss)}
                      for step, accuracy, loss in self.tests],
        }
        with mnistdata.atomic_file(args.results) as f:
            f.write(json.dumps(results, indent=1).encode())


class Lines:
    """The terminal's report: the codelab's progress lines, one per report."""

    def __init__(self, held_out, steps_per_epoch):
        self.held_out, self.steps_per_epoch = held_out, steps_per_epoch
        self.shows_rate = False  # once the loop reports a learning rate, the lines make room for it

    def training(self, step, accuracy, loss, learning_rate):
        print(f"{self.prefix(step, learning_rate)}  training: accuracy {accuracy:.4f}  loss {loss:9.4f}",
              flush=True)

    def test(self, step, accuracy, loss):
        print(f"{self.prefix(step, None)}  {self.held_out + ':':<9} accuracy {accuracy:.4f}  loss {loss:9.4f}",
              flush=True)

    def prefix(self, step, learning_rate):
        """The start of a progress line; the learning rate is shown on training lines only."""
        text = f"step {step:6d}  epoch {step / self.steps_per_epoch:6.2f}"
        self.shows_rate = self.shows_rate or learning_rate is not None
        if self.shows_rate:
            text += f"  lr {learning_rate:.6f}" if learning_rate is not None else " " * 12
        return text

    def close(self):
        pass


class Summaries:
    """--tensorboard: the printed numbers as scalars, the values of panels 4 and 5 as histograms.

    The histograms are TensorBoard's own, made by TensorFlow from the numbers the loop hands over,
    in a session of their own: the script's graph and its Session are not touched.
    """

    def __init__(self, directory, tags):
        self.writer = tf.summary.FileWriter(directory, tf.get_default_graph())
        with tf.Graph().as_default() as graph:
            self.values = [tf.placeholder(tf.float32, [None]) for _ in tags]
            self.histogram_op = tf.summary.merge([tf.summary.histogram(tag, values)
                                                  for tag, values in zip(tags, self.values)])
        self.session = tf.Session(graph=graph)

    def scalars(self, step, values):
        values = [tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()]
        self.writer.add_summary(tf.Summary(value=values), step)

    def histograms(self, step, arrays):
        feed = {placeholder: np.ravel(array) for placeholder, array in zip(self.values, arrays)}
        self.writer.add_summary(self.session.run(self.histogram_op, feed), step)

    def close(self):
        self.writer.close()
        self.session.close()


def run_folder(args):
    """This run's own folder in --tensorboard DIR: script, seed and start time, e.g.
    DIR/mnist_2.1_five_layers_relu_lrdecay-seed0-20261203-075300. TensorBoard shows each folder
    as a run; two runs in one folder would mix their steps into one curve."""
    script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    name = f"{script}-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, number = os.path.join(args.tensorboard, name), 1
    while os.path.exists(folder):  # the same script and seed started twice in one second
        number += 1
        folder = os.path.join(args.tensorboard, f"{name}-{number}")
    return folder


def tag_name(title):
    """A TensorBoard tag from a panel title: "Conv activations, batch max" -> conv_activations_batch_max."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def shuffled_batches(count, batch_size, rng):
    """Endless mini-batches of indices; each epoch visits every image once, in a new order."""
    order = rng.permutation(count)
    while True:
        while len(order) < batch_size:  # an epoch ends inside this batch: start the next one
            order = np.concatenate([order, rng.permutation(count)])
        yield order[:batch_size]
        order = order[batch_size:]
