"""The numbered scripts, in the codelab's order: the one list that the tests and the benchmarks
read. It is this folder itself: a new step, mnist_X.Y_what_it_adds.py, is on it as soon as it
exists."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = re.compile(r"mnist_(\d+\.\d+)_\w+\.py")


def version(script):
    """'mnist_3.1_convolutional_bigger_dropout.py' -> '3.1'."""
    return NAME.fullmatch(os.path.basename(script))[1]


def order(script):
    """'mnist_3.1_convolutional_bigger_dropout.py' -> (3, 1), to sort and compare by."""
    return tuple(map(int, version(script).split(".")))


SCRIPTS = sorted((name for name in os.listdir(HERE) if NAME.fullmatch(name)), key=order)


def named(version_or_name):
    """The script called '3.1' (or by its whole name); None if there is none."""
    return next((name for name in SCRIPTS if name == version_or_name or version(name) == version_or_name), None)
