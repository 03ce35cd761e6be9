"""Promises of the batch-normalisation scripts 4.0 to 5.2: at test time a digit's prediction is
its own, whatever batch it comes in, because the moving averages replace the batch statistics; the
5.x steps train on augmented digits, and 5.2 adds label smoothing and a clean finish."""
import os
import runpy
import sys

import numpy as np
import pytest

import lessons
import mnistdata
import training
from conftest import SCRIPTS, TUTORIAL

BATCHNORM_SCRIPTS = [script for script in SCRIPTS if lessons.order(script) >= (4, 0)]
AUGMENTED_SCRIPTS = [script for script in SCRIPTS if lessons.order(script) >= (5, 0)]
FINISH = lessons.named("5.2")  # label smoothing, a cosine schedule and a clean finish


def build(script, monkeypatch, *flags):
    """The script's graph, as the pieces it hands to training.run, without training it."""
    captured = {}
    monkeypatch.setattr(training, "run", lambda args, **model: captured.update(model, args=args))
    monkeypatch.setattr(sys, "argv", [script, "--headless", *flags])
    runpy.run_path(os.path.join(TUTORIAL, script), run_name="__main__")
    return captured


def as_fed(images, labels, n):
    """The first n digits as the scripts are fed them: pixels in [0, 1], labels one-hot."""
    return mnistdata.to_float(images[:n]), mnistdata.to_labels(labels[:n], one_hot=True)


def network_input():
    """XA: what the first convolution of a 5.x script reads, after augmentation (or none)."""
    import tensorflow.compat.v1 as tf
    operations = tf.get_default_graph().get_operations()
    return next(op.inputs[0] for op in operations if op.type == "Conv2D")


def feed(model, images, labels, step, mode):
    values = {model["X"]: images, model["Y_"]: labels, model["step"]: step}
    values.update(model["training_feed"] if mode == "training" else model["testing_feed"])
    return values


@pytest.mark.parametrize("script", BATCHNORM_SCRIPTS)
def test_test_mode_predicts_each_digit_the_same_alone_or_in_any_batch(script, mnist, monkeypatch):
    import tensorflow.compat.v1 as tf
    model = build(script, monkeypatch)
    images, labels = as_fed(mnist.train_images, mnist.train_labels, 2000)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(40):  # move the weights and the moving averages away from their start
            batch = slice(step * 50, step * 50 + 50)
            sess.run(model["train_step"], feed(model, images[batch], labels[batch], step, "training"))

        test_images, test_labels = as_fed(mnist.test_images, mnist.test_labels, 20)
        predict = lambda x, y, mode="testing": sess.run(model["Y"], feed(model, x, y, 40, mode))  # noqa: E731
        together = predict(test_images, test_labels)
        twice = predict(test_images, test_labels)
        reversed_batch = predict(test_images[::-1], test_labels[::-1])[::-1]
        alone = np.concatenate([predict(test_images[i:i + 1], test_labels[i:i + 1]) for i in range(20)])
        np.testing.assert_array_equal(together, twice)
        np.testing.assert_allclose(reversed_batch, together, atol=1e-5)
        np.testing.assert_allclose(alone, together, atol=1e-5)

        # in training mode the batch's own statistics are used: the batch does change the answer
        in_training = predict(test_images[:10], test_labels[:10], "training")
        assert not np.allclose(in_training, together[:10], atol=1e-3)


@pytest.mark.parametrize("script", BATCHNORM_SCRIPTS)
def test_panels_4_and_5_show_batch_max_activations(script, monkeypatch):
    model = build(script, monkeypatch)
    titles = list(model["panels"])
    assert len(titles) == 2 and all("batch max" in title for title in titles)


@pytest.mark.parametrize("script", AUGMENTED_SCRIPTS)
def test_augmentation_keeps_each_image_with_its_label_and_pixels_in_0_1(script, mnist, monkeypatch):
    import tensorflow.compat.v1 as tf
    model = build(script, monkeypatch)
    XA = network_input()
    images, labels = as_fed(mnist.test_images, mnist.test_labels, 50)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(XA, feed(model, images, labels, 0, "training"))
        second = sess.run(XA, feed(model, images, labels, 0, "training"))
        as_tested = sess.run(XA, feed(model, images, labels, 0, "testing"))
    np.testing.assert_array_equal(as_tested, images)  # test images are never changed
    assert first.shape == images.shape
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert not np.allclose(first, second)  # new changes every time an image is seen
    # the batch keeps its order: each changed image is most like an original of its own label, moved
    # back into place (the best of all shifts up to 4 pixels), so its label still belongs to it
    shifted = np.stack([np.roll(images[..., 0], (dy, dx), axis=(1, 2))
                        for dy in range(-4, 5) for dx in range(-4, 5)], axis=1)  # [50, 81, 28, 28]
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    changed = unit(first.reshape(50, 784))
    originals = unit(shifted.reshape(50, 81, 784))
    similarity = np.einsum("ip,jsp->ijs", changed, originals).max(axis=2)  # [changed, original]
    digits = mnist.test_labels[:50]
    assert np.array_equal(digits[similarity.argmax(axis=1)], digits)
    assert not np.allclose(first, images)


def test_label_smoothing_trains_towards_091_and_measures_against_the_true_labels(mnist, monkeypatch):
    import tensorflow.compat.v1 as tf
    model = build(FINISH, monkeypatch)
    # the placeholder fed 0.1 in training and 0 in testing
    smoothing = next(p for p, value in model["training_feed"].items()
                     if value == pytest.approx(0.1) and model["testing_feed"][p] == 0.0)
    images, labels = as_fed(mnist.test_images, mnist.test_labels, 50)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(20):  # fill batch norm's averages, so testing mode gives sane numbers
            sess.run(model["train_step"], feed(model, images, labels, step, "training"))
        testing = feed(model, images, labels, 20, "testing")
        probabilities, tested_loss = sess.run([model["Y"], model["cross_entropy"]], testing)
        smoothed_loss = sess.run(model["cross_entropy"], {**testing, smoothing: 0.1})
    log_p = np.log(probabilities.astype(np.float64))
    true_loss = -np.mean(np.sum(labels * log_p, axis=1)) * 100
    smoothed_targets = labels * 0.9 + 0.01  # 0.91 on the right digit, 0.01 on the others
    assert np.allclose(smoothed_targets.sum(axis=1), 1.0)
    expected_smoothed = -np.mean(np.sum(smoothed_targets * log_p, axis=1)) * 100
    assert tested_loss == pytest.approx(true_loss, rel=1e-3)
    assert smoothed_loss == pytest.approx(expected_smoothed, rel=1e-3)
    assert smoothed_loss > tested_loss  # the nine small targets cost something on a confident net


@pytest.mark.parametrize("flags, clean_from", [((), 27000), (("--iterations", "1000"), 900)])
def test_the_last_tenth_of_training_sees_the_digits_unchanged(flags, clean_from, mnist, monkeypatch):
    import tensorflow.compat.v1 as tf
    model = build(FINISH, monkeypatch, *flags)
    XA = network_input()
    images, labels = as_fed(mnist.test_images, mnist.test_labels, 20)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        seen = {step: sess.run(XA, feed(model, images, labels, step, "training"))
                for step in (0, clean_from - 1, clean_from, clean_from + 50)}
    assert not np.allclose(seen[0], images)  # augmented for the first nine tenths
    assert not np.allclose(seen[clean_from - 1], images)
    np.testing.assert_array_equal(seen[clean_from], images)  # then the digits as they are
    np.testing.assert_array_equal(seen[clean_from + 50], images)
