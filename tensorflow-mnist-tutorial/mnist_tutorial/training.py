"""The graph scripts' shared code; the lesson, building the graph and running it, is in the script:

    args = training.setup(__doc__, iterations=10000)   # flags, graph mode, seeds
    ... placeholders, variables, model, loss, accuracy, optimizer ...
    mnist = training.load_mnist(args)                  # mnist.train.next_batch(100), mnist.test.images
    show = training.Show(args, mnist)                  # progress lines, the six panels, the reports
    with tf.Session(config=args.session_config) as sess:
        sess.run(tf.global_variables_initializer())
        for i in show.steps():                          # 0, 1, ..., --iterations
            batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
            ... every --log-every steps: sess.run([accuracy, cross_entropy, ...]) -> show.training(...)
            ... every --test-every steps: the same on mnist.test -> show.test(...)
            sess.run(train_step, feed_dict={X: batch_X, Y_: batch_Y, ...})
        show.finish(sess, X, Y)

The flags are command_line.py's, the data data.py's, what the loop hands over show.py's, the picture
visualisation.py's; this module adds what a graph and its Session need: graph mode, the test
images run through the graph in slices, and the trained variables read from the Session.
Ctrl-C or closing the window ends the loop between two steps, and the script with one line.
"""
from . import startup  # noqa: F401  first: it imports TensorFlow, quietly
from . import command_line
import tensorflow
import tensorflow.compat.v1 as tf

import numpy as np
from . import savedmodel
from . import show
from .data import load_mnist  # noqa: F401  the scripts' training.load_mnist(args)


def setup(description, iterations, batch_size=100, test_every=100):
    """Parse the command line, switch TensorFlow to graph mode and seed every random generator."""
    args = command_line.parse(description, iterations, batch_size, test_every)
    tf.disable_eager_execution()  # the scripts build a graph first, then run it in a Session
    tf.reset_default_graph()
    tf.set_random_seed(args.seed)
    tensorflow.config.experimental.enable_op_determinism()  # same seed, same numbers
    # the script's tf.Session(config=args.session_config): --threads CPU threads per operation
    args.session_config = tf.ConfigProto(intra_op_parallelism_threads=args.threads,
                                         inter_op_parallelism_threads=args.threads)
    return args


def run_in_slices(sess, fetches, feed_dict, slice_size):
    """sess.run(fetches, feed_dict) over many images, slice_size images at a time.

    At once, 10,000 test images through a large convolutional network take gigabytes; in slices
    the memory stays that of one slice (--test-batch-size) and the answers are the same: a number
    (a mean over the images, like accuracy) is averaged over the slices weighted by their size,
    and rows, one per image (like Y), are joined. Feeds of one row per image are sliced; the others
    (pkeep, the step) go to every slice as they are.
    """
    count = max(len(value) for value in feed_dict.values() if np.ndim(value) > 0)
    totals = None
    for start in range(0, count, slice_size):
        piece = {key: value[start:start + slice_size] if np.ndim(value) > 0 and len(value) == count else value
                 for key, value in feed_dict.items()}
        values = sess.run(fetches, piece)
        size = min(slice_size, count - start)
        if totals is None:
            totals = [[] for _ in values]
        for total, value in zip(totals, values):
            total.append(value * size if np.ndim(value) == 0 else value)
    return [sum(total) / count if np.ndim(total[0]) == 0 else np.concatenate(total) for total in totals]


class Show(show.Show):
    """show.Show for a graph script: the variables it counts and saves are the graph's.

        show = training.Show(args, mnist)          # after the graph is built
        ...
        show.finish(sess, X, Y, {pkeep: 1.0})      # --save-model keeps X -> Y with pkeep fixed at 1
    """

    def __init__(self, args, mnist, panels=("Weights", "Biases")):
        super().__init__(args, mnist, [v.shape.as_list() for v in tf.trainable_variables()], panels)

    def finish(self, sess, X, Y, testing_feed=None):
        """The summary and the files asked for; the saved network computes Y from X with
        testing_feed (e.g. {pkeep: 1.0}) fixed in it."""
        super().finish(sess.run(tf.trainable_variables()),
                       lambda directory: savedmodel.save(sess, directory, X, Y, testing_feed or {}))
