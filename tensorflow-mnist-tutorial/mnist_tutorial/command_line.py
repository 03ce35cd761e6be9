"""The command line every script shares, and nothing else: the flags, checked before training.

    args = command_line.parse(__doc__, iterations=10000)   # the flags every script shares

A bad flag, or a file asked for that could not be written at the end, stops the script here with
one line (argparse's exit status 2). From here on the script's problems that the user can fix,
raised as UserError or Interrupted, end it with one line too (startup.one_line_for_user_errors).
"""
import argparse
import os
import shutil
import sys
import textwrap

import numpy as np

from . import startup  # noqa: F401  first: it imports TensorFlow, quietly
from . import in_notebook, mnistdata, savedmodel, visualisation
from .mnistdata import UserError


def help_width():
    """--help's width: the terminal's, at most 100 columns."""
    return min(shutil.get_terminal_size().columns, 100)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag gives one line instead of the whole usage text."""

    def error(self, message):
        stop(f"error: {message} (see --help)", status=2)


def stop(message, status=1):
    """End the script with one line: exit status in a terminal, no traceback in a notebook."""
    line = f"{os.path.basename(sys.argv[0])}: {message}"
    if in_notebook.active():
        raise in_notebook.Stopped(line)  # the kernel lives on
    print(line, file=sys.stderr, flush=True)
    sys.exit(status)


def whole_number(minimum):
    """An argparse type: a whole number no smaller than minimum."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value
    return parse



def parse(description, iterations, batch_size=100, test_every=100, more=None):
    """The command line every script shares, checked: the files asked for can be written, and
    --save-movie has what it needs. more(parser) adds flags of the caller's own."""
    epilog = (f"The window's keys: 1-6 one panel, 7 panels 1+2, 8 panels 4+5, 9 panels 3+6, 0 or Esc all "
              f"six, Space pause; after training, M the mistakes and D a pad to draw digits for the "
              f"network. In a Jupyter notebook (%run this script) the panels are drawn in the cell. "
              f"Without a display, or with --headless, the output is text only. MNIST (55 MB) is fetched "
              f"into the data folder the first time; ${mnistdata.DATA_DIR_VARIABLE} sets another.")
    parser = ArgumentParser(
        prog=os.path.basename(sys.argv[0]), usage="%(prog)s [options]",
        description=description, epilog=textwrap.fill(epilog, help_width() - 2),
        # the docstring as written, one line per flag: --help fits a screen
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(
            prog, max_help_position=26, width=help_width()))
    parser.add_argument("--iterations", type=whole_number(1), default=iterations, metavar="N",
                        help="training steps, one mini-batch each (default: %(default)s)")
    parser.add_argument("--batch-size", type=whole_number(1), default=batch_size, metavar="N",
                        help="training images per step (default: %(default)s)")
    add_shared(parser, "--seed", "--data-dir", "--headless")
    parser.add_argument("--log-every", type=whole_number(1), default=20, metavar="N",
                        help="print accuracy and loss on the training batch every N steps (default: %(default)s)")
    parser.add_argument("--test-every", type=whole_number(1), default=test_every, metavar="N",
                        help="test on all 10,000 test images every N steps and at the end (default: %(default)s)")
    parser.add_argument("--test-batch-size", type=whole_number(1), default=1000, metavar="N",
                        help="test images per forward pass: fewer use less memory (default: %(default)s)")
    parser.add_argument("--validation", type=whole_number(0), default=0, metavar="N",
                        help="measure on the last N training images instead of the test images, to "
                             "compare settings without looking at the test set (10000 is usual)")
    add_shared(parser, "--threads")
    parser.add_argument("--layout", choices=list(visualisation.VIEWS), default="0", metavar="K",
                        help="the picture's view, numbered as the window's keys below (default: %(default)s)")
    parser.add_argument("--save-png", metavar="FILE.png",
                        help="write the panels at the end of training to FILE.png (headless too)")
    parser.add_argument("--save-report", metavar="FILE.png",
                        help="write the report of the network's mistakes to FILE.png (key M shows it)")
    parser.add_argument("--save-movie", metavar="FILE.mp4",
                        help="record the panels as a video, one frame per test (needs imageio-ffmpeg)")
    parser.add_argument("--movie-fps", type=whole_number(1), default=10, metavar="N",
                        help="frames per second of the movie (default: %(default)s)")
    parser.add_argument("--tensorboard", metavar="DIR",
                        help="write TensorBoard summaries to a folder of DIR named after the script, "
                             "seed and time; tensorboard --logdir DIR or compare.py DIR compares runs")
    parser.add_argument("--results", metavar="FILE.json",
                        help="write final and best accuracy, steps, time and every test to FILE.json")
    parser.add_argument("--save-model", metavar="DIR",
                        help="save the trained network in DIR, for draw.py --model DIR")
    if more:
        more(parser)
    args = parser.parse_args()
    check_files(parser, args)
    args.rng = np.random.default_rng(args.seed)  # the order of the training images
    one_line_ends()
    return args


def one_line_ends():
    """From here on, a UserError or an Interrupted that reaches the top of the script is one line
    (a notebook shows them in one line by itself)."""
    if not in_notebook.active():
        sys.excepthook = startup.one_line_for_user_errors


SHARED = {  # the flags that mean the same for every entry point: their add_argument keywords
    "--seed": dict(type=whole_number(0), default=0, metavar="N",
                   help="the same seed gives the same numbers on the same machine (default: %(default)s)"),
    "--data-dir": dict(default=None, metavar="DIR", help=f"folder of the four MNIST files (default: "
                                                         f"${mnistdata.DATA_DIR_VARIABLE}, else data/ here)"),
    "--headless": dict(action="store_true", help="text only, no window (chosen by itself when there is no display)"),
    "--threads": dict(type=whole_number(0), default=0, metavar="N",
                      help="CPU threads per operation; 0 means one per core (default: %(default)s)"),
}


def add_shared(parser, *flags):
    for flag in flags:
        parser.add_argument(flag, **SHARED[flag])


def check_files(parser, args):
    """The files asked for must be writable now, not after an hour of training: --save-png,
    --save-report, --results, --save-movie (and its ffmpeg), --save-model, --tensorboard, where the
    parser has them."""
    for flag, extension in (("--save-png", ".png"), ("--save-report", ".png"), ("--results", ".json"),
                            ("--save-movie", ".mp4")):
        check_output(parser, flag, getattr(args, flag[2:].replace("-", "_"), None), extension)
    if getattr(args, "save_model", None):
        try:
            savedmodel.check_target(args.save_model)
        except UserError as e:
            parser.error(f"--save-model {args.save_model}: {e}")
    if getattr(args, "save_movie", None):
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            parser.error("--save-movie needs the imageio-ffmpeg package: python3 -m pip install imageio-ffmpeg")
    if getattr(args, "tensorboard", None):
        try:
            os.makedirs(args.tensorboard, exist_ok=True)
        except OSError as e:
            parser.error(f"--tensorboard: cannot create {args.tensorboard} ({e.strerror})")


def check_output(parser, flag, path, extension):
    """A file we will write at the end must be writable now, not after an hour of training."""
    if path is None:
        return
    if not path.lower().endswith(extension):
        parser.error(f"{flag} {path}: the file name must end in {extension}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"{flag} {path}: the folder {directory} does not exist")
    if os.path.isdir(path):
        parser.error(f"{flag} {path}: that is a folder; give a file's name")
    try:
        mnistdata.check_writable(directory)
    except UserError as e:
        parser.error(f"{flag} {path}: {e}")
