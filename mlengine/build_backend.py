"""setuptools, plus one step: pack the tutorial's MNIST reader into the package as
trainer/mnistdata.py, so that the code exists once in the repository and whole in every build.

Building from the repository (python3 -m build mlengine, pip install ./mlengine, the Dockerfile)
copies ../tensorflow-mnist-tutorial/mnist_tutorial/mnistdata.py in for the build and removes it afterwards;
building from the source distribution finds the copy already packed.
"""
import os
import shutil
from contextlib import contextmanager

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403  the rest of the interface, unchanged

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, os.pardir, "tensorflow-mnist-tutorial", "mnist_tutorial", "mnistdata.py")
PACKED = os.path.join(HERE, "trainer", "mnistdata.py")


@contextmanager
def reader_packed():
    copied = not os.path.exists(PACKED)
    if copied:
        if not os.path.exists(SOURCE):
            raise RuntimeError(f"cannot build the trainer: neither {PACKED} nor {SOURCE} exists")
        shutil.copyfile(SOURCE, PACKED)
    try:
        yield
    finally:
        if copied:
            os.remove(PACKED)


def build_sdist(sdist_directory, config_settings=None):
    with reader_packed():
        return build_meta.build_sdist(sdist_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with reader_packed():
        return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)
