"""Overlay the test curves of finished runs: the codelab's lessons are comparisons.

    python3 mnist_2.0_five_layers_sigmoid.py --headless --tensorboard runs
    python3 mnist_2.1_five_layers_relu_lrdecay.py --headless --tensorboard runs
    python3 mnist_2.2_five_layers_relu_lrdecay_dropout.py --headless --tensorboard runs
    python3 compare.py runs                      # a window; --output FILE.png writes a picture

Every script given --tensorboard DIR writes its run into a folder of DIR of its own; this draws
the test accuracy and the test loss of each of them, one curve per run. The accuracy is drawn on
the scale the live window's zoom uses: 90%, 99% and 99.9% equally far apart, so that the last
percent, where the later chapters compete, is not a thin line at the top. `tensorboard --logdir
DIR` shows the same runs, with everything else they recorded.
"""
import argparse
import os
import re
import sys

from mnist_tutorial import command_line  # TensorBoard's reader imports TensorFlow: quietly, as the scripts do; one-line errors
from mnist_tutorial import six_panels
from mnist_tutorial import where_shown
from mnist_tutorial.mnistdata import UserError, atomic_file

RUN_NAME = re.compile(r"mnist_(\d\.\d)_[a-z_]+-seed(\d+)-(\d{8}-\d{6})")


def find_runs(directory):
    """{run folder: (label, steps, test accuracies, test losses)} for every run under directory."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not os.path.isdir(directory):
        raise UserError(f"no folder {directory}")
    folders = sorted({root for root, _, files in os.walk(directory)
                      if any(name.startswith("events.out.tfevents") for name in files)})
    runs = {}
    for folder in folders:
        events = EventAccumulator(folder, size_guidance={"scalars": 0})
        events.Reload()
        if not {"accuracy/test", "loss/test"} <= set(events.Tags()["scalars"]):
            continue
        accuracy, loss = events.Scalars("accuracy/test"), events.Scalars("loss/test")
        runs[folder] = (label(folder, directory), [e.step for e in accuracy], [e.value for e in accuracy],
                        [e.value for e in loss])
    if not runs:
        raise UserError(f"no runs with test curves in {directory} (train with --tensorboard {directory})")
    labels = [run[0] for run in runs.values()]
    return {folder: (name + (f" ({os.path.basename(folder)[-15:]})" if labels.count(name) > 1 else ""), *rest)
            for folder, (name, *rest) in runs.items()}


def label(folder, directory):
    match = RUN_NAME.fullmatch(os.path.basename(folder))
    return f"{match[1]} seed {match[2]}" if match else os.path.relpath(folder, directory)


def draw(runs, figure):
    accuracy, loss = figure.subplots(1, 2)
    for name, steps, accuracies, losses in runs.values():
        line, = accuracy.plot(steps, accuracies, lw=1.2, label=name)
        loss.plot(steps, losses, lw=1.2, color=line.get_color(), label=name)
    six_panels.zoom_on_the_last_percent(accuracy)
    accuracy.set_ylim(0.9, six_panels.zoom_top(max(max(accuracies) for _, _, accuracies, _ in runs.values())))
    accuracy.set_title("Test accuracy (90% and up)", fontsize=10)
    # the scale of the second half, where overfitting shows: a slow start's first losses run off the top
    top = max(max(losses[len(losses) // 2:], default=0) for *_, losses in runs.values())
    loss.set_ylim(0, top * 1.5 if top > 0 else 1)
    loss.set_title("Test loss (the scale of the second half)", fontsize=10)
    for ax in (accuracy, loss):
        ax.set_xlabel("training step", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        ax.tick_params(labelsize=8)


def main():
    parser = command_line.ArgumentParser(prog="compare.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", metavar="DIR", help="the folder given to the scripts' --tensorboard")
    parser.add_argument("--output", metavar="FILE.png", help="write the picture there instead of opening a window")
    args = parser.parse_args()
    command_line.check_output(parser, "--output", args.output, ".png")
    if not args.output and not where_shown.has_display():
        parser.error("no display to open a window on: give --output FILE.png")
    try:
        runs = find_runs(args.directory)
        if args.output:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            figure = Figure(figsize=(12, 4.5), dpi=100)
            FigureCanvasAgg(figure)
            draw(runs, figure)
            figure.tight_layout()
            with atomic_file(args.output) as f:
                figure.savefig(f, format="png")
            print(f"compare.py: {len(runs)} runs drawn into {args.output}")
        else:
            import matplotlib.pyplot as plt
            figure = plt.figure(figsize=(12, 4.5))
            draw(runs, figure)
            figure.tight_layout()
            plt.show()
    except UserError as e:
        command_line.stop(f"error: {e}")
    except OSError as e:
        command_line.stop(f"error: cannot write {args.output}: {e.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
