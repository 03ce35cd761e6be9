"""Do several trained networks, their answers averaged, recognise more validation digits than the
best of them alone?

    python3 benchmarks/validation/networks_averaged.py MODEL_DIR MODEL_DIR [...] [--validation 10000]

Each MODEL_DIR is a network saved with --save-model by a script trained with --validation N (the
same N for all): none of them saw the last N training images, which are measured here. Each
network is measured alone, then the average of their probabilities.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tensorflow-mnist-tutorial"))
import mnistdata  # noqa: E402
import savedmodel  # noqa: E402


def probabilities(predict, images, size=1000):
    return np.concatenate([predict(images[start:start + size]) for start in range(0, len(images), size)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="MODEL_DIR")
    parser.add_argument("--validation", type=int, default=10000)
    args = parser.parse_args()
    try:
        predictors = [savedmodel.load(model) for model in args.models]
        data = mnistdata.load(one_hot=False, pixels_as_bytes=True)
    except mnistdata.UserError as e:
        sys.exit(f"error: {e}")
    images = mnistdata.to_float(data.train_images[-args.validation:]).reshape(-1, 28, 28)
    labels = data.train_labels[-args.validation:]
    each = [probabilities(predict, images) for predict in predictors]
    right = [int((p.argmax(1) == labels).sum()) for p in each]
    for model, correct in zip(args.models, right):
        print(f"{model} alone: {correct / len(labels):.4f} ({len(labels) - correct} errors)")
    together = int((np.mean(each, axis=0).argmax(1) == labels).sum())
    print(f"{len(each)} networks averaged: {together / len(labels):.4f} ({len(labels) - together} errors); "
          f"{together - max(right):+d} images against the best alone")


if __name__ == "__main__":
    main()
