"""The lab bench: the primers' experiments, one command each, measured against what they report.

    python3 experiments.py depth                 # 1-4 layers of 32 sigmoids with SGD, then ReLU and Adam
    python3 experiments.py batch-size --quick    # under a minute: a first look
    python3 experiments.py overfitting --epochs 100 --save-png overfitting.png --results overfitting.json

Each experiment trains its variants one after the other (the same data, seed and budget), shows
their curves overlaid as they grow (a window, a notebook cell, or progress lines), and ends with a
table (final and best test accuracy, final training accuracy, the gap between them, epochs, steps,
seconds) and one sentence computed from this run's numbers: where they contradict the primer, the
sentence says so. The primers are in the project's reference texts:
  architectures: "MNIST digits with different neural network architectures" (dense networks,
                 sigmoid, SGD, 5 epochs of batches of 128, the pixels left at 0-255)
  cookbook:      "Keras deep learning cookbook: building a deep feedforward network" (one hidden
                 layer of 1000 ReLUs, Adam, 0-1 pixels; runs of 10 to 500 epochs)
In this file a variant is one line: a name, a Keras model, an optimizer, and what it changes.
"""
import argparse
import os
import sys
import textwrap

from mnist_tutorial import startup  # noqa: F401  first: it imports TensorFlow, quietly
from mnist_tutorial import command_line
import keras
from keras import layers, optimizers
from keras.regularizers import L2

from mnist_tutorial import keras_training
from mnist_tutorial import lab_bench
from mnist_tutorial import data
from mnist_tutorial.experiment import Experiment, Finding, Variant


def dense(*hidden, output_regularizer=None):
    """A network for 28x28 images: Flatten, the hidden layers given, then 10 softmax neurons."""
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), *hidden,
                             layers.Dense(10, activation="softmax", kernel_regularizer=output_regularizer)])


def sgd():
    return optimizers.SGD(0.01)  # Keras's default learning rate, as the primers use it


def adam(learning_rate=0.001):
    return optimizers.Adam(learning_rate)  # Keras's default learning rate unless given


# --- the architectures primer: depth and width ------------------------------------------------

def depth(quick, epochs):
    """1 to 4 hidden layers of 32 sigmoids with SGD (the primer's 0.888, 0.767, 0.438, 0.114), then
    the same depths with ReLU and Adam, the codelab's cure. The primer's settings: 5 epochs of
    batches of 128, pixels 0-255. --quick: 2 epochs."""
    sigmoids = [Variant(f"{n} x 32 sigmoid, SGD", lambda n=n: dense(*[layers.Dense(32, "sigmoid") for _ in range(n)]), sgd)
                for n in (1, 2, 3, 4)]
    relus = [Variant(f"{n} x 32 ReLU, Adam", lambda n=n: dense(*[layers.Dense(32, "relu") for _ in range(n)]), adam)
             for n in (1, 2, 3, 4)]
    return Experiment(
        "depth", "hidden layers of 32: 1-4 sigmoid with SGD, then ReLU with Adam",
        "architectures", sigmoids + relus,
        findings=[Finding("1 x 32 sigmoid, SGD", "2 x 32 sigmoid, SGD"),
                  Finding("2 x 32 sigmoid, SGD", "3 x 32 sigmoid, SGD"),
                  Finding("3 x 32 sigmoid, SGD", "4 x 32 sigmoid, SGD"),
                  Finding("4 x 32 ReLU, Adam", "4 x 32 sigmoid, SGD")],
        epochs=epochs or (2 if quick else 5), batch_size=128, pixels="0-255", primer_epochs=5,
        figures={"1 x 32 sigmoid, SGD": 0.888, "2 x 32 sigmoid, SGD": 0.767, "3 x 32 sigmoid, SGD": 0.438,
                 "4 x 32 sigmoid, SGD": 0.114})


def width(quick, epochs):
    """One hidden layer of 32 to 2048 sigmoids with SGD (the primer's 0.886 to 0.950). The primer's
    settings: 5 epochs of batches of 128, pixels 0-255. --quick: 1 epoch, 4 widths."""
    widths = (32, 128, 512, 2048) if quick else (32, 64, 128, 256, 512, 2048)
    return Experiment(
        "width", "one hidden layer of 32 to 2048 sigmoids, SGD",
        "architectures",
        [Variant(f"{n} sigmoid", lambda n=n: dense(layers.Dense(n, "sigmoid")), sgd) for n in widths],
        findings=[Finding("128 sigmoid", "32 sigmoid"), Finding("512 sigmoid", "128 sigmoid"),
                  Finding("2048 sigmoid", "512 sigmoid")],
        epochs=epochs or (1 if quick else 5), batch_size=128, pixels="0-255", primer_epochs=5,
        figures={"32 sigmoid": 0.886, "64 sigmoid": 0.904, "128 sigmoid": 0.916, "256 sigmoid": 0.926,
                 "512 sigmoid": 0.934, "2048 sigmoid": 0.950})


# --- the cookbook: one hidden layer of 1000 ReLUs, Adam ----------------------------------------

def relu_1000(*after, regularizer=None):
    """The cookbook's network: 1000 ReLUs (then what `after` adds), 10 softmax neurons."""
    return dense(layers.Dense(1000, "relu", kernel_regularizer=regularizer), *after,
                 output_regularizer=regularizer)


def input_scaling(quick, epochs):
    """Pixels left at 0-255 against scaled to 0-1 (the primer's about 97% and 98.25%, after 500
    epochs). Batches of 32; 5 epochs here, where the difference already shows; --epochs 500 is the
    primer's run. --quick: 1 epoch of 20,000 images."""
    return Experiment(
        "input-scaling", "pixels 0-255 against 0-1, 1000 ReLUs, Adam",
        "cookbook",
        [Variant("pixels 0-255", relu_1000, adam, pixels="0-255"),
         Variant("pixels 0-1", relu_1000, adam, pixels="0-1")],
        findings=[Finding("pixels 0-1", "pixels 0-255")],
        epochs=epochs or (1 if quick else 5), batch_size=32, train_images=20000 if quick else None,
        primer_epochs=500, figures={"pixels 0-255": 0.97, "pixels 0-1": 0.9825})


def inverted(quick, epochs):
    """Inputs that are mostly non-zero: digits inverted to dark strokes on white (the primer's about
    97%, reached more slowly) against the usual mostly-zero ones (about 98%). The primer's
    settings: 10 epochs of batches of 32. --quick: 1 epoch of 20,000 images."""
    return Experiment(
        "inverted", "mostly non-zero inputs (inverted digits) against mostly zero",
        "cookbook",
        [Variant("mostly zero (0-1)", relu_1000, adam, pixels="0-1"),
         Variant("mostly non-zero (inverted)", relu_1000, adam, pixels="inverted")],
        findings=[Finding("mostly zero (0-1)", "mostly non-zero (inverted)"),
                  Finding("mostly zero (0-1)", "mostly non-zero (inverted)", "reach")],
        epochs=epochs or (1 if quick else 10), batch_size=32, train_images=20000 if quick else None,
        primer_epochs=10, reach=0.97, figures={"mostly zero (0-1)": 0.98, "mostly non-zero (inverted)": 0.97})


def batch_size(quick, epochs):
    """Batches of 32 against 30,000 (the primer's: the large batch reaches 98% many epochs later),
    with 1024 between them. The primer's settings: 10 epochs. --quick: 1 epoch of 20,000 images,
    the largest batch 10,000."""
    largest = 10000 if quick else 30000
    return Experiment(
        "batch-size", f"batches of 32, 1024 and {largest:,} images, 1000 ReLUs, Adam",
        "cookbook",
        [Variant("batch 32", relu_1000, adam, batch_size=32),
         Variant("batch 1024", relu_1000, adam, batch_size=1024),
         Variant(f"batch {largest}", relu_1000, adam, batch_size=largest)],
        findings=[Finding("batch 32", f"batch {largest}", "reach"), Finding("batch 32", f"batch {largest}")],
        epochs=epochs or (1 if quick else 10), batch_size=32, train_images=20000 if quick else None,
        primer_epochs=10, reach=0.98 if not quick else 0.9, figures={"batch 32": 0.98})


def learning_rate(quick, epochs):
    """Adam's learning rate from 0.0001 to 0.1 (the primer's: about 90% at 0.01 after 500 epochs,
    and a loss that stops falling at 0.1). Batches of 1024; 10 epochs here, --epochs 500 is the
    primer's run. --quick: 2 epochs of 20,000 images."""
    rates = (0.0001, 0.001, 0.01, 0.1)
    return Experiment(
        "learning-rate", "Adam's learning rate 0.0001 to 0.1, 1000 ReLUs",
        "cookbook",
        [Variant(f"Adam {rate:g}", relu_1000, lambda rate=rate: adam(rate)) for rate in rates],
        findings=[Finding("Adam 0.001", "Adam 0.01"), Finding("Adam 0.01", "Adam 0.1")],
        epochs=epochs or (2 if quick else 10), batch_size=1024, train_images=20000 if quick else None,
        primer_epochs=500, figures={"Adam 0.01": 0.90})


def optimizer(quick, epochs):
    """SGD against Adam (the primer's: SGD reaches about 98% after 100 epochs, more slowly than
    Adam), with SGD with momentum and RMSprop beside them. Batches of 32; 5 epochs here, --epochs
    100 is the primer's run. --quick: 1 epoch of 20,000 images."""
    return Experiment(
        "optimizer", "SGD, SGD with momentum, RMSprop and Adam, 1000 ReLUs",
        "cookbook",
        [Variant("SGD", relu_1000, sgd),
         Variant("SGD, momentum 0.9", relu_1000, lambda: optimizers.SGD(0.01, momentum=0.9)),
         Variant("RMSprop", relu_1000, lambda: optimizers.RMSprop(0.001)),
         Variant("Adam", relu_1000, adam)],
        findings=[Finding("Adam", "SGD", "reach"), Finding("Adam", "SGD")],
        epochs=epochs or (1 if quick else 5), batch_size=32, train_images=20000 if quick else None,
        primer_epochs=100, reach=0.97 if not quick else 0.9, figures={"SGD": 0.98})


def overfitting(quick, epochs):
    """The same network trained 5 epochs and much longer (the primer's: 97.59% training and 97.1%
    test after 5 epochs, 100% and 98.28% after 100): the gap between training and test grows.
    Batches of 32; the long run is 20 epochs here, --epochs 100 is the primer's. --quick: 1 and
    4 epochs of 10,000 images."""
    short, long = (1, 4) if quick else (5, 20)
    long = epochs or long
    name = {n: f"{n} epoch{'s' if n != 1 else ''}" for n in (short, long)}
    return Experiment(
        "overfitting", "the same network after 5 epochs and after many, 1000 ReLUs, Adam",
        "cookbook",
        [Variant(name[short], relu_1000, adam, epochs=short),
         Variant(name[long], relu_1000, adam, epochs=long)],
        findings=[Finding(name[long], name[short]), Finding(name[short], name[long], "gap")],
        epochs=long, batch_size=32, train_images=10000 if quick else None, primer_epochs=100,
        figures={"5 epochs": 0.971, "100 epochs": 0.9828})


def l2(quick, epochs):
    """L2 regularisation of both layers' weights, 0.0001 and 0.1 (the primer's 0.1: training no
    longer near 100%, test about 98%, after 500 epochs), against none. Batches of 1024; 20 epochs
    here, --epochs 500 is the primer's run. --quick: 3 epochs of 10,000 images."""
    return Experiment(
        "l2", "L2 regularisation 0, 0.0001 and 0.1, 1000 ReLUs, Adam",
        "cookbook",
        [Variant("no L2", relu_1000, adam),
         Variant("L2 0.0001", lambda: relu_1000(regularizer=L2(0.0001)), adam),
         Variant("L2 0.1", lambda: relu_1000(regularizer=L2(0.1)), adam)],
        findings=[Finding("L2 0.1", "no L2", "gap")],
        epochs=epochs or (3 if quick else 20), batch_size=1024, train_images=10000 if quick else None,
        primer_epochs=500, figures={"L2 0.1": 0.98})


def dropout(quick, epochs):
    """Dropout of 0.5 and 0.75 after the hidden layer (the primer's 0.75: a smaller gap between
    training and test, after 100 epochs) against none. Batches of 1024; 20 epochs here, --epochs
    100 is the primer's run. --quick: 3 epochs of 10,000 images."""
    return Experiment(
        "dropout", "dropout 0, 0.5 and 0.75 after 1000 ReLUs, Adam",
        "cookbook",
        [Variant("no dropout", relu_1000, adam),
         Variant("dropout 0.5", lambda: relu_1000(layers.Dropout(0.5)), adam),
         Variant("dropout 0.75", lambda: relu_1000(layers.Dropout(0.75)), adam)],
        findings=[Finding("dropout 0.75", "no dropout", "gap")],
        epochs=epochs or (3 if quick else 20), batch_size=1024, train_images=10000 if quick else None,
        primer_epochs=100)


def batch_norm(quick, epochs):
    """Batch normalisation after the hidden layer, both with L2 0.01 (the primer's: about 97% with
    it, 91% without, after 100 epochs, and faster). Batches of 1024; 20 epochs here, --epochs 100
    is the primer's run. --quick: 3 epochs of 10,000 images."""
    return Experiment(
        "batch-norm", "batch normalisation or not, 1000 ReLUs with L2 0.01, Adam",
        "cookbook",
        [Variant("L2 0.01", lambda: relu_1000(regularizer=L2(0.01)), adam),
         Variant("L2 0.01, batch norm", lambda: relu_1000(layers.BatchNormalization(), regularizer=L2(0.01)), adam)],
        findings=[Finding("L2 0.01, batch norm", "L2 0.01"), Finding("L2 0.01, batch norm", "L2 0.01", "reach")],
        epochs=epochs or (3 if quick else 20), batch_size=1024, train_images=10000 if quick else None,
        primer_epochs=100, reach=0.95 if not quick else 0.9,
        figures={"L2 0.01": 0.91, "L2 0.01, batch norm": 0.97})


EXPERIMENTS = {function.__name__.replace("_", "-"): function for function in (
    depth, width, input_scaling, inverted, batch_size, learning_rate, optimizer, overfitting, l2, dropout,
    batch_norm)}


def parse(argv=None):
    width = command_line.help_width()
    parser = command_line.ArgumentParser(
        prog=os.path.basename(sys.argv[0]), description=__doc__,
        epilog="experiments.py EXPERIMENT --help: its variants, settings and the primer's figures.",
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=20, width=width))
    commands = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True,
                                     parser_class=command_line.ArgumentParser)
    for name, function in EXPERIMENTS.items():
        experiment = function(False, None)
        variants = "\n".join(f"  {variant.name}" + (f"  (the primer's {experiment.figures[variant.name]:.2%})"
                                                      if variant.name in experiment.figures else "")
                             for variant in experiment.variants)
        command = commands.add_parser(
            name, help=experiment.summary, description=textwrap.fill(function.__doc__.replace("\n    ", " "),
                                                                      width - 2) + "\n\nvariants:\n" + variants,
            formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=26,
                                                                              width=width))
        command.add_argument("--epochs", type=command_line.whole_number(1), metavar="N",
                             help=f"epochs of training (default: {experiment.epochs}"
                                  + (f"; the primer's: {experiment.primer_epochs}" if
                                     experiment.primer_epochs != experiment.epochs else ", the primer's") + ")")
        command.add_argument("--quick", action="store_true",
                             help="a short run, under a minute on 2 cores: fewer epochs and images")
        command_line.add_shared(command, "--seed")
        command.add_argument("--train-images", type=command_line.whole_number(1), metavar="N",
                             help="train on the first N training images only: a faster, rougher look "
                                  "(default: all, or the experiment's --quick share)")
        command.add_argument("--tests-per-epoch", type=command_line.whole_number(1), default=4, metavar="N",
                             help="measure on the test images N times an epoch (default: 4)")
        command_line.add_shared(command, "--headless")
        command.add_argument("--save-png", metavar="FILE.png", help="write the curves and the sentence to FILE.png")
        command.add_argument("--results", metavar="FILE.json",
                             help="write every variant's figures and curves, and the sentence, to FILE.json")
        command.add_argument("--tensorboard", metavar="DIR",
                             help="write one run folder per variant into DIR, for compare.py DIR or tensorboard")
        command_line.add_shared(command, "--data-dir", "--threads")
    args = parser.parse_args(argv)
    command_line.one_line_ends()
    command_line.check_files(parser, args)
    return args


def main(argv=None):
    args = parse(argv)
    if not keras_training.tf.executing_eagerly():  # a graph script ran before, in this notebook's kernel
        keras_training.eager_again()
    keras_training.use_threads(args.threads)
    keras_training.tf.config.experimental.enable_op_determinism()  # same seed, same numbers
    experiment = EXPERIMENTS[args.experiment](args.quick, args.epochs)
    if args.train_images:
        experiment.train_images = args.train_images
    mnist = data.load_bytes(args.data_dir)
    bench = lab_bench.Bench(args, experiment, mnist)
    for variant in experiment.variants:
        bench.train(variant)
    return bench.finish()


if __name__ == "__main__":
    main()
