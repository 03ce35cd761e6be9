"""MNIST as a training loop draws it: shuffled batches of the training images, and the held-out
images all at once (the test set, or with --validation the last N training images).

    mnist = data.load_mnist(args)          # args: --data-dir, --validation, --batch-size, args.rng
    batch_X, batch_Y = mnist.train.next_batch(100)
    mnist.test.images, mnist.test.labels, mnist.held_out

Reading, fetching and checking the files is mnistdata's part.
"""
import numpy as np

from . import mnistdata
from .interrupts import Interrupted
from .mnistdata import UserError


class Batches:
    """mnist.train: next_batch(n) gives n images as floats in [0, 1], [n, 28, 28, 1], and their
    one-hot labels [n, 10]. Every epoch visits each training image once, in a new order (--seed)."""

    def __init__(self, images, labels, rng):
        self.images, self.labels, self.rng = images, labels, rng  # images stay bytes until drawn
        self.order, self.size = None, None

    def next_batch(self, size):
        if size != self.size:
            self.order, self.size = shuffled_batches(len(self.images), size, self.rng), size
        indices = next(self.order)
        return mnistdata.to_float(self.images[indices]), self.labels[indices]

    def __len__(self):
        return len(self.images)


class Images:
    """mnist.test: all the held-out images at once, .images [n, 28, 28, 1] and .labels [n, 10]."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)


class Mnist:
    """What load_mnist gives a script: mnist.train, mnist.test, and mnist.held_out, the name of
    what mnist.test holds: "test", or "validation" with --validation."""

    def __init__(self, train, test, held_out):
        self.train, self.test, self.held_out = train, test, held_out


def load_bytes(data_dir):
    """MNIST as it is stored: images uint8 [N, 28, 28, 1], one-hot labels; Interrupted by Ctrl-C
    while it is fetched, the first time."""
    try:
        return mnistdata.load(data_dir, one_hot=True, pixels_as_bytes=True)
    except KeyboardInterrupt:
        raise Interrupted("interrupted while MNIST was fetched") from None


def load_mnist(args):
    """MNIST as the codelab's scripts read it; a UserError naming what is wrong when it cannot be had."""
    data = load_bytes(args.data_dir)
    held_out = "test"
    if args.validation:
        if args.validation >= len(data.train_images):
            raise UserError(f"--validation {args.validation} leaves no training images "
                            f"(the training set has {len(data.train_images)})")
        n, held_out = args.validation, "validation"
        data = data._replace(train_images=data.train_images[:-n], train_labels=data.train_labels[:-n],
                             test_images=data.train_images[-n:], test_labels=data.train_labels[-n:])
    if args.batch_size > len(data.train_images):
        raise UserError(f"--batch-size {args.batch_size} is larger than the training set "
                        f"({len(data.train_images)} images)")
    # The test set is converted to floats once (31 MB), not at each of the ~100 test passes; the
    # training set stays in bytes and each batch is converted as it is drawn.
    return Mnist(Batches(data.train_images, data.train_labels, args.rng),
                 Images(mnistdata.to_float(data.test_images), data.test_labels), held_out)



def shuffled_batches(count, batch_size, rng):
    """Endless mini-batches of indices; each epoch visits every image once, in a new order."""
    order = rng.permutation(count)
    while True:
        while len(order) < batch_size:  # an epoch ends inside this batch: start the next one
            order = np.concatenate([order, rng.permutation(count)])
        yield order[:batch_size]
        order = order[batch_size:]
