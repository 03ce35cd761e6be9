"""What a training loop hands over, and everything shown of it: Show.

    show = Show(args, mnist, shapes)            # shapes: of the variables training learns
    for i in show.steps():                      # 0 .. --iterations; Ctrl-C or closing the window ends it
        ...
        show.training(i, accuracy, loss, batch_X, batch_Y, probabilities, learning_rate)
        show.test(i, accuracy, loss, probabilities, weights, biases)
    show.finish(values, save)                   # values: the variables' values; save(folder)

The loop may be a graph script's Session (training.Show), Keras's fit (keras_training's callback)
or a tf.function of one's own: each hands over the same plain numbers. Show prints the codelab's
progress lines (a progress bar in a Jupyter notebook), draws the six panels in a window, a
notebook cell or off-screen for --save-png and --save-movie, notes what it sees in the curves,
writes TensorBoard summaries, and at the end the summary, --results, --save-report and
--save-model. The loop decides what is measured and when; Show only shows.
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow
import tensorflow.compat.v1 as tf

import diagnosis
import in_notebook
import mnistdata
import visualisation
import where_shown
from command_line import StopBetweenSteps, UserError, has_display, stop

DRAW_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "draw.py")


class Show:
    """Everything a script shows of its training, fed with what its loop measures (see above).

    It prints the codelab's progress lines (a progress bar in a notebook), draws the six panels in
    a window, in a notebook cell or off-screen for --save-png and --save-movie, notes what it sees
    in the curves, writes TensorBoard summaries, and at the end the summary, --results,
    --save-report and --save-model. The loop decides what is measured and when; Show only shows.
    panels names what panels 4 and 5 show the spread of (weights and biases unless told); shapes
    are those of the variables training learns, counted in the first line.
    """

    def __init__(self, args, mnist, shapes, panels=("Weights", "Biases")):
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
        self.print_header(shapes)
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
        self.start()
        try:
            for i in range(self.args.iterations + 1):
                if not self.next_step(i):
                    return
                yield i
            self.between_steps()  # Ctrl-C while the last reports were made
        finally:
            self.end()

    # A loop that is not a for loop over steps() (Keras's fit) calls these three instead.
    def start(self):
        """Training starts: its clock starts."""
        self.started = time.perf_counter()

    def next_step(self, i):
        """Step i is next: False when it must not run (Ctrl-C, the window closed)."""
        self.step = i
        return self.between_steps()

    def end(self):
        """Training is over, or stopped: its time, and what drawing took of it."""
        self.interrupt.restore()
        self.seconds = time.perf_counter() - self.started
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

    def finish(self, values, save):
        """After the loop: the summary, the files asked for, the report of the mistakes; in a window,
        wait until it is closed. values are those of the variables training learnt; save(folder)
        writes the network as tested (savedmodel's format) for --save-model and the drawing pad.
        A stopped loop ends the script here, in one line."""
        args = self.args
        self.finished = True
        self.interrupt.restore()  # the loop may have ended early, with a break
        try:
            self.report.close()
            if self.stopped or not self.tests:
                if self.animation:
                    self.animation.abandon()
                stop(self.stopped or "error: the loop ended before any test pass: nothing to report")
            self.print_summary(values)
            if args.results:
                self.write(self.write_results)
            self.report_mistakes()
            model_dir = self.write(lambda: self.save_model(save))
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

    def save_model(self, save):
        """The trained network as a folder: where --save-model says, or a temporary one for the
        live window's drawing pad; None when neither wants one."""
        args = self.args
        directory = args.save_model
        if not directory and self.animation and self.animation.show == "window":
            directory = tempfile.mkdtemp(prefix="mnist-model-")
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
        if directory:
            save(directory)
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
                return visualisation.Animation(title, args.iterations, show=where_shown.notebook_show(),
                                               **options)
            if not has_display():
                print("No display found (DISPLAY is not set): running headless, text only.", flush=True)
            else:
                try:
                    return visualisation.Animation(title, args.iterations, show="window", **options)
                except where_shown.NoWindow as e:
                    print(f"{e}: running headless, text only.", flush=True)
        if args.save_png or args.save_movie:
            return visualisation.Animation(title, args.iterations, **options)
        return None

    def print_header(self, shapes):
        args, mnist = self.args, self.mnist
        # what training learns: weights are matrices and patches, biases (and offsets, scales) rows
        count = lambda rank1: sum(int(np.prod(shape)) for shape in shapes  # noqa: E731
                                  if (len(shape) == 1) == rank1)
        print(f"{os.path.basename(sys.argv[0])}: {args.iterations} steps of {args.batch_size} "
              f"images, seed {args.seed}; {len(mnist.train)} training and "
              f"{len(mnist.test)} {self.held_out} images; {count(False)} weights and "
              f"{count(True)} biases to learn", flush=True)

    def print_summary(self, values):
        args = self.args
        final, best = self.final(), self.best()
        steps = self.steps_trained()
        images = steps * args.batch_size
        weights, biases = weights_and_biases(values)
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

    def __init__(self, directory, tags=()):
        """tags: the histograms' names; none, scalars only."""
        self.session = None
        if tensorflow.executing_eagerly():  # Keras and tf.function loops: TensorFlow 2's writer
            self.writer, self.eager_writer = None, tensorflow.summary.create_file_writer(directory)
        else:  # a graph script's: with the graph, for TensorBoard's graph tab
            self.writer = tf.summary.FileWriter(directory, tf.get_default_graph())
        if not tags:
            return
        with tf.Graph().as_default() as graph:
            self.values = [tf.placeholder(tf.float32, [None]) for _ in tags]
            self.histogram_op = tf.summary.merge([tf.summary.histogram(tag, values)
                                                  for tag, values in zip(tags, self.values)])
        self.session = tf.Session(graph=graph)

    def scalars(self, step, values):
        values = [tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()]
        self.add(tf.Summary(value=values).SerializeToString(), step)

    def histograms(self, step, arrays):
        feed = {placeholder: np.ravel(array) for placeholder, array in zip(self.values, arrays)}
        self.add(self.session.run(self.histogram_op, feed), step)

    def add(self, summary, step):
        """One serialised Summary: the same records whichever writer, so compare.py reads both."""
        if self.writer:
            self.writer.add_summary(summary, step)
        else:
            with self.eager_writer.as_default():
                tensorflow.summary.experimental.write_raw_pb(summary, step=step)

    def close(self):
        if self.writer:
            self.writer.close()
        else:
            self.eager_writer.close()
        if self.session:
            self.session.close()


def weights_and_biases(values):
    """All the values of the variables training learns, in two rows: the weights (matrices and
    patches) and the biases (and offsets: every variable of one dimension)."""
    return (np.concatenate([np.ravel(v) for v in values if np.ndim(v) > 1] or [np.zeros(1)]),
            np.concatenate([np.ravel(v) for v in values if np.ndim(v) == 1] or [np.zeros(1)]))


def run_folder(args, what=None):
    """This run's own folder in --tensorboard DIR: script (or what, the lab bench's experiment
    and variant), seed and start time, e.g. DIR/mnist_2.1_five_layers_relu_lrdecay-seed0-20261203-075300.
    TensorBoard shows each folder as a run; two runs in one folder would mix their steps into one curve."""
    script = what or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    name = f"{script}-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, number = os.path.join(args.tensorboard, name), 1
    while os.path.exists(folder):  # the same script and seed started twice in one second
        number += 1
        folder = os.path.join(args.tensorboard, f"{name}-{number}")
    return folder


def tag_name(title):
    """A TensorBoard tag from a panel title: "Conv activations, batch max" -> conv_activations_batch_max."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


