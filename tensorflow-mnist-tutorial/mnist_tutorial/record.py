"""The figures of a run as its loop measured them: every test pass, the answers of the last one and
the time training took; the summary printed at the end and the --results file are made of them."""
import numpy as np

from . import diagnosis


class Record:
    def __init__(self, title, held_out, seed, batch_size):
        self.title, self.held_out, self.seed, self.batch_size = title, held_out, seed, batch_size
        self.tests = []  # (step, accuracy, loss) of every test pass
        self.probabilities = None  # of every held-out image, at the last test pass
        self.seconds = self.drawing_seconds = None  # training's, and what the frames took of it

    def add_test(self, step, accuracy, loss, probabilities):
        self.tests.append((step, accuracy, loss))
        self.probabilities = probabilities

    def final(self):
        """(step, accuracy, loss) of the last test pass."""
        return self.tests[-1]

    def best(self):
        """(step, accuracy, loss) of the best test pass, the earliest of equals."""
        return max(self.tests, key=lambda test: test[1])

    def steps_trained(self):
        """The step of the last test pass: the loop may have stopped before its last step."""
        return self.final()[0]

    def images_per_s(self):
        return self.steps_trained() * self.batch_size / self.seconds if self.batch_size else None

    def print_summary(self, weights, biases):
        final, best = self.final(), self.best()
        print(f"weights range from {weights.min():.3f} to {weights.max():.3f}, biases from "
              f"{biases.min():.3f} to {biases.max():.3f}")
        rate = f", {self.images_per_s():,.0f} training images/s" if self.batch_size else ""
        print(f"final {self.held_out} accuracy {final[1]:.4f} (best {best[1]:.4f} at step {best[0]}); "
              f"{self.steps_trained()} steps in {self.seconds:.1f} s{rate}", flush=True)

    def results(self):
        """--results FILE.json: this run's figures for programs (benchmarks/run.py, the tests)."""
        final, best = self.final(), self.best()
        return {
            "script": self.title, "seed": self.seed, "held_out": self.held_out,
            "steps": self.steps_trained(), "batch_size": self.batch_size,
            # accuracies count images out of thousands: four decimals are the measurement
            "final_accuracy": round(float(final[1]), 4), "best_accuracy": round(float(best[1]), 4),
            "best_step": best[0], "training_s": self.seconds, "drawing_s": self.drawing_seconds,
            "images_per_s": self.images_per_s(),
            "tests": [{"step": step, "accuracy": round(float(accuracy), 4), "loss": float(loss)}
                      for step, accuracy, loss in self.tests],
        }


    def mistakes(self, images, labels):
        """The report of the last test pass's mistakes (diagnosis.Report), its most confused pairs
        printed."""
        report = diagnosis.mistakes(images, labels, self.probabilities)
        print(diagnosis.confused_line(report, self.held_out), flush=True)
        return report


def weights_and_biases(values):
    """All the values of the variables training learns, in two rows: the weights (matrices and
    patches) and the biases (and offsets: every variable of one dimension)."""
    return (np.concatenate([np.ravel(v) for v in values if np.ndim(v) > 1] or [np.zeros(1)]),
            np.concatenate([np.ravel(v) for v in values if np.ndim(v) == 1] or [np.zeros(1)]))
