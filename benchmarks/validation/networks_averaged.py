"""Do several trained networks, their answers averaged, recognise more validation digits than the
best of them alone, and than one of them does on average?

    python3 benchmarks/validation/networks_averaged.py MODEL_DIR MODEL_DIR [...] [--validation 10000]

Each MODEL_DIR is a network saved with --save-model by a script trained with --validation N (the
same N for all): none of them saw the last N training images, which are measured here. Each
network is measured alone, then the average of their probabilities.
"""
import numpy as np

from copies_at_test_time import networks_and_validation_set, probabilities


def main():
    models, predictors, images, labels, _ = networks_and_validation_set(__doc__, "+")
    each = [probabilities(predict, images) for predict in predictors]
    right = [int((p.argmax(1) == labels).sum()) for p in each]
    for model, correct in zip(models, right):
        print(f"{model} alone: {correct / len(labels):.4f} ({len(labels) - correct} errors)")
    # the average can only right a digit every network gets wrong when they are wrong in different
    # ways: these digits bound what averaging can buy
    every_wrong = np.all([p.argmax(1) != labels for p in each], axis=0)
    averaged = np.mean(each, axis=0).argmax(1) == labels
    print(f"wrong in every network: {every_wrong.sum()} images, of which the average gets "
          f"{(every_wrong & averaged).sum()} right")
    together = int(averaged.sum())
    print(f"{len(each)} networks averaged: {together / len(labels):.4f} ({len(labels) - together} errors); "
          f"{together - max(right):+d} images against the best alone, "
          f"{together - np.mean(right):+.1f} against the mean of them alone")


if __name__ == "__main__":
    main()
