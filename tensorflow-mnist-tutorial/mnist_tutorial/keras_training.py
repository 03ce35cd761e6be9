"""The Keras twins' shared code: what `fit` and a `tf.function` loop need beside the lesson.

    args = keras_training.setup(__doc__, iterations=10000)   # the same flags; TensorFlow stays eager
    model = keras.Sequential([...])                         # the lesson
    model.compile(optimizer=..., loss=keras_training.cross_entropy)
    mnist = keras_training.load_mnist(args)                 # the graph scripts' loader
    batches = keras_training.Batches(mnist, args)           # tf.data: the graph twin's batches
    show = keras_training.Show(args, mnist, model, batches)  # the graph scripts' Show
    model.fit(batches.dataset, steps_per_epoch=args.iterations, shuffle=False, callbacks=[show.callback()], verbose=0)
    show.finish(model)

The callback is a thin adapter from Keras's hooks to what a graph script's loop hands Show: before
step i it measures the batch step i trains on (every --log-every steps) and the test images
(every --test-every steps), with the network as it tests (dropout off, batch norm's averages), and
lets the window, Ctrl-C and Space have their say; fit does the training. A loop of one's own
(tf.GradientTape in a tf.function) calls show.steps() and the same measures: answers(),
accuracy_and_loss(), spread().
"""
import math

from . import startup  # noqa: F401  first: it imports TensorFlow, quietly
from . import command_line
from . import data
import keras
import numpy as np
import tensorflow as tf

from . import mnistdata
from . import savedmodel
from . import show as show_module
from .data import load_mnist  # noqa: F401  the twins' keras_training.load_mnist(args)
from .mnistdata import UserError


def setup(description, iterations, batch_size=100, test_every=100):
    """The command line the graph scripts take (and --steps-per-execution), and every seed."""
    def keras_flags(parser):
        parser.add_argument("--steps-per-execution", type=command_line.whole_number(0), default=0, metavar="N",
                            help="training steps Keras runs per call; the picture and Ctrl-C wait for the "
                                 "call to end (default 0: as many as divide --log-every, --test-every "
                                 "and --iterations)")

    args = command_line.parse(description, iterations, batch_size, test_every, more=keras_flags)
    if not args.steps_per_execution:
        args.steps_per_execution = math.gcd(args.log_every, args.test_every, args.iterations)
    if not tf.executing_eagerly():  # a graph script ran before, in this notebook's kernel
        eager_again()
    use_threads(args.threads)
    keras.utils.set_random_seed(args.seed)  # the weights' starting values, dropout
    tf.config.experimental.enable_op_determinism()  # same seed, same numbers
    return args


def eager_again():
    """Undo a graph script's tf.disable_eager_execution() in this process (a notebook's kernel runs
    one script after another): forget its graph, turn eager execution back on, and make eager the
    outermost context again, where tf.function lifts what it creates (Adam's slots, for one)."""
    from tensorflow.python.eager import context
    tf.compat.v1.reset_default_graph()
    tf.compat.v1.enable_eager_execution()
    switches = context.context().context_switches
    if not switches.stack or switches.stack[0].enter_context_fn is not context.eager_mode:
        switches.push(False, context.eager_mode, None)


def use_threads(threads):
    """--threads: CPU threads per operation (0: one per core). TensorFlow fixes them when it starts
    running, so in a notebook kernel that ran a script before they stay as they were: a --threads
    that asks for others is then one line saying so."""
    threading = tf.config.threading
    for get, put in ((threading.get_intra_op_parallelism_threads, threading.set_intra_op_parallelism_threads),
                     (threading.get_inter_op_parallelism_threads, threading.set_inter_op_parallelism_threads)):
        if get() != threads:
            try:
                put(threads)
            except RuntimeError:
                if threads:
                    raise UserError(f"--threads {threads}: TensorFlow already runs here with "
                                    f"{get() or 'one per core'}; restart the kernel to change them") from None


def cross_entropy(labels, probabilities):
    """The graph twins' loss: the cross-entropy of each image, times 100 (Keras averages it over the
    batch: the sum over a batch of 100), so the printed losses and the learning rates are theirs."""
    return 100.0 * keras.losses.categorical_crossentropy(labels, probabilities)


class LearningRateDecay(keras.optimizers.schedules.LearningRateSchedule):
    """floor + start * (1/e)^(step / time_constant): the graph twins' learning rate, which they
    compute from the step they feed; Keras calls a schedule with the optimizer's step count."""

    def __init__(self, start, floor, time_constant):
        self.start, self.floor, self.time_constant = start, floor, time_constant

    def __call__(self, step):
        return self.floor + self.start * keras.ops.exp(-keras.ops.cast(step, "float32") / self.time_constant)

    def get_config(self):
        return {"start": self.start, "floor": self.floor, "time_constant": self.time_constant}


class BatchNormalization(keras.layers.BatchNormalization):
    """Keras's batch norm as the graph twins do it: an offset and no scale, epsilon 1e-5, and
    testing averages whose momentum grows with the steps, min(0.999, (1 + step) / (10 + step)), as
    tf.train.ExponentialMovingAverage(0.999, step) does, so that they are usable after a few
    hundred steps (Keras's own momentum is fixed). offset: the offset's starting value."""

    def __init__(self, optimizer, offset=0.01, **options):
        super().__init__(center=True, scale=False, epsilon=1e-5, moving_variance_initializer="zeros",
                         beta_initializer=keras.initializers.Constant(offset), **options)
        self.optimizer = optimizer

    @property
    def momentum(self):
        step = keras.ops.cast(self.optimizer.iterations, "float32")
        return keras.ops.minimum(0.999, (1.0 + step) / (10.0 + step))

    @momentum.setter
    def momentum(self, value):
        pass  # Keras's constructor sets its fixed momentum; this layer's follows the step


class Batches:
    """The training batches as tf.data, from the project's loader: exactly the batches the graph
    twin's mnist.train.next_batch draws with the same --seed, in the same order, one per step.

    .dataset yields (images [batch, 28, 28, 1] in [0, 1], one-hot labels [batch, 10]) for fit;
    .at(step) gives the same batch as numpy arrays, for the picture. The images stay bytes (47 MB)
    until a batch is drawn, as in the graph scripts.
    """

    def __init__(self, mnist, args):
        drawn = data.shuffled_batches(len(mnist.train), args.batch_size, mnist.train.rng)
        # one row of image numbers per step (the last only measured), as small as they fit in
        self.order = np.stack([next(drawn) for _ in range(args.iterations + 1)]).astype(
            np.min_scalar_type(len(mnist.train) - 1))
        self.images, self.labels = mnist.train.images, mnist.train.labels
        images, labels = shared_with_tensorflow(self.images), tf.constant(self.labels)

        def batch(indices):
            indices = tf.cast(indices, tf.int32)
            return tf.cast(tf.gather(images, indices), tf.float32) / 255.0, tf.gather(labels, indices)

        self.dataset = without_autotune(tf.data.Dataset.from_tensor_slices(self.order[:-1]).map(batch))

    def at(self, step):
        indices = self.order[step]
        return mnistdata.to_float(self.images[indices]), self.labels[indices]


def without_autotune(dataset):
    """The dataset with tf.data's autotuning off. Its thread wakes at intervals that grow to a
    minute, and an iterator that fit drops waits for it: in about one run in three, fit returned
    40 s after its last step, the process idle. These pipelines take batches from memory, with
    nothing to tune."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def shared_with_tensorflow(array):
    """A tensor of the array's own memory, lent through DLPack (the 47 MB of training images are
    held once, not twice); a copy where it cannot be lent (read-only, or not on the 64-byte
    boundary TensorFlow's kernels need)."""
    if array.ctypes.data % 64 == 0 and array.flags.writeable and array.flags.c_contiguous:
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    return tf.constant(array)


def accuracy_and_loss(labels, probabilities):
    """The share of images whose most probable digit is right, and the loss as cross_entropy."""
    accuracy = float(np.mean(np.argmax(probabilities, 1) == np.argmax(labels, 1)))
    loss = float(np.mean(cross_entropy(labels, probabilities)))
    return accuracy, loss


class Show(show_module.Show):
    """show.Show for a Keras model: its variables counted, its weights and biases in panels 4 and 5
    (or what spread(images) gives), and the model saved for the drawing pad.

    panels and spread: what panels 4 and 5 show, and a function of the measured batch's images
    that gives their two arrays (4.2: each channel's largest output over the batch). optimizer:
    whose learning rate the lines show (the compiled model's unless told).
    """

    def __init__(self, args, mnist, model, batches=None, panels=("Weights", "Biases"), spread=None,
                 optimizer=None):
        self.model, self.batches, self.spread_of = model, batches, spread
        self.optimizer = optimizer or model.optimizer
        self.answers = tf.function(lambda images: model(images, training=False), reduce_retracing=True)
        super().__init__(args, mnist, [tuple(v.shape) for v in model.trainable_variables], panels)

    def measure_batch(self, step, images, labels):
        """Step's training report: the batch it trains on, answered by the network as it tests."""
        probabilities = self.answers(images).numpy()
        learning_rate = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        self.training(step, *accuracy_and_loss(labels, probabilities), images, labels, probabilities,
                      learning_rate)

    def measure_test(self, step, batch_images):
        """Step's test pass, --test-batch-size images at a time; panels 4 and 5 from the batch."""
        test, size = self.mnist.test, self.args.test_batch_size
        probabilities = np.concatenate([self.answers(test.images[start:start + size]).numpy()
                                        for start in range(0, len(test.images), size)])
        self.test(step, *accuracy_and_loss(test.labels, probabilities), probabilities,
                  *self.spread(batch_images))

    def spread(self, images):
        """What panels 4 and 5 show: all the weights and all the biases, unless told otherwise."""
        if self.spread_of:
            return [np.asarray(values) for values in self.spread_of(images)]
        return show_module.weights_and_biases([v.numpy() for v in self.model.trainable_variables])

    def callback(self):
        return ShowCallback(self)

    def finish(self, model):
        super().finish([v.numpy() for v in model.trainable_variables],
                       lambda directory: savedmodel.save_keras(model, directory))


class ShowCallback(keras.callbacks.Callback):
    """Keras's hooks to Show: before each step that is due, the graph twin's measures.

    Keras calls on_train_batch_end after each --steps-per-execution steps; what comes next is step
    end + 1, measured before it trains, as the graph scripts measure before sess.run(train_step).
    """

    def __init__(self, show):
        super().__init__()
        self.show = show

    def on_train_begin(self, logs=None):
        self.show.start()
        self.before_step(0)

    def on_train_batch_end(self, batch, logs=None):
        self.before_step(batch + 1)

    def on_train_end(self, logs=None):
        self.show.between_steps()  # Ctrl-C while the last reports were made
        self.show.end()

    def before_step(self, i):
        show, args = self.show, self.show.args
        if not show.next_step(i):  # Ctrl-C, or the window closed: no more training
            self.model.stop_training = True
            return
        logged = i % args.log_every == 0 or i == args.iterations
        tested = i % args.test_every == 0 or i == args.iterations
        if logged or tested:
            images, labels = show.batches.at(i)  # the batch step i trains on
            if logged:
                show.measure_batch(i, images, labels)
            if tested:
                show.measure_test(i, images)
