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
import math
import os
import re
import sys
import textwrap
import time

from . import startup  # noqa: F401  first: it imports TensorFlow, quietly
from . import command_line
import keras
import numpy as np
import tensorflow as tf

from . import in_notebook
from . import where_shown
from .experiment import percent, sentence, table
from .interrupts import Interrupted, StopBetweenSteps
from .keras_training import without_autotune
from .overlay import Overlay
from .run_files import Summaries, run_folder, write_json

TRAIN_SAMPLE = 10000  # training images measured beside the test images, the same ones every time
# --- the data ----------------------------------------------------------------------------------

def as_pixels(images, pixels):
    """uint8 images (numpy or a tensor) as the float32 a variant is fed."""
    images = tf.cast(images, tf.float32)
    if pixels == "0-255":
        return images
    if pixels == "inverted":
        return 1.0 - images / 255.0
    return images / 255.0


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


class Bench:
    """Trains the variants one after the other and shows them (see the module's docstring)."""

    def __init__(self, args, experiment, data):
        self.args, self.experiment = args, experiment
        self.script = os.path.basename(sys.argv[0])
        self.in_notebook = in_notebook.active()
        self.rows, self.curves = [], []  # one row and one curve per variant trained
        self.interrupt = StopBetweenSteps(lambda: self.where()).__enter__()
        self.current, self.epoch = None, 0.0
        count = min(experiment.train_images or len(data.train_images), len(data.train_images))
        self.train_images = data.train_images[:count]
        self.train_labels = data.train_labels[:count]
        self.test_images, self.test_labels = data.test_images, data.test_labels
        self.sample = np.arange(min(TRAIN_SAMPLE, count))  # the training images measured
        print(f"{self.script} {experiment.name}: {len(experiment.variants)} variants, seed {args.seed}; "
              f"{count} training and {len(self.test_images)} test images", flush=True)
        self.overlay = self.open_picture()

    def where(self):
        if self.current is None:
            return "interrupted"
        return f"interrupted in {self.current.name} at epoch {self.epoch:.2f}"

    def settings(self, variant):
        """(epochs, batch size, pixels) of a variant: its own, else the experiment's."""
        experiment = self.experiment
        batch_size = min(variant.batch_size or experiment.batch_size, len(self.train_images))
        return variant.epochs or experiment.epochs, batch_size, variant.pixels or experiment.pixels

    def open_picture(self):
        """The curves, live where they can be shown (or off-screen for --save-png), or None."""
        args, title = self.args, f"{self.script} {self.experiment.name}, seed {self.args.seed}"
        show = where_shown.choose(args.headless, self.in_notebook)
        try:
            screen = where_shown.Screen(show, title) if show or args.save_png else None
        except where_shown.NoWindow as e:
            print(f"{e}: running headless, text only.", flush=True)
            screen = where_shown.Screen(None, title) if args.save_png else None
        return Overlay(screen, title) if screen else None

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
        dataset = without_autotune(order.map(lambda i: (as_pixels(tf.gather(images, i), pixels),
                                                        tf.gather(labels, i))))
        measure = Measure(model, pixels, self)
        curve = {"variant": variant.name, "epoch": [], "test_accuracy": [], "test_loss": [],
                 "train_accuracy": [], "train_loss": []}
        self.curves.append(curve)
        summaries = Summaries(self.run_folder(variant)) if args.tensorboard else None
        started = time.perf_counter()
        callback = Progress(self, measure, curve, chunk, calls, steps_per_epoch, summaries)
        print(f"-- {variant.name}: {epochs:g} epoch{'s' if epochs != 1 else ''} of batches of {batch_size} "
              f"({total} steps), pixels {pixels}", flush=True)
        if self.overlay:
            self.overlay.add_variant(variant.name, curve, len(self.rows) + 1, len(self.experiment.variants))
        try:
            callback.measure(0)
            model.fit(dataset, epochs=total // chunk, steps_per_epoch=chunk, callbacks=[callback],
                      shuffle=False, verbose=0)  # the dataset shuffles, with the seed
        finally:
            if summaries:
                summaries.close()
        if callback.stopped:
            if self.overlay:
                self.overlay.screen.abandon()
            raise Interrupted(callback.stopped)
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

    def measured(self, curve):
        """A new measurement of the variant being trained: a progress line (in a terminal; a
        notebook's cell gets one line per variant, at its end)."""
        if not self.in_notebook:
            print(f"{curve['variant']:<28}  epoch {curve['epoch'][-1]:6.2f}  test {curve['test_accuracy'][-1]:.4f} "
                  f"loss {curve['test_loss'][-1]:.4f}  train {curve['train_accuracy'][-1]:.4f} "
                  f"loss {curve['train_loss'][-1]:.4f}", flush=True)

    def tick(self):
        """Between two of Keras's calls: the picture's frame and keys; False once its window is closed."""
        if self.overlay and self.overlay.screen.live:
            return self.overlay.screen.tick(until=lambda: self.interrupt.asked)
        return True

    # --- the end ------------------------------------------------------------------------------

    def finish(self):
        """The table, the sentence, the files asked for; in a window, wait until it is closed."""
        self.interrupt.restore()
        experiment = self.experiment
        said = sentence(self.rows, experiment.findings, experiment.reach)
        print()
        print("\n".join(table(self.rows, experiment.reach)))
        print(textwrap.fill(said, command_line.help_width()), flush=True)
        if self.args.results:
            self.write_results(said)
            print(f"results written to {self.args.results}", flush=True)
        if self.overlay:
            self.overlay.finish(said, self.args.save_png)
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
        write_json(args.results, results)


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
        if not bench.tick():
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
