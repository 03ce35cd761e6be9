"""setuptools, plus one step: pack the tutorial's MNIST reader into the package as
trainer/mnistdata.py and trainer/offline_mnist.py, so that the code exists once in the repository
and whole in every build.

Building from the repository (python3 -m build mlengine, pip install ./mlengine, the Dockerfile)
copies the two files of ../tensorflow-mnist-tutorial/mnist_tutorial/ in for the build and removes
them afterwards; building from the source distribution finds the copies already packed.
"""
import os
import shutil
from contextlib import contextmanager

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403  the rest of the interface, unchanged

HERE = os.path.dirname(os.path.abspath(__file__))
READER = ("mnistdata.py", "offline_mnist.py")
SOURCE = os.path.join(HERE, os.pardir, "tensorflow-mnist-tutorial", "mnist_tutorial")
PACKED = os.path.join(HERE, "trainer")


@contextmanager
def reader_packed():
    copied = []
    try:
        for name in READER:
            source, packed = os.path.join(SOURCE, name), os.path.join(PACKED, name)
            if os.path.exists(packed):
                continue
            if not os.path.exists(source):
                raise RuntimeError(f"cannot build the trainer: neither {packed} nor {source} exists")
            shutil.copyfile(source, packed)
            copied.append(packed)
        yield
    finally:
        for packed in copied:
            os.remove(packed)


def build_sdist(sdist_directory, config_settings=None):
    with reader_packed():
        return build_meta.build_sdist(sdist_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with reader_packed():
        return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)
