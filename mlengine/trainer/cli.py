"""What the trainer's commands (task, predict, serve, and digits.py) share, none of it needing
TensorFlow: one-line errors, checked numbers, paths that are local or gs://, and a quiet import of
TensorFlow."""
import argparse
import os
import sys

MAX_REQUEST = 1_500_000  # bytes: the largest body Vertex AI accepts for one prediction request
EXIT_TERMINATED = 143  # 128 + SIGTERM: the job did not finish; run it again to resume


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line instead of the whole usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def number(kind, minimum=None, maximum=None):
    """An argparse type: an int or float within [minimum, maximum]."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bounds}")
        return value
    return parse


def is_remote(path):
    return "://" in path


def join(directory, name):
    """A path in a folder, local or gs://."""
    return directory.rstrip("/") + "/" + name


def import_quietly(module):
    """Import a module that imports TensorFlow, without TensorFlow's C++ start-up chatter (CUDA
    probes on a machine with no GPU, oneDNN notices). TF_CPP_MIN_LOG_LEVEL=0 shows all of it."""
    import importlib
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # 2-4x faster convolutions on x86 CPUs
    quiet = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3") == "3"
    global _stderr
    sys.stderr.flush()
    saved = _stderr = os.dup(2)
    if quiet:  # the chatter is written to file descriptor 2 before TensorFlow reads the level
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        return importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        _stderr = None
        os.close(saved)


_stderr = None  # the real standard error while import_quietly points file descriptor 2 elsewhere


def say_on_stderr(line):
    """One line on standard error, even in the middle of import_quietly (a signal handler's)."""
    sys.stderr.flush()
    os.write(_stderr if _stderr is not None else 2, (line + "\n").encode())
