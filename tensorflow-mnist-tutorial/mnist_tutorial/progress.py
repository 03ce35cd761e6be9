"""The lines a run prints: the first, the codelab's progress lines (in a notebook a progress bar
stands for them: in_notebook.ProgressBar), and the summary at the end.

    step   9980  epoch  16.63  lr 0.000120  training: accuracy 1.0000  loss    0.0430
    step  10000  epoch  16.67              test:     accuracy 0.9818  loss   10.3904
"""
import numpy as np


class Lines:
    """The terminal's report: the codelab's progress lines, one per report."""

    def __init__(self, held_out, steps_per_epoch, training_lines=True):
        self.held_out, self.steps_per_epoch, self.training_lines = held_out, steps_per_epoch, training_lines
        self.shows_rate = False  # once the loop reports a learning rate, the lines make room for it

    def training(self, step, accuracy, loss, learning_rate):
        if self.training_lines:
            print(f"{self.prefix(step, learning_rate)}  training: accuracy {accuracy:.4f}  loss {loss:9.4f}",
                  flush=True)

    def test(self, step, accuracy, loss):
        print(f"{self.prefix(step, None)}  {self.held_out + ':':<9} accuracy {accuracy:.4f}  loss {loss:9.4f}",
              flush=True)

    def prefix(self, step, learning_rate):
        """The start of a progress line; the learning rate is shown on training lines only."""
        text = f"step {step:6d}  epoch {step / self.steps_per_epoch:6.2f}"
        self.shows_rate = self.shows_rate or learning_rate is not None
        if self.shows_rate:
            text += f"  lr {learning_rate:.6f}" if learning_rate is not None else " " * 12
        return text

    def close(self):
        pass


def print_header(title, args, train_count, test_count, held_out, shapes):
    """The first line: steps, batch, seed, the images, and what training learns (shapes: of its
    variables; weights are matrices and patches, biases, offsets and scales are rows)."""
    count = lambda rank1: sum(int(np.prod(shape)) for shape in shapes  # noqa: E731
                              if (len(shape) == 1) == rank1)
    print(f"{title}: {args.iterations} steps of {args.batch_size} images, seed {args.seed}; {train_count} "
          f"training and {test_count} {held_out} images; {count(False)} weights and {count(True)} biases "
          f"to learn", flush=True)
