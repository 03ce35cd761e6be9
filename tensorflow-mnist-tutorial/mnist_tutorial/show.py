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
import dataclasses
import os
import sys
import time

from . import startup  # noqa: F401  first: it imports TensorFlow, quietly
import numpy as np  # noqa: E402

from . import diagnosis
from . import in_notebook
from . import visualisation, where_shown
from .interrupts import Interrupted, StopBetweenSteps
from .mnistdata import UserError
from .panels import DRAW_SCRIPT, Panels
from .progress import Lines, print_header
from .record import Record, weights_and_biases  # noqa: F401  weights_and_biases: the twins' too
from .run_files import Files, Summaries, run_folder, tag_name, write_json
from .startup import AlreadySaid


class Show:
    """Everything shown of a run, fed with what its loop measures (see above). args: a script's
    flags (command_line.parse) or a Settings. mnist: .train (its length), .test (.images to draw,
    .labels: integers or one-hot) and .held_out ("test", "validation"). shapes: of the variables
    training learns, counted in the first line (None: no first line). panels: what panels 4 and 5
    spread. title: the run's name (the script's unless told). keep_training: a closed window or a
    failed picture is said and the loop goes on (LivePanels). training_lines: False prints test
    passes only. wait: False leaves a window at the end unwaited. drawing_share: the live picture's
    largest share of the loop's time (where_shown.Screen)."""

    def __init__(self, args, mnist, shapes, panels=("Weights", "Biases"), title=None, steps_per_epoch=None,
                 keep_training=False, training_lines=True, wait=True, drawing_share=where_shown.MAX_DRAWING_SHARE):
        self.args, self.mnist, self.held_out = args, mnist, mnist.held_out
        self.title = title or os.path.basename(sys.argv[0])
        self.keep_training, self.wait = keep_training, wait
        self.in_notebook = in_notebook.active()
        self.progress = self.panels = self.summaries = None
        self.step, self.stopped, self.finished = 0, None, False
        if self.in_notebook:  # a problem before finish() must not leave a bar running, a figure open
            in_notebook.once_after_the_cell(self.after_the_cell)
        # From here on Ctrl-C only asks, and the loop stops at its next step: also while the window
        # opens and the Session starts, before the loop's first step.
        self.interrupt = StopBetweenSteps(lambda: f"interrupted at step {self.step}").__enter__()
        self.record = Record(self.title, self.held_out, args.seed, args.batch_size)
        self.files = Files(self.title)
        if shapes is not None:
            print_header(self.title, args, len(mnist.train), len(mnist.test), self.held_out, shapes)
        steps_per_epoch = steps_per_epoch or len(mnist.train) / args.batch_size
        self.progress = (in_notebook.ProgressBar(self.title, args.iterations, steps_per_epoch, self.held_out)
                         if self.in_notebook else Lines(self.held_out, steps_per_epoch, training_lines))
        self.panels = Panels(args, self.title, self.held_out, panels, self.in_notebook, keep_training, drawing_share)
        self.watcher = diagnosis.Watcher(args.iterations or 0, self.held_out)
        self.summaries = (Summaries(run_folder(args, self.title.removesuffix(".py")), list(map(tag_name, panels)))
                          if args.tensorboard else None)

    # --- what the loop calls ----------------------------------------------------------------------

    def steps(self):
        """0, 1, ..., --iterations. Between two steps the live window is kept alive (and waits while
        paused); Ctrl-C or closing the window ends the loop there, and finish() says it in one line."""
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
        self.started = time.perf_counter()  # training's clock

    def next_step(self, i):  # step i is next: False when it must not run (Ctrl-C, the window closed)
        self.step = i
        return self.between_steps()

    def end(self):  # training is over, or stopped: its time, and what drawing took of it
        self.interrupt.restore()
        self.record.seconds = time.perf_counter() - self.started
        self.record.drawing_seconds = self.panels.drawing_s()

    def between_steps(self):
        if not self.panels.tick(self.step, until=lambda: self.interrupt.asked):
            self.stopped = f"the window was closed at step {self.step}: training stopped"
            return False
        if self.interrupt.asked:  # Ctrl-C, or the notebook's interrupt button
            self.stopped = f"interrupted at step {self.step}"
            return False
        return True

    def training(self, step, accuracy, loss, images, labels, probabilities, learning_rate=None):
        """Accuracy and loss on a training batch, the batch itself (images, labels: integers or
        one-hot) and the network's answers for it (probabilities, one row per image)."""
        self.progress.training(step, accuracy, loss, learning_rate)
        self.say(self.watcher.add_training(step, accuracy, loss))
        self.panels.training(step, accuracy, loss, images, as_integers(labels), np.argmax(probabilities, 1))
        if self.summaries:
            rate = {} if learning_rate is None else {"learning_rate": learning_rate}
            self.summaries.scalars(step, {"accuracy/training": accuracy, "loss/training": loss, **rate})

    def test(self, step, accuracy, loss, probabilities, weights, biases):
        """Accuracy and loss on all the held-out images (mnist.test), the network's answers for each
        (probabilities), and the values whose spread panels 4 and 5 show (weights and biases, or
        whatever the script named in panels)."""
        self.record.add_test(step, accuracy, loss, probabilities)
        self.progress.test(step, accuracy, loss)
        self.say(self.watcher.add_test(step, accuracy, loss))
        shown, test = visualisation.TEST_DIGITS, self.mnist.test
        digits = (test.images[:shown], as_integers(test.labels[:shown]), np.argmax(probabilities[:shown], 1))
        self.panels.test(step, accuracy, loss, digits, weights, biases, self.files)
        if self.summaries:
            self.summaries.scalars(step, {"accuracy/test": accuracy, "loss/test": loss})
            self.summaries.histograms(step, [weights, biases])

    def finish(self, values, save):
        """After the loop: the summary, the files asked for, the report of the mistakes; in a window,
        wait until it is closed. values are those of the variables training learnt; save(folder)
        writes the network as tested (savedmodel's format) for --save-model and the drawing pad
        (None: a network this Show does not save). A stopped loop raises Interrupted here, which the
        script's command line makes one line."""
        args, record, files = self.args, self.record, self.files
        self.finished = True
        self.interrupt.restore()  # the loop may have ended early, with a break
        model_folder = None
        try:
            self.progress.close()
            nothing_held_out = not len(self.mnist.test)  # LivePanels without validation data
            if self.stopped or not (record.tests or nothing_held_out):
                self.panels.abandon()
                if self.stopped:
                    raise Interrupted(self.stopped)
                raise UserError("the loop ended before any test pass: nothing to report")
            if record.tests:
                record.print_summary(*weights_and_biases(values))
                if args.results:
                    files.write(lambda: write_json(args.results, record.results()))
                # the last test pass's mistakes: printed, for --save-report and the window's key M
                report = record.mistakes(self.mnist.test.images, as_integers(self.mnist.test.labels))
                if args.save_report:
                    files.write(lambda: visualisation.save_report(report, self.held_out, args.save_report))
                self.panels.set_report(report, self.held_out)
                folder = self.panels.model_folder(args.save_model) if save else None
                model_folder = files.write(lambda: files.save_model(save, folder, args.save_model, DRAW_SCRIPT))
        finally:
            if self.summaries:
                self.summaries.close()
        self.panels.finish(args, files, model_folder, "go on" if self.keep_training else "exit", self.wait)
        if files.unwritten and not self.in_notebook:
            raise AlreadySaid(f"{len(files.unwritten)} of the files asked for could not be written")

    def after_the_cell(self):
        """In a notebook, after the cell that ran the script: if the loop never reached finish() (an
        error, a second interrupt), the bar is closed and the picture left where training stopped."""
        self.interrupt.restore()
        if not self.finished:
            self.finished = True
            for part in (self.progress, self.summaries):
                if part:
                    part.close()
            if self.panels:
                self.panels.abandon()

    def say(self, remarks):
        """What the watcher saw in the curves: a line, and a label on the chart."""
        for remark in remarks:
            print(f"note at step {remark.step}: {remark.text}", flush=True)
            self.panels.remark(remark)



@dataclasses.dataclass
class Settings:
    """What Show reads of a run, for a loop without the scripts' command line (LivePanels). A
    script's parsed flags (command_line.parse) carry the same names, with the meanings --help gives."""
    iterations: "int | None" = None  # steps in all; None: not known ahead, and the curves' axis grows
    batch_size: "int | None" = None
    seed: "int | None" = None
    headless: bool = False
    layout: str = "0"
    save_png: "str | None" = None
    save_report: "str | None" = None
    save_movie: "str | None" = None
    movie_fps: int = 10
    tensorboard: "str | None" = None
    results: "str | None" = None
    save_model: "str | None" = None


def as_integers(labels):
    """Labels as integers, from integers or one-hot rows."""
    labels = np.asarray(labels)
    return labels if labels.ndim == 1 else np.argmax(labels, 1)
