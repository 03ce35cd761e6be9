"""The lab bench: train an experiment's variants one after the other, on the same data, the same
seed and the same budget, show their curves overlaid as they grow, and end with a table and one
sentence computed from this run's numbers (experiments.py holds the experiments themselves).

    experiment = Experiment("depth", "...", variants=[Variant("1 x 32 sigmoid, SGD", model, sgd), ...],
                            findings=[Finding("1 x 32 sigmoid, SGD", "4 x 32 sigmoid, SGD", "test")])
    bench = Bench(args, experiment, mnist)
    for variant in experiment.variants:
        bench.train(variant)
    bench.finish()

Each variant is trained by Keras's fit; every so often (--tests-per-epoch) a callback measures the
network as it tests (dropout off, batch norm's averages) on the 10,000 test images and on 10,000
training images, and hands the numbers to the picture and the progress lines.
"""
import json
import math
import os
import re
import sys
import textwrap
import time

import command_line  # first: it imports TensorFlow, quietly
import keras
import numpy as np
import tensorflow as tf

import in_notebook
import mnistdata
import where_shown
from command_line import StopBetweenSteps, has_display, stop
from show import Summaries, run_folder

TRAIN_SAMPLE = 10000  # training images measured beside the test images, the same ones every time
PIXELS = {  # how the 0-255 bytes reach the network
    "0-1": "scaled to 0-1 (x / 255)",
    "0-255": "left as they are, 0-255",
    "inverted": "scaled and inverted (1 - x / 255): white background, dark strokes",
}


class Variant:
    """One line of an experiment: a name, the model (a function returning a fresh Keras model),
    the optimizer (a function returning a fresh one), and what it changes of the experiment's
    settings (batch_size, epochs, pixels)."""

    def __init__(self, name, model, optimizer, batch_size=None, epochs=None, pixels=None):
        self.name, self.model, self.optimizer = name, model, optimizer
        self.batch_size, self.epochs, self.pixels = batch_size, epochs, pixels


class Finding:
    """What a primer reports, as a comparison this run can check: `better` beats `worse` on
    measure: "test" (final test accuracy, higher), "gap" (training minus test accuracy, smaller:
    it overfits less) or "reach" (epochs until the test accuracy first reaches the experiment's
    `reach`, fewer; never reaching it is worst)."""

    def __init__(self, better, worse, measure="test"):
        if measure not in ("test", "gap", "reach"):
            raise ValueError(f"unknown measure {measure}")
        self.better, self.worse, self.measure = better, worse, measure


class Experiment:
    """An experiment: its name, one line for --help, the primer it follows and what that reports
    (primer, figures: {variant: the primer's test accuracy}), the settings every variant shares
    unless it says otherwise (epochs, batch_size, pixels, train_images: the first N training images
    only), the primer's own epochs when they differ, the variants and the findings."""

    def __init__(self, name, summary, primer, variants, findings, epochs, batch_size, pixels="0-1",
                 train_images=None, primer_epochs=None, figures=None, reach=None):
        self.name, self.summary, self.primer = name, summary, primer
        self.variants, self.findings = variants, findings
        self.epochs, self.batch_size, self.pixels = epochs, batch_size, pixels
        self.primer_epochs, self.figures, self.reach = primer_epochs, figures or {}, reach
        self.train_images = train_images
        names = [variant.name for variant in variants]
        for finding in findings:
            for name in (finding.better, finding.worse):
                if name not in names:
                    raise ValueError(f"{self.name}: finding about {name!r}, which is not a variant")


# --- the data ----------------------------------------------------------------------------------

def load_mnist(args):
    """MNIST as bytes, or one line and exit 1 when it cannot be had."""
    try:
        return mnistdata.load(args.data_dir, one_hot=True, pixels_as_bytes=True)
    except mnistdata.UserError as e:
        stop(f"error: {e}")
    except KeyboardInterrupt:
        stop("interrupted while MNIST was fetched")


def as_pixels(images, pixels):
    """uint8 images (numpy or a tensor) as the float32 a variant is fed."""
    images = tf.cast(images, tf.float32)
    if pixels == "0-255":
        return images
    if pixels == "inverted":
        return 1.0 - images / 255.0
    return images / 255.0


# --- the table and the sentence ----------------------------------------------------------------

def ranked(rows):
    """The rows best first: by final test accuracy, then by best test accuracy; ties keep order."""
    return sorted(rows, key=lambda row: (-row["final_test"], -row["best_test"]))


def score(row, measure):
    """A number where higher is better, for a finding's measure."""
    if measure == "test":
        return row["final_test"]
    if measure == "gap":
        return -row["gap"]
    reached = row.get("reached")
    return -math.inf if reached is None else -reached


def percent(accuracy):
    return f"{100 * accuracy:.2f}%"


def describe(row, measure, reach):
    if measure == "test":
        return percent(row["final_test"])
    if measure == "gap":
        return f"a gap of {100 * row['gap']:.2f} points"
    reached = row.get("reached")
    return (f"{percent(reach)} after {reached:.2f} epochs" if reached is not None
            else f"{percent(reach)} never reached")


WHAT = {"test": "scored higher than", "gap": "overfitted less than", "reach": "learnt faster than"}


def sentence(rows, findings, reach=None):
    """One sentence of what the table shows: the variant it ranks first, then each of the primer's
    findings as this run found it: "as the primer found" where the numbers agree, "unlike the
    primer" where they do not."""
    by_name = {row["variant"]: row for row in rows}
    first = ranked(rows)[0]
    text = f"{first['variant']} ranks first, at {percent(first['final_test'])} on the test images"
    agreed, contradicted = [], []
    for finding in findings:
        better, worse = by_name.get(finding.better), by_name.get(finding.worse)
        if better is None or worse is None:  # stopped before both were trained
            continue
        claim = f"{finding.better} {WHAT[finding.measure]} {finding.worse}"
        numbers = f"{describe(better, finding.measure, reach)} against {describe(worse, finding.measure, reach)}"
        if score(better, finding.measure) > score(worse, finding.measure):
            agreed.append(f"{claim} ({numbers})")
        else:
            contradicted.append(f"the primer found that {claim}, but here it did not ({numbers})")
    if agreed:
        text += "; as the primer found, " + "; ".join(agreed)
    if contradicted:
        text += "; " + "; ".join(contradicted)
    return text + "."


def table(rows, reach=None):
    """The ending table, as lines of text."""
    ranks = {id(row): rank for rank, row in enumerate(ranked(rows), 1)}
    width = max([len("variant")] + [len(row["variant"]) for row in rows])
    header = (f"{'rank':>4}  {'variant':<{width}}  {'final test':>10}  {'best test':>9}  {'final train':>11}  "
              f"{'gap':>6}  {'epochs':>6}  {'steps':>6}  {'seconds':>7}")
    if reach:
        header += f"  {'epochs to ' + percent(reach):>16}"
    lines = [header]
    for row in rows:
        line = (f"{ranks[id(row)]:>4}  {row['variant']:<{width}}  {percent(row['final_test']):>10}  "
                f"{percent(row['best_test']):>9}  {percent(row['final_train']):>11}  "
                f"{100 * row['gap']:>6.2f}  {row['epochs']:>6.2f}  {row['steps']:>6}  {row['seconds']:>7.1f}")
        if reach:
            reached = row.get("reached")
            line += f"  {'never' if reached is None else f'{reached:.2f}':>16}"
        lines.append(line)
    return lines


# --- training ----------------------------------------------------------------------------------

def chunk_steps(total, target):
    """Steps between two measurements: the divisor of total nearest to target (by ratio), so that
    the run ends on a measurement. An epoch's steps divide the total, so at worst that is once an
    epoch."""
    divisors = [d for d in range(1, math.isqrt(total) + 1) if total % d == 0]
    divisors += [total // d for d in divisors]
    return min(divisors, key=lambda d: (abs(math.log(d / max(target, 1))), d))


def steps_per_call(chunk, most=25):
    """Steps Keras runs per call: the largest divisor of chunk up to `most`, so that the window and
    Ctrl-C are answered between calls."""
    return max(d for d in range(1, min(chunk, most) + 1) if chunk % d == 0)


class Bench(where_shown.Screen):
    """Trains the variants one after the other and shows them (see the module's docstring)."""

    def __init__(self, args, experiment, data):
        self.args, self.experiment = args, experiment
        self.script = os.path.basename(sys.argv[0])
        self.in_notebook = in_notebook.active()
        self.rows, self.curves = [], []  # one row and one curve per variant trained
        self.interrupt = StopBetweenSteps(lambda: self.where()).__enter__()
        self.current, self.epoch = None, 0.0
        count = experiment.train_images or len(data.train_images)
        self.train_images = data.train_images[:count]
        self.train_labels = data.train_labels[:count]
        self.test_images, self.test_labels = data.test_images, data.test_labels
        self.sample = np.arange(min(TRAIN_SAMPLE, count))  # the training images measured
        print(f"{self.script} {experiment.name}: {len(experiment.variants)} variants, seed {args.seed}; "
              f"{count} training and {len(self.test_images)} test images", flush=True)
        self.open_picture()

    def where(self):
        if self.current is None:
            return "interrupted"
        return f"interrupted in {self.current.name} at epoch {self.epoch:.2f}"

    def settings(self, variant):
        """(epochs, batch size, pixels) of a variant: its own, else the experiment's."""
        experiment = self.experiment
        batch_size = min(variant.batch_size or experiment.batch_size, len(self.train_images))
        return variant.epochs or experiment.epochs, batch_size, variant.pixels or experiment.pixels

    # --- one variant --------------------------------------------------------------------------

    def train(self, variant):
        args = self.args
        epochs, batch_size, pixels = self.settings(variant)
        self.current, self.epoch = variant, 0.0
        keras.utils.set_random_seed(args.seed)  # every variant starts from the same seed
        model = variant.model()
        count = len(self.train_images)
        steps_per_epoch = count // batch_size  # whole batches: an epoch's last, partial batch is left out
        total = round(epochs * steps_per_epoch)
        chunk = chunk_steps(total, steps_per_epoch / args.tests_per_epoch)
        calls = steps_per_call(chunk)
        model.compile(optimizer=variant.optimizer(), loss="categorical_crossentropy", steps_per_execution=calls)

        images, labels = tf.constant(self.train_images), tf.constant(self.train_labels)
        order = (tf.data.Dataset.range(count).shuffle(count, seed=args.seed, reshuffle_each_iteration=True)
                 .batch(batch_size, drop_remainder=True).repeat())
        dataset = order.map(lambda i: (as_pixels(tf.gather(images, i), pixels), tf.gather(labels, i)))
        measure = Measure(model, pixels, self)
        curve = {"variant": variant.name, "epoch": [], "test_accuracy": [], "test_loss": [],
                 "train_accuracy": [], "train_loss": []}
        self.curves.append(curve)
        summaries = Summaries(self.run_folder(variant)) if args.tensorboard else None
        started = time.perf_counter()
        callback = Progress(self, measure, curve, chunk, calls, steps_per_epoch, summaries)
        self.start_variant(variant, epochs, batch_size, pixels, total)
        try:
            callback.measure(0)
            model.fit(dataset, epochs=total // chunk, steps_per_epoch=chunk, callbacks=[callback],
                      shuffle=False, verbose=0)  # the dataset shuffles, with the seed
        finally:
            if summaries:
                summaries.close()
        if callback.stopped:
            self.abandon()
            stop(callback.stopped)
        seconds = time.perf_counter() - started - callback.measuring_s
        self.rows.append(self.row(variant, curve, callback.step, seconds, epochs, batch_size, pixels))
        if self.in_notebook:
            row = self.rows[-1]
            print(f"{variant.name}: test {percent(row['final_test'])} (best {percent(row['best_test'])}), "
                  f"training {percent(row['final_train'])}, {row['steps']} steps in {seconds:.1f} s", flush=True)
        self.current = None

    def row(self, variant, curve, steps, seconds, epochs, batch_size, pixels):
        final_test, final_train = curve["test_accuracy"][-1], curve["train_accuracy"][-1]
        row = {"variant": variant.name, "final_test": final_test, "best_test": max(curve["test_accuracy"]),
               "final_train": final_train, "gap": round(final_train - final_test, 4),
               "epochs": curve["epoch"][-1], "steps": steps, "seconds": seconds,
               "batch_size": batch_size, "pixels": pixels, "primer": self.experiment.figures.get(variant.name)}
        if self.experiment.reach:
            row["reached"] = next((epoch for epoch, accuracy in zip(curve["epoch"], curve["test_accuracy"])
                                   if accuracy >= self.experiment.reach), None)
        return row

    def run_folder(self, variant):
        """--tensorboard DIR: one run folder per variant, named after the experiment, the variant,
        the seed and the time, so compare.py and TensorBoard overlay them."""
        slug = re.sub(r"[^a-z0-9.]+", "_", variant.name.lower()).strip("_")
        return run_folder(self.args, f"{self.experiment.name}-{slug}")

    # --- the progress lines and the picture ---------------------------------------------------

    def start_variant(self, variant, epochs, batch_size, pixels, total):
        print(f"-- {variant.name}: {epochs:g} epoch{'s' if epochs != 1 else ''} of batches of {batch_size} ({total} steps), "
              f"pixels {pixels}", flush=True)
        if self.figure is not None:
            line, = self.accuracy_axes.plot([], [], lw=1.6, label=variant.name)
            train, = self.accuracy_axes.plot([], [], lw=0.9, ls=":", color=line.get_color())
            loss, = self.loss_axes.plot([], [], lw=1.6, color=line.get_color(), label=variant.name)
            self.lines.append((line, train, loss))
            self.accuracy_axes.legend(loc="best", fontsize=8)
            self.title(f"training {variant.name} ({len(self.rows) + 1} of {len(self.experiment.variants)})")

    def measured(self, curve):
        """A new measurement of the variant being trained: a progress line (in a terminal; a
        notebook's cell gets one line per variant, at its end), the curves."""
        self.changed = True
        if self.in_notebook:
            return
        print(f"{curve['variant']:<28}  epoch {curve['epoch'][-1]:6.2f}  test {curve['test_accuracy'][-1]:.4f} "
              f"loss {curve['test_loss'][-1]:.4f}  train {curve['train_accuracy'][-1]:.4f} "
              f"loss {curve['train_loss'][-1]:.4f}", flush=True)

    def open_picture(self):
        """The live window, a notebook cell's picture, or off-screen for --save-png; or none."""
        args = self.args
        self.figure, self.plt, self.show, self.live = None, None, None, False
        self.movie, self.report, self.lines, self.changed = None, None, [], False
        show = None
        if not args.headless:
            if self.in_notebook:
                show = where_shown.notebook_show()
            elif not has_display():
                print("No display found (DISPLAY is not set): running headless, text only.", flush=True)
            else:
                show = "window"
        if show is None and not args.save_png:
            return
        try:
            self.figure, self.plt = where_shown.open_figure(show)
        except where_shown.NoWindow as e:
            print(f"{e}: running headless, text only.", flush=True)
            show = None
            if not args.save_png:
                return
            self.figure, self.plt = where_shown.open_figure(None)
        self.show, self.live = show, show is not None
        self.accuracy_axes, self.loss_axes = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.22, top=0.88, wspace=0.2)
        self.accuracy_axes.set_title("Accuracy: test (solid), training (dotted)", fontsize=10)
        self.loss_axes.set_title("Test loss (cross-entropy)", fontsize=10)
        for ax in (self.accuracy_axes, self.loss_axes):
            ax.set_xlabel("epochs")
            ax.grid(alpha=0.3)
        self.loss_axes.set_yscale("log")  # from the first, untrained losses down to the last
        self.footer = self.figure.text(0.06, 0.02, "", fontsize=9, va="bottom")
        self.title("starting")
        self.start_showing(f"{self.script} {self.experiment.name}")

    def title(self, what):
        self.figure.suptitle(f"{self.script} {self.experiment.name}, seed {self.args.seed}: {what}", fontsize=11)

    def update_artists(self):
        for curve, (line, train, loss) in zip(self.curves, self.lines):
            line.set_data(curve["epoch"], curve["test_accuracy"])
            train.set_data(curve["epoch"], curve["train_accuracy"])
            loss.set_data(curve["epoch"], curve["test_loss"])
        for ax in (self.accuracy_axes, self.loss_axes):
            ax.relim()
            ax.autoscale_view()
        self.changed = False

    def on_key(self, event):
        if event.key == " ":
            self.paused = not self.paused
            self.title(("paused (Space resumes): " if self.paused else "training ")
                       + (self.current.name if self.current else ""))
            self.figure.canvas.draw_idle()

    def report_figure(self):
        return None

    def tick(self, until=lambda: False):
        return super().tick(until) if self.live else True

    # --- the end ------------------------------------------------------------------------------

    def finish(self):
        """The table, the sentence, the files asked for; in a window, wait until it is closed."""
        self.interrupt.restore()
        experiment = self.experiment
        said = sentence(self.rows, experiment.findings, experiment.reach)
        print()
        print("\n".join(table(self.rows, experiment.reach)))
        print(textwrap.fill(said, command_line.help_width()), flush=True)
        if self.figure is not None:
            self.title("done")
            self.footer.set_text(textwrap.fill(said, 170))
        if self.args.save_png:
            self.update_artists()
            with mnistdata.atomic_file(self.args.save_png) as f:
                f.write(where_shown.png_bytes(self.figure))
            print(f"picture written to {self.args.save_png}", flush=True)
        if self.args.results:
            self.write_results(said)
            print(f"results written to {self.args.results}", flush=True)
        if self.live:
            self.draw()
            self.stop_events()
            if self.show == "window" and not self.closed:
                print("The experiment is over: close the window to exit.", flush=True)
                self.plt.show(block=True)
        return said

    def write_results(self, said):
        args, experiment = self.args, self.experiment
        results = {"experiment": experiment.name, "seed": args.seed, "quick": bool(args.quick),
                   "epochs": experiment.epochs, "train_images": len(self.train_images),
                   "test_images": len(self.test_images), "primer": experiment.primer,
                   "primer_epochs": experiment.primer_epochs or experiment.epochs,
                   "reach": experiment.reach, "sentence": said,
                   "findings": [vars(finding) for finding in experiment.findings],
                   "variants": [dict(row, curve={key: values for key, values in curve.items() if key != "variant"})
                                for row, curve in zip(self.rows, self.curves)]}
        with mnistdata.atomic_file(args.results) as f:
            f.write(json.dumps(results, indent=1).encode())


class Measure:
    """The network as it tests, on the test images and on the sample of training images."""

    def __init__(self, model, pixels, bench):
        test = as_pixels(bench.test_images, pixels)
        train = as_pixels(bench.train_images[bench.sample], pixels)
        self.sets = [(test, tf.constant(bench.test_labels)),
                     (train, tf.constant(bench.train_labels[bench.sample]))]

        @tf.function
        def accuracy_and_loss(images, labels):
            probabilities = model(images, training=False)
            right = tf.equal(tf.argmax(probabilities, 1), tf.argmax(labels, 1))
            return (tf.reduce_mean(tf.cast(right, tf.float32)),
                    tf.reduce_mean(keras.losses.categorical_crossentropy(labels, probabilities)))
        self.accuracy_and_loss = accuracy_and_loss

    def __call__(self):
        """(test accuracy, test loss, training accuracy, training loss)."""
        (test_accuracy, test_loss), (train_accuracy, train_loss) = [
            self.accuracy_and_loss(images, labels) for images, labels in self.sets]
        return (round(float(test_accuracy), 4), float(test_loss), round(float(train_accuracy), 4),
                float(train_loss))


class Progress(keras.callbacks.Callback):
    """Between Keras's calls: the window and Ctrl-C; after each chunk of steps: a measurement."""

    def __init__(self, bench, measure, curve, chunk, calls, steps_per_epoch, summaries):
        super().__init__()
        self.bench, self.measuring, self.curve, self.chunk = bench, measure, curve, chunk
        self.calls, self.steps_per_epoch, self.summaries = calls, steps_per_epoch, summaries
        self.step, self.stopped, self.measuring_s = 0, None, 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.step += self.calls
        bench = self.bench
        bench.epoch = self.step / self.steps_per_epoch
        if self.step % self.chunk == 0:
            self.measure(self.step)
        if not bench.tick(until=lambda: bench.interrupt.asked):
            self.stopped = f"the window was closed in {bench.current.name}: training stopped"
        elif bench.interrupt.asked:
            self.stopped = bench.where()
        if self.stopped:
            self.model.stop_training = True

    def measure(self, step):
        started = time.perf_counter()
        test_accuracy, test_loss, train_accuracy, train_loss = self.measuring()
        epoch = round(step / self.steps_per_epoch, 4)
        for key, value in (("epoch", epoch), ("test_accuracy", test_accuracy), ("test_loss", test_loss),
                           ("train_accuracy", train_accuracy), ("train_loss", train_loss)):
            self.curve[key].append(value)
        if self.summaries:
            self.summaries.scalars(step, {"accuracy/test": test_accuracy, "loss/test": test_loss,
                                          "accuracy/train": train_accuracy, "loss/train": train_loss})
        self.bench.measured(self.curve)
        self.measuring_s += time.perf_counter() - started
