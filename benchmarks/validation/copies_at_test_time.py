"""Does asking a trained network about shifted copies of each digit, and averaging its answers,
recognise more validation digits than asking it once?

    python3 benchmarks/validation/copies_at_test_time.py MODEL_DIR [--validation 10000]

MODEL_DIR is a network saved with --save-model by a script trained with --validation N: it never
saw the last N training images, which are measured here. Both figures come from the same weights,
so their difference is the copies' alone, not the seed's. The copies: the digit as it is, and
moved by one pixel left, right, up and down, the pixels moved in from the edge blank.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tensorflow-mnist-tutorial"))
from mnist_tutorial import mnistdata  # noqa: E402
from mnist_tutorial import training  # noqa: E402,F401  (imports TensorFlow without its start-up chatter, as draw.py does)
from mnist_tutorial import savedmodel  # noqa: E402

MOVES = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]  # (right, down) in pixels


def moved(images, right, down):
    """images [N, 28, 28] moved right and down by whole pixels (negative: left, up), blank edges."""
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1)])
    return padded[:, 1 - down:29 - down, 1 - right:29 - right]


def probabilities(predict, images, size=1000):
    return np.concatenate([predict(images[start:start + size]) for start in range(0, len(images), size)])


def networks_and_validation_set(description, models_argument):
    """Parse the command line; load the saved networks and the last --validation training images,
    with a function that gives the training images before them, the ones the networks learnt from
    (made only when asked for: 150 MB). A missing model, missing data or a bad count ends in one
    line."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs=models_argument, metavar="MODEL_DIR",
                        help="a network saved with --save-model by a script run with --validation N")
    parser.add_argument("--validation", type=int, default=10000, metavar="N",
                        help="measure on the last N training images (default: 10000)")
    args = parser.parse_args()
    if not 0 < args.validation < 60000:
        parser.error("--validation must be between 1 and 59999")
    try:
        predictors = [savedmodel.load(model) for model in args.models]
        data = mnistdata.load(one_hot=False, pixels_as_bytes=True)
    except mnistdata.UserError as e:
        sys.exit(f"error: {e}")
    images = mnistdata.to_float(data.train_images[-args.validation:]).reshape(-1, 28, 28)

    def learnt_images():
        return mnistdata.to_float(data.train_images[:-args.validation]).reshape(-1, 28, 28)

    return args.models, predictors, images, data.train_labels[-args.validation:], learnt_images


def main():
    _, (predict,), images, labels, _ = networks_and_validation_set(__doc__, 1)
    each = [probabilities(predict, moved(images, *move)) for move in MOVES]
    for move, p in zip(MOVES, each):
        correct = int((p.argmax(1) == labels).sum())
        print(f"copy moved {move[0]:+d} right, {move[1]:+d} down: {correct / len(labels):.4f} "
              f"({len(labels) - correct} errors)")
    one, five = each[0].argmax(1), np.mean(each, axis=0).argmax(1)
    one_right, five_right = int((one == labels).sum()), int((five == labels).sum())
    print(f"one copy: {one_right / len(labels):.4f} ({len(labels) - one_right} errors); five copies averaged: "
          f"{five_right / len(labels):.4f} ({len(labels) - five_right} errors); "
          f"{five_right - one_right:+d} images")


if __name__ == "__main__":
    main()
