"""The command line and the training loop shared by every numbered script.

A script builds its model, then hands the pieces to `run`:

    args = training.setup(__doc__, iterations=10000)   # flags, graph mode, seeds
    ... placeholders, variables, model, loss, accuracy, optimizer ...
    training.run(args, X=X, Y_=Y_, Y=Y, cross_entropy=cross_entropy, accuracy=accuracy,
                 train_step=train_step, weights=[W1, ...], biases=[B1, ...])

`run` loads MNIST, feeds mini-batches from the training set (reshuffled every epoch), prints the
accuracy and loss on the batch about to be trained every --log-every steps and on all 10,000 test
images every --test-every steps, and ends with the final and best test accuracy, the training time
and the digits most often confused. The model code never changes for any of this. The loop itself
is `Loop.loop`: feed a batch, report on it, test now and then, train. In a Jupyter notebook (%run mnist_X.py) the
lines give way to a progress bar and the picture is drawn in the cell: see in_notebook.py.
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


def run(args, *, X, Y_, Y, cross_entropy, accuracy, train_step, weights, biases,
        step=None, learning_rate=None, training_feed=None, testing_feed=None, panels=None):
    """Train the model and report on it; a problem the user can fix ends in one line and exit 1.

    X, Y_          placeholders for images [batch, 28, 28, 1] and one-hot labels [batch, 10]
    Y              the model's predictions [batch, 10] (the live animation shows them)
    cross_entropy  the loss, a batch mean; accuracy: the share of the batch recognised
    train_step     the optimizer's minimize() operation
    weights, biases  the Variables, for the spread of their values
    step           optional placeholder fed the step number (for learning-rate decay)
    learning_rate  optional number or tensor, printed beside the step
    training_feed, testing_feed  extra placeholder values, e.g. {pkeep: 0.75} and {pkeep: 1.0}
    panels         optional {title: tensors, title: tensors} shown in panels 4 and 5 instead of the
                   weights and biases, e.g. activations; they are computed on the current
                   training batch with the testing feed
    """
    loop = Loop(args, X=X, Y_=Y_, Y=Y, cross_entropy=cross_entropy, accuracy=accuracy,
                train_step=train_step, weights=weights, biases=biases, step=step,
                learning_rate=learning_rate, training_feed=training_feed or {},
                testing_feed=testing_feed or {}, panels=panels)
    try:
        loop.train()
    except UserError as e:
        stop(f"error: {e}")
    except KeyboardInterrupt:
        stop(f"interrupted at step {loop.step}")
    if loop.unwritten and not in_notebook.active():
        sys.exit(1)  # each was told in its own line as it failed


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

    def __init__(self):
        self.asked, self.previous = False, None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self.ask)
        return self

    def ask(self, signum, frame):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True

    def check(self):
        if self.asked:
            self.asked = False  # answered
            raise KeyboardInterrupt

    def __exit__(self, kind, error, traceback):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if kind is None:
            self.check()  # asked during the last step: stop before the report


class Loop:
    def __init__(self, args, **model):
        self.args = args
        self.model = model
        self.step = 0
        self.in_notebook = in_notebook.active()
        self.tests = []  # (step, accuracy, loss) of every test pass
        self.pads = []  # drawing pads opened from the live window
        self.unwritten = []  # the files asked for that the file system refused, one line each
        rate = model["learning_rate"]
        # fetched with the training stats: a tensor when it decays, a constant otherwise
        self.learning_rate = rate if isinstance(rate, tf.Tensor) else tf.constant(rate or 0.0)

    def train(self):
        args, m = self.args, self.model
        data = mnistdata.load(args.data_dir, one_hot=True, pixels_as_bytes=True)
        self.held_out = "test"
        if args.validation:
            if args.validation >= len(data.train_images):
                raise UserError(f"--validation {args.validation} leaves no training images "
                                f"(the training set has {len(data.train_images)})")
            n, self.held_out = args.validation, "validation"
            data = data._replace(train_images=data.train_images[:-n], train_labels=data.train_labels[:-n],
                                 test_images=data.train_images[-n:], test_labels=data.train_labels[-n:])
        # The test set is converted to floats once (31 MB), not at each of the ~100 test passes;
        # the training set stays in bytes and each batch is converted as it is drawn.
        data = data._replace(test_images=mnistdata.to_float(data.test_images))
        if args.batch_size > len(data.train_images):
            raise UserError(f"--batch-size {args.batch_size} is larger than the training set "
                            f"({len(data.train_images)} images)")
        weights, biases = flat(m["weights"]), flat(m["biases"])
        self.predicted = tf.argmax(m["Y"], 1)
        histograms = {"weights": weights, "biases": biases}
        if m["panels"]:  # e.g. activations, in place of the weights and biases
            self.panel_titles = list(m["panels"])
            self.panel_values = [flat(tensors) for tensors in m["panels"].values()]
            histograms.update(zip(map(tag_name, self.panel_titles), self.panel_values))
        else:
            self.panel_titles, self.panel_values = ["Weights", "Biases"], [weights, biases]
        self.summaries = Summaries(run_folder(args), histograms) if args.tensorboard else None
        self.print_header(data)
        steps_per_epoch = len(data.train_images) / args.batch_size
        self.report = (in_notebook.ProgressBar(os.path.basename(sys.argv[0]), args.iterations, steps_per_epoch,
                                            self.held_out)
                       if self.in_notebook else Lines(self, steps_per_epoch))
        self.animation = self.open_animation()
        self.watcher = diagnosis.Watcher(args.iterations, self.held_out)

        config = tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                                inter_op_parallelism_threads=args.threads)
        try:
            with tf.Session(config=config) as sess:
                sess.run(tf.global_variables_initializer())
                if self.summaries:
                    self.summaries.open(sess.graph)
                started = time.perf_counter()
                with StopBetweenSteps() as self.interrupt:
                    self.loop(sess, data)
                self.seconds = time.perf_counter() - started
                self.report.close()
                self.print_summary(sess, weights, biases)
                if args.results:
                    self.write(self.write_results)
                self.report_mistakes(data)
                model_dir = self.write(lambda: self.save_model(sess))
        except BaseException:
            self.report.close()
            if self.animation:
                self.animation.abandon()
            raise
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

    def report_mistakes(self, data):
        """The confusion matrix and the surest mistakes of the final network on the test set (the
        last test pass): the five most confused pairs printed, the rest for --save-report and the
        window's key M."""
        report = diagnosis.mistakes(data.test_images, data.test_labels.argmax(1), self.final_probabilities)
        print(diagnosis.confused_line(report, self.held_out), flush=True)
        if self.args.save_report:
            self.write(lambda: visualisation.save_report(report, self.held_out, self.args.save_report))
        if self.animation:
            self.animation.set_report(report, self.held_out)

    def save_model(self, sess):
        """The trained network as a folder: where --save-model says, or a temporary one for the
        live window's drawing pad; None when neither wants one."""
        args, m = self.args, self.model
        directory = args.save_model
        if not directory and self.animation and self.animation.show == "window":
            directory = tempfile.mkdtemp(prefix="mnist-model-")
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
        if directory:
            fixed = dict(m["testing_feed"])
            if m["step"] is not None:
                fixed[m["step"]] = args.iterations
            savedmodel.save(sess, directory, m["X"], m["Y"], fixed)
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

    def loop(self, sess, data):
        """The lesson: feed a mini-batch, report on it, now and then test on the held-out images,
        and train one step on the batch."""
        args = self.args
        train = self.training_step(sess)
        batches = shuffled_batches(len(data.train_images), args.batch_size, args.rng)
        for i in range(args.iterations + 1):
            self.step = i
            last = i == args.iterations
            feed, labels = self.feed(data, next(batches), i)
            if i % args.log_every == 0 or last:
                self.report_training(sess, feed, labels, i)
            if i % args.test_every == 0 or last:
                self.test(sess, data, feed, i)
            if self.animation and not self.animation.tick(until=lambda: self.interrupt.asked):
                raise UserError(f"the window was closed at step {i}: training stopped")
            self.interrupt.check()  # Ctrl-C, or the notebook's interrupt button
            if not last:
                train(feed)

    def training_step(self, sess):
        """One step of the optimizer on a feed, through a callable made once: it skips the work
        sess.run repeats on every call to match the fetches and feeds (it counts for small models)."""
        m = self.model
        keys = [m["X"], m["Y_"]] + ([m["step"]] if m["step"] is not None else [])
        extra = list(m["training_feed"].items())
        step = sess.make_callable(m["train_step"], keys + [key for key, _ in extra])
        return lambda feed: step(*[feed[key] for key in keys], *[value for _, value in extra])

    def feed(self, data, indices, i):
        """The placeholders' values for one mini-batch: images as floats, one-hot labels, the step."""
        m = self.model
        feed = {m["X"]: mnistdata.to_float(data.train_images[indices]), m["Y_"]: data.train_labels[indices]}
        if m["step"] is not None:
            feed[m["step"]] = i
        return feed, data.train_labels[indices].argmax(1)

    def report_training(self, sess, feed, labels, i):
        """Accuracy and loss on the batch about to be trained, measured as a test would (no dropout)."""
        m = self.model
        accuracy, loss, rate, predicted = sess.run(
            [m["accuracy"], m["cross_entropy"], self.learning_rate, self.predicted], {**feed, **m["testing_feed"]})
        self.report.training(i, accuracy, loss, rate)
        self.say(self.watcher.add_training(i, accuracy, loss))
        if self.animation:
            self.animation.add_training(i, accuracy, loss, feed[m["X"]], labels, predicted)
        if self.summaries:
            self.summaries.scalars(i, {"accuracy/training": accuracy, "loss/training": loss, "learning_rate": rate})

    def test(self, sess, data, feed, i):
        """Accuracy and loss on every held-out image; the panels and summaries follow."""
        m, animation = self.model, self.animation
        accuracy, loss, predicted = self.test_pass(sess, data, i)
        self.tests.append((i, accuracy, loss))
        self.report.test(i, accuracy, loss)
        self.say(self.watcher.add_test(i, accuracy, loss))
        if animation or self.summaries:
            panel_feed = {**feed, **m["testing_feed"]}  # panels may show activations of this batch
            values = sess.run(self.panel_values, panel_feed)
            if animation:
                shown = len(predicted)
                animation.add_test(i, accuracy, loss, data.test_images[:shown],
                                   data.test_labels[:shown].argmax(1), predicted)
                animation.add_spread(i, *values)
                animation.frame()
            if self.summaries:
                self.summaries.scalars(i, {"accuracy/test": accuracy, "loss/test": loss})
                self.summaries.histograms(sess, i, panel_feed)

    def test_pass(self, sess, data, i):
        """Accuracy and loss over the whole test set, a slice at a time to bound the memory. The
        last pass also keeps every probability, for the report of the mistakes."""
        m, size = self.model, self.args.test_batch_size
        total_accuracy = total_loss = 0.0
        predictions = []  # of the first test images, for the animation
        last = i == self.args.iterations
        probabilities = []
        for start in range(0, len(data.test_images), size):
            images = data.test_images[start:start + size]
            feed = {m["X"]: images, m["Y_"]: data.test_labels[start:start + size], **m["testing_feed"]}
            if m["step"] is not None:
                feed[m["step"]] = i
            accuracy, loss, predicted, *Y = sess.run(
                [m["accuracy"], m["cross_entropy"], self.predicted] + ([m["Y"]] if last else []), feed)
            total_accuracy += accuracy * len(images)  # both are batch means: weight by slice size
            total_loss += loss * len(images)
            if start < visualisation.TEST_DIGITS:
                predictions.append(predicted)
            probabilities += Y
        if last:
            self.final_probabilities = np.concatenate(probabilities)
        predictions = np.concatenate(predictions)[:visualisation.TEST_DIGITS]
        return total_accuracy / len(data.test_images), total_loss / len(data.test_images), predictions

    def print_header(self, data):
        m, args = self.model, self.args
        count = lambda tensors: sum(int(np.prod(t.shape.as_list())) for t in tensors)  # noqa: E731
        print(f"{os.path.basename(sys.argv[0])}: {args.iterations} steps of {args.batch_size} "
              f"images, seed {args.seed}; {len(data.train_images)} training and "
              f"{len(data.test_images)} {self.held_out} images; {count(m['weights'])} weights and "
              f"{count(m['biases'])} biases to learn", flush=True)

    def print_summary(self, sess, weights, biases):
        args = self.args
        final, best = self.final(), self.best()
        images = args.iterations * args.batch_size
        weights, biases = sess.run([weights, biases])
        print(f"weights range from {weights.min():.3f} to {weights.max():.3f}, biases from "
              f"{biases.min():.3f} to {biases.max():.3f}")
        print(f"final {self.held_out} accuracy {final[1]:.4f} (best {best[1]:.4f} at step {best[0]}); "
              f"{args.iterations} steps in {self.seconds:.1f} s, {images / self.seconds:,.0f} training images/s",
              flush=True)

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
            "steps": args.iterations, "batch_size": args.batch_size,
            "final_accuracy": round(float(final[1]), 4), "best_accuracy": round(float(best[1]), 4),
            "best_step": best[0], "training_s": round(self.seconds, 2),
            "images_per_s": round(args.iterations * args.batch_size / self.seconds, 1),
            "tests": [{"step": step, "accuracy": round(float(accuracy), 4), "loss": round(float(loss), 4)}
                      for step, accuracy, loss in self.tests],
        }
        with mnistdata.atomic_file(args.results) as f:
            f.write(json.dumps(results, indent=1).encode())


class Lines:
    """The terminal's report: the codelab's progress lines, one per report."""

    def __init__(self, loop, steps_per_epoch):
        self.held_out, self.steps_per_epoch = loop.held_out, steps_per_epoch
        self.shows_rate = loop.model["learning_rate"] is not None

    def training(self, step, accuracy, loss, learning_rate):
        print(f"{self.prefix(step, learning_rate)}  training: accuracy {accuracy:.4f}  loss {loss:9.4f}",
              flush=True)

    def test(self, step, accuracy, loss):
        print(f"{self.prefix(step, None)}  {self.held_out + ':':<9} accuracy {accuracy:.4f}  loss {loss:9.4f}",
              flush=True)

    def prefix(self, step, learning_rate):
        """The start of a progress line; the learning rate is shown on training lines only."""
        text = f"step {step:6d}  epoch {step / self.steps_per_epoch:6.2f}"
        if self.shows_rate:
            text += f"  lr {learning_rate:.6f}" if learning_rate is not None else " " * 12
        return text

    def close(self):
        pass


class Summaries:
    """--tensorboard: the printed numbers as scalars, the weights and biases as histograms."""

    def __init__(self, directory, histograms):
        self.directory, self.writer = directory, None
        self.histogram_op = tf.summary.merge([tf.summary.histogram(tag, values)
                                              for tag, values in histograms.items()])

    def open(self, graph):
        self.writer = tf.summary.FileWriter(self.directory, graph)

    def scalars(self, step, values):
        values = [tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()]
        self.writer.add_summary(tf.Summary(value=values), step)

    def histograms(self, sess, step, feed):
        self.writer.add_summary(sess.run(self.histogram_op, feed), step)

    def close(self):
        if self.writer:
            self.writer.close()


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


def flat(tensors):
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def shuffled_batches(count, batch_size, rng):
    """Endless mini-batches of indices; each epoch visits every image once, in a new order."""
    order = rng.permutation(count)
    while True:
        while len(order) < batch_size:  # an epoch ends inside this batch: start the next one
            order = np.concatenate([order, rng.permutation(count)])
        yield order[:batch_size]
        order = order[batch_size:]
