"""LivePanels: the codelab's six panels for anyone's Keras `fit`, in one line.

    from mnist_tutorial import LivePanels
    model.fit(x, y, epochs=3, batch_size=128, validation_data=(x_test, y_test), callbacks=[LivePanels()])

It reads the training and validation data from the `fit` it is passed to (numpy arrays, tensors or
a tf.data dataset; images [N, H, W], [N, H, W, 1 or 3] or MNIST's rows of 784, bytes or floats;
integer or one-hot labels; a model that answers probabilities or logits, any number of classes)
and hands what it measures to the same Show that the numbered scripts use: accuracy and loss, the
training digits, the weights and biases, the validation digits, the notes on the curves, and at
the end the summary and the files asked for. It never reads sys.argv.

Measured with the network as it tests (dropout off): every `log_every` steps on the next 100 of
a fixed sample of training images, and every epoch (or every `test_every` steps) on up to
`test_images` validation images. A closed window, or a picture that fails, is said once and the
training goes on; Ctrl-C stops it between two steps, and `fit` returns.
"""
import inspect
import math

from . import startup  # noqa: F401  first: it imports TensorFlow, quietly
import keras  # noqa: E402
import numpy as np
import tensorflow as tf

from .data import Images, Mnist
from .interrupts import Interrupted
from .mnistdata import UserError
from .show import Settings, Show, weights_and_biases

TRAINING_SAMPLE = 1000  # training images drawn once, shown 100 at a time
SHOWN = 100  # training digits in panel 3


class CannotDraw(Exception):
    """The data or the model is not something the panels can show: one line, and no panels."""


class LivePanels(keras.callbacks.Callback):
    """The six panels for a Keras fit. Every option is a keyword. where: "auto" (a Jupyter cell in a notebook, else a window when there is a display, else text
        lines) or "text" (lines only; the files asked for are still written).
    test_every: "epoch", or a number of steps between two measures on the validation images.
    log_every: steps between two measures on a batch of training images.
    test_images: how many validation images are measured (the first ones), at most.
    validation_data, training_data: (images, labels) or a tf.data dataset, instead of fit's.
    layout: the first view, numbered as the window's keys ("0" all six, "7" accuracy and loss, ...).
    save_png, save_movie (movie_fps), save_report (the mistakes), results (JSON), tensorboard (a
        folder): the files the scripts' flags of the same names write.
    from_logits: True or False when the model's outputs are logits or probabilities; None: told by
        the compiled loss, else by the outputs themselves.
    title: the picture's title (default: the model's name). seed: which training images are shown.
    wait: in a window, whether the end of fit waits for the window to be closed (True) or leaves it.
    drawing_share: the live picture's largest share of training time (the scripts': 0.15).
    """

    def __init__(self, where="auto", test_every="epoch", log_every=20, test_images=10000, validation_data=None,
                 training_data=None, layout="0", save_png=None, save_movie=None, movie_fps=10, save_report=None,
                 results=None, tensorboard=None, from_logits=None, title=None, seed=0, wait=True,
                 drawing_share=0.08):
        super().__init__()
        if where not in ("auto", "text"):
            raise ValueError(f"LivePanels(where={where!r}): where is 'auto' or 'text'")
        if test_every != "epoch" and not (isinstance(test_every, int) and test_every > 0):
            raise ValueError(f"LivePanels(test_every={test_every!r}): 'epoch' or a whole number of steps")
        self.where, self.test_every, self.log_every, self.test_images = where, test_every, log_every, test_images
        self.given = {"validation": validation_data, "training": training_data}
        self.settings = Settings(headless=where == "text", layout=str(layout), save_png=save_png,
                                 save_movie=save_movie, movie_fps=movie_fps, save_report=save_report,
                                 results=results, tensorboard=tensorboard, seed=seed)
        self.from_logits, self.title, self.seed, self.wait, self.drawing_share = (from_logits, title, seed, wait,
                                                                                  drawing_share)
        self.show = None

    # --- Keras's hooks ------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.show = None
        try:
            self.prepare(fit_arguments(self.model))
        except CannotDraw as e:
            print(f"LivePanels: {e}: training goes on without the panels", flush=True)
            return
        self.step, self.epoch_start, self.logged, self.tested = 0, 0, None, None
        self.show.start()
        self.measure(0)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_start = self.step if self.show else 0
        if self.show and self.test_every == "epoch" and self.validation:
            self.measure_test(self.step)

    def on_train_batch_end(self, batch, logs=None):
        if not self.show:
            return
        self.step = self.epoch_start + batch + 1  # batch: the last step of this call, counted in the epoch
        if not self.show.next_step(self.step):  # Ctrl-C: no more training
            self.model.stop_training = True
            return
        self.measure(self.step)

    def on_train_end(self, logs=None):
        if not self.show:
            return
        show = self.show
        if show.next_step(self.step) and self.validation and self.tested != self.step:
            self.measure_test(self.step)  # the network as training left it
        show.end()
        try:
            show.finish([v.numpy() for v in self.model.trainable_variables], None)
        except (Interrupted, UserError) as e:
            print(f"{show.title}: {e}", flush=True)  # Ctrl-C, a file not written: fit returns all the same

    # --- what is measured ---------------------------------------------------------------------------

    def measure(self, step):
        if self.logged is None or step - self.logged >= self.log_every:
            self.measure_training(step)
        if self.validation and (self.tested is None or self.test_every != "epoch"
                                and step - self.tested >= self.test_every):
            self.measure_test(step)

    def measure_training(self, step):
        sample = self.training
        start = (self.logged_batches * SHOWN) % len(sample.labels)
        rows = np.arange(start, start + SHOWN) % len(sample.labels)
        self.logged_batches += 1
        probabilities = self.probabilities(sample.inputs[rows])
        accuracy, loss = accuracy_and_loss(sample.labels[rows], probabilities)
        self.show.training(step, accuracy, loss, sample.images[rows], sample.labels[rows], probabilities,
                           learning_rate(self.model))
        self.logged = step

    def measure_test(self, step):
        held = self.validation
        probabilities = np.concatenate([self.probabilities(held.inputs[start:start + 1000])
                                        for start in range(0, len(held.labels), 1000)])
        accuracy, loss = accuracy_and_loss(held.labels, probabilities)
        self.show.test(step, accuracy, loss, probabilities,
                       *weights_and_biases([v.numpy() for v in self.model.trainable_variables]))
        self.tested = step

    def probabilities(self, inputs):
        outputs = np.asarray(self.answers(inputs), dtype=np.float64)
        if self.logits:
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs /= outputs.sum(axis=1, keepdims=True)
        return outputs

    # --- reading what fit was given -----------------------------------------------------------------

    def prepare(self, fit):
        """The data, the model's answers and the Show, or CannotDraw naming what is wrong."""
        model = self.model
        self.answers = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
        training, validation = fit_data(fit, self.given)
        inputs, labels = first_examples(training, None, "training")
        if len(labels) > TRAINING_SAMPLE:
            chosen = np.sort(np.random.default_rng(self.seed).choice(len(labels), TRAINING_SAMPLE, replace=False))
            inputs, labels = inputs[chosen], labels[chosen]
        scale = pixel_scale(inputs)
        answers = np.asarray(self.answers(inputs[:2]))
        if answers.ndim != 2 or answers.shape[1] < 2:
            raise CannotDraw(f"the model answers {list(answers.shape[1:])} per image, not one score per class")
        classes = answers.shape[1]
        self.logits = answers_are_logits(model, answers, self.from_logits)
        self.training = Examples(inputs, labels, classes, scale, "training")
        self.validation = None
        if validation is None:
            print("LivePanels: no validation data: the validation curves, the validation digits and the "
                  "report of mistakes are left out (pass validation_data to fit)", flush=True)
            held_out = Images(np.zeros((0,) + self.training.images.shape[1:], np.float32), np.zeros(0, int))
        else:
            v_inputs, v_labels = first_examples(validation, self.test_images, "validation")
            self.validation = Examples(v_inputs, v_labels, classes, scale, "validation")
            held_out = Images(self.validation.images, self.validation.labels)
        steps, epochs = self.params.get("steps"), self.params.get("epochs") or 1
        self.settings.iterations = steps * epochs if steps else None
        self.settings.batch_size = (fit.get("batch_size") if isinstance(fit.get("batch_size"), int)
                                    else first_batch_size(training))
        self.logged_batches = 0
        title = self.title or f"LivePanels: {model.name}"
        print(f"{title}: {epochs} epoch{'s' if epochs != 1 else ''}" + (f" of {steps} steps" if steps else "")
              + f"; {classes} classes; {self.training.describe()}; answers as "
              f"{'logits' if self.logits else 'probabilities'}", flush=True)
        self.show = Show(self.settings, Mnist(Sized(count(training)), held_out, "validation"), None, title=title,
                         steps_per_epoch=steps or math.inf, keep_training=True, training_lines=False, wait=self.wait,
                         drawing_share=self.drawing_share)


class Examples:
    """Some images as the model takes them (inputs), as the panels draw them (images, NHWC in [0, 1])
    and their labels as integers."""

    def __init__(self, inputs, labels, classes, scale, what):
        self.inputs = inputs
        self.labels = integer_labels(labels, classes, what)
        self.images = drawable(inputs, scale, what)

    def describe(self):
        height, width, channels = self.images.shape[1:]
        return f"images {height}x{width}{' in colour' if channels == 3 else ''}"


class Sized:
    """Stands for the training set where only its size is needed."""

    def __init__(self, size):
        self.size = size

    def __len__(self):
        return self.size or 0


def fit_data(fit, given):
    """(training, validation): what LivePanels was given, else what fit was (validation may be None)."""
    training = given["training"]
    if training is None:
        if "x" not in fit:
            raise CannotDraw("cannot find the training data (not called from Keras's fit): "
                             "pass training_data=(images, labels)")
        training = fit["x"] if fit.get("y") is None else (fit["x"], fit["y"])
    return training, given["validation"] if given["validation"] is not None else fit.get("validation_data")


def fit_arguments(model):
    """The arguments of the Keras fit that is calling us (x, y, validation_data, batch_size), read
    from its frame: Keras hands a callback the model, not the data. {} when not called from fit."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
                return dict(frame.f_locals)
            frame = frame.f_back
        return {}
    finally:
        del frame


def first_examples(data, most, what):
    """(inputs, labels) as numpy arrays: the first `most` of arrays, or of a dataset's batches."""
    if isinstance(data, tf.data.Dataset):
        inputs, labels, total = [], [], 0
        for element in data:
            if not isinstance(element, (tuple, list)) or len(element) < 2:
                raise CannotDraw(f"the {what} dataset gives {type(element).__name__}s, not (images, labels)")
            inputs.append(np.asarray(element[0]))
            labels.append(np.asarray(element[1]))
            total += len(labels[-1])
            if total >= (most or TRAINING_SAMPLE):
                break
        if not inputs:
            raise CannotDraw(f"the {what} dataset is empty")
        data = (np.concatenate(inputs), np.concatenate(labels))
    if not isinstance(data, (tuple, list)) or len(data) < 2:
        raise CannotDraw(f"the {what} data is a {type(data).__name__}: LivePanels reads (images, labels) as "
                         f"arrays or a tf.data dataset; pass {what}_data=(images, labels)")
    inputs, labels = data[0], data[1]
    if isinstance(inputs, (dict, list, tuple)):
        raise CannotDraw(f"the model takes several inputs ({type(inputs).__name__}): the panels draw one image each")
    inputs, labels = np.asarray(inputs), np.asarray(labels)
    if most:
        inputs, labels = inputs[:most], labels[:most]
    if len(inputs) != len(labels):
        raise CannotDraw(f"{len(inputs)} {what} images but {len(labels)} labels")
    return inputs, labels


def first_batch_size(training):
    """The size of a dataset's first batch (fit's batch size for arrays is known, 32 unless told)."""
    if isinstance(training, tf.data.Dataset):
        for element in training.take(1):
            return len(element[1]) if isinstance(element, (tuple, list)) and len(element) > 1 else None
        return None
    return 32  # Keras's default batch size for arrays


def count(training):
    """How many training examples fit sees, where it can be told."""
    data = training[0] if isinstance(training, (tuple, list)) else training
    if hasattr(data, "shape"):
        return int(data.shape[0])
    cardinality = int(data.cardinality()) if isinstance(data, tf.data.Dataset) else -1
    return None if cardinality < 0 else cardinality  # batches of a dataset, not images: unknown


def pixel_scale(inputs):
    """(low, high): the pixel values drawn as black and white; bytes 0-255, floats 0-1 where they
    fit, else their own range."""
    values = np.asarray(inputs)
    if values.dtype == np.uint8:
        return 0.0, 255.0
    low, high = float(values.min()), float(values.max())
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    if low >= 0 and high <= 255 and high > 1 and np.all(values == np.round(values)):  # bytes, as floats
        return 0.0, 255.0
    return low, high if high > low else low + 1


def drawable(inputs, scale, what):
    """inputs as images NHWC in [0, 1], or CannotDraw."""
    images = np.asarray(inputs, dtype=np.float32)
    shape = list(images.shape[1:])
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise CannotDraw(f"the {what} images are rows of {images.shape[1]} values, which make no square picture")
        images = images.reshape(-1, side, side, 1)
    elif images.ndim == 3:
        images = images[..., None]
    elif images.ndim == 4 and images.shape[-1] not in (1, 3) and images.shape[1] in (1, 3):
        images = images.transpose(0, 2, 3, 1)  # channels first
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise CannotDraw(f"the {what} images have the shape {shape}, which is not a picture "
                         f"(height, width and 1 or 3 channels)")
    low, high = scale
    return np.clip((images - low) / (high - low), 0.0, 1.0)


def integer_labels(labels, classes, what):
    """Labels as integers from 0 to classes - 1, from integers or one-hot rows, or CannotDraw."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 2:
        if labels.shape[1] != classes:
            raise CannotDraw(f"the {what} labels are rows of {labels.shape[1]} but the model answers {classes} classes")
        labels = np.argmax(labels, 1)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.number):
        raise CannotDraw(f"the {what} labels have the shape {list(labels.shape[1:])}: one class number or "
                         f"one-hot row per image expected")
    if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= classes:
        raise CannotDraw(f"the {what} labels run from {labels.min():g} to {labels.max():g}, but the model "
                         f"answers {classes} classes (0 to {classes - 1})")
    return labels.astype(np.int64)


def answers_are_logits(model, answers, from_logits):
    """Whether the model answers logits: as told, else as its compiled loss says, else as its
    answers look (probabilities are between 0 and 1 and sum to 1)."""
    if from_logits is not None:
        return bool(from_logits)
    told = getattr(getattr(model, "loss", None), "from_logits", None)
    if told is not None:
        return bool(told)
    looks_like_probabilities = (answers.min() >= 0 and answers.max() <= 1
                                and np.allclose(answers.sum(axis=1), 1, atol=1e-3))
    return not looks_like_probabilities


def accuracy_and_loss(labels, probabilities):
    """The share of images whose likeliest class is right, and the mean cross-entropy."""
    accuracy = float(np.mean(np.argmax(probabilities, 1) == labels))
    loss = float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1))))
    return accuracy, loss


def learning_rate(model):
    """The optimizer's learning rate now, when it has one that reads as a number."""
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except Exception:  # a schedule of one's own that cannot be read: the lines leave it out
        return None
