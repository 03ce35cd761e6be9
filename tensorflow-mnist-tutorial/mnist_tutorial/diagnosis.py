"""What the curves and the mistakes say, in plain words: the lessons of the codelab's chapters,
spotted while a network trains, and the report of its mistakes at the end.

`Watcher` is told every training report and test pass and says, once each, when it sees
something a chapter teaches: a remark with the step, a short label for the chart and a sentence
for the terminal. `mistakes` sums up the last test pass: the confusion matrix, the digits the
network was surest of and got wrong, and the pairs of digits it confuses most.
"""
import math
from collections import namedtuple

import numpy as np

Remark = namedtuple("Remark", "step panel value label text")  # panel: "accuracy" or "loss"
Report = namedtuple("Report", "matrix accuracy mistakes confused")

CHANCE = 0.1  # ten digits: guessing is right one time in ten
RISE = 1.3  # overfitting: the smoothed test loss this many times its lowest


class Watcher:
    def __init__(self, iterations, held_out="test"):
        self.iterations, self.held_out = iterations, held_out
        self.training = ([], [], [])  # steps, accuracies, losses
        self.test = ([], [], [])
        self.said = set()

    def add_training(self, step, accuracy, loss):
        for series, value in zip(self.training, (step, accuracy, loss)):
            series.append(value)
        return self.check(step, "training", accuracy, loss)

    def add_test(self, step, accuracy, loss):
        for series, value in zip(self.test, (step, accuracy, loss)):
            series.append(value)
        return self.check(step, "test", accuracy, loss)

    def check(self, step, kind, accuracy, loss):
        """The remarks this new point brings, each rule's once."""
        remarks = []
        for rule in (self.not_a_number, self.stuck_at_chance, self.slow_start, self.overfitting, self.unstable):
            if rule.__name__ not in self.said:
                remark = rule(step, kind, accuracy, loss)
                if remark:
                    self.said.add(rule.__name__)
                    remarks.append(remark)
        return remarks

    # Chapter "deep networks" (the sigmoid and ReLU five-layer networks): a softmax output that
    # reaches exactly 0 makes log(0) in a hand-written cross-entropy, and the loss is NaN from then on.
    def not_a_number(self, step, kind, accuracy, loss):
        if math.isnan(loss) or math.isinf(loss):
            return Remark(step, "loss", None, "loss is NaN",
                          f"the {kind} loss is {loss} at step {step}: a log of 0 (a softmax output that "
                          f"reached 0) or numbers that grew without bound; computing the loss from the "
                          f"logits with softmax_cross_entropy_with_logits, as these scripts do, avoids the log of 0")

    # Chapter "one layer" and its initialisation notes: weights that all start alike (at zero, say)
    # in a deep network learn alike, and the accuracy stays at chance. Not before 3,000 steps: the
    # sigmoid network of 2.0 sits at chance for its first 1,000 (the slow start below).
    def stuck_at_chance(self, step, kind, accuracy, loss):
        if kind != "test" or step < 3000 or len(self.test[1]) < 3:
            return None
        if max(self.test[1]) <= CHANCE + 0.05:
            return Remark(step, "accuracy", accuracy, "stuck at chance",
                          f"after {step} steps the {self.held_out} accuracy has never left {CHANCE:.0%}, "
                          f"what guessing gives: the network is not learning at all. Look at the "
                          f"initialisation (random weights, small positive biases for ReLU) and the learning rate")

    # Chapter "deep networks": five layers of sigmoids pass back small gradients (a sigmoid's slope
    # is at most 1/4), so the first steps hardly move the first layers; ReLU (2.1) starts at once.
    def slow_start(self, step, kind, accuracy, loss):
        steps, accuracies, _ = self.test
        if kind != "test" or step < 1000 or len(accuracies) < 3 or max(accuracies) > 0.9:
            return None
        early = [a for s, a in zip(steps, accuracies) if s <= step // 2]
        if max(accuracies) > CHANCE + 0.05 and early and max(early) <= CHANCE + 0.1:
            return Remark(step, "accuracy", accuracy, "slow start",
                          f"a slow start: the {self.held_out} accuracy stayed near {CHANCE:.0%} for its first "
                          f"{max((s for s, a in zip(steps, accuracies) if a <= CHANCE + 0.05), default=0)} steps and is "
                          f"{accuracy:.2f} at step {step}. Sigmoids pass back small gradients through five "
                          f"layers; ReLU (2.1) starts learning at once")

    # Chapter "dropout, overfitting": when the test loss climbs while the training loss keeps
    # falling, the network is learning the training digits by heart, not digits in general. The
    # test loss is smoothed over 5 passes, and must stay 30% above its lowest: 2.1 at its defaults
    # climbs 38-52% (seeds 0-2), while 3.1, whose dropout the codelab says tamed the test loss,
    # climbs 23-27% (seeds 0-1), and 4.2 21% (seed 0).
    def overfitting(self, step, kind, accuracy, loss):
        steps, _, losses = self.test
        if kind != "test" or len(losses) < 15 or not all(map(math.isfinite, losses)):
            return None
        # from the first pass after step 0: batch norm's pass before any training can be huge
        smooth = [np.mean(losses[max(1, i - 4):i + 1]) for i in range(1, len(losses))]
        lowest = int(np.argmin(smooth))
        if len(smooth) - 1 - lowest < 10 or min(smooth[-3:]) < RISE * smooth[lowest]:
            return None  # not yet clearly and lastingly above its lowest
        around = steps[max(1, lowest + 1 - 2)]  # the middle of the lowest 5 passes
        training_steps, _, training_losses = self.training
        then = [l for s, l in zip(training_steps, training_losses) if abs(s - around) <= 500]
        if then and np.mean(training_losses[-len(then):]) < np.mean(then):
            return Remark(step, "loss", loss, "overfitting",
                          f"overfitting: the {self.held_out} loss has climbed {smooth[-1] / smooth[lowest] - 1:.0%} "
                          f"since its lowest, around step {around}, while the training loss keeps "
                          f"falling: the network is learning the training digits by heart. Dropout "
                          f"(2.2, 3.1) and batch norm (4.x) are the codelab's cures")

    # Chapter "learning rate decay": with too high a learning rate the last steps keep jumping
    # over the minimum, and the test accuracy jumps between passes instead of settling.
    def unstable(self, step, kind, accuracy, loss):
        steps, accuracies, _ = self.test
        if kind != "test" or step < self.iterations // 2 or len(accuracies) < 11:
            return None
        last = np.array(accuracies[-11:])
        drops = -np.diff(last)
        settled = abs(last[-5:].mean() - last[:5].mean()) < 0.005  # no longer climbing: jumps are not progress
        if settled and (drops >= 0.005).sum() >= 3 and last.max() > 0.5:
            return Remark(step, "accuracy", accuracy, "unstable",
                          f"the {self.held_out} accuracy still jumps by up to {drops.max():.1%} between "
                          f"passes at step {step}, this late in training: the learning rate is too high "
                          f"for the last steps. Decaying it (2.1) lets the network settle")


def mistakes(images, labels, probabilities, count=40):
    """The report of a test pass: images [N, H, W(, C)], labels [N], probabilities [N, classes]."""
    predicted = np.argmax(probabilities, axis=1)
    classes = max(probabilities.shape[1], int(np.max(labels)) + 1)
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)
    certainty = probabilities[wrong, predicted[wrong]]
    surest = wrong[np.argsort(-certainty, kind="stable")][:count]
    shown = [(np.asarray(images[i]), int(labels[i]), int(predicted[i]),
              float(probabilities[i, predicted[i]])) for i in surest]
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    pairs = sorted(((int(off[t, p]), int(t), int(p)) for t, p in zip(*np.nonzero(off))), key=lambda x: -x[0])
    confused = [(t, p, n) for n, t, p in pairs[:5]]
    return Report(matrix, float(np.trace(matrix) / matrix.sum()), shown, confused)


def confused_line(report, held_out="test"):
    pairs = ", ".join(f"{true} read as {said} {n} times" for true, said, n in report.confused)
    return f"most confused ({held_out} digits): {pairs or 'none: no mistakes'}"
