"""The numbered scripts, in the codelab's order: the one list that the tests and the benchmarks
read. It is this folder itself: a new step, mnist_X.Y_what_it_adds.py, is on it as soon as it
exists; so is a twin of one in today's TensorFlow, keras_X.Y_*.py (Keras's fit) or tf2_X.Y_*.py
(a loop of its own)."""
import os
import re

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the tutorial's folder
NAME = re.compile(r"mnist_(\d+\.\d+)_\w+\.py")
TWIN_NAME = re.compile(r"(keras|tf2)_(\d+\.\d+)_\w+\.py")


def version(script):
    """'mnist_3.1_convolutional_bigger_dropout.py' (or its twin 'keras_3.1_...py') -> '3.1'."""
    name = os.path.basename(script)
    return NAME.fullmatch(name)[1] if NAME.fullmatch(name) else TWIN_NAME.fullmatch(name)[2]


def order(script):
    """'mnist_3.1_convolutional_bigger_dropout.py' -> (3, 1), to sort and compare by."""
    return tuple(map(int, version(script).split(".")))


SCRIPTS = sorted((name for name in os.listdir(HERE) if NAME.fullmatch(name)), key=order)
TWINS = sorted((name for name in os.listdir(HERE) if TWIN_NAME.fullmatch(name)), key=lambda name: (order(name), name))


def twin_kind(script):
    """'keras' or 'tf2' for a twin; None for a numbered graph script."""
    found = TWIN_NAME.fullmatch(os.path.basename(script))
    return found[1] if found else None


def graph_twin(twin):
    """The numbered script a twin is the twin of: keras_3.1_...py -> mnist_3.1_...py."""
    return named(version(twin))


def named(version_or_name):
    """The script called '3.1' (or 'keras_3.1', 'tf2_2.2', or by its whole name); None if there is none."""
    return next((name for name in SCRIPTS + TWINS if name == version_or_name or version_or_name in (
        version(name) if name in SCRIPTS else f"{twin_kind(name)}_{version(name)}",)), None)
