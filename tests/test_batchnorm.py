"""Promises of the batch-normalisation scripts 4.0 to 5.2: at test time a digit's prediction is
its own, whatever batch it comes in, because the moving averages replace the batch statistics; the
5.x steps train on augmented digits, and 5.2 adds label smoothing and a clean finish."""
import os
import runpy
import sys

import numpy as np
import pytest

from mnist_tutorial import data
from mnist_tutorial import lessons
from mnist_tutorial import mnistdata
from mnist_tutorial import training
from mnist_tutorial import visualisation
from conftest import SCRIPTS, TUTORIAL

BATCHNORM_SCRIPTS = [script for script in SCRIPTS if lessons.order(script) >= (4, 0)]
AUGMENTED_SCRIPTS = [script for script in SCRIPTS if lessons.order(script) >= (5, 0)]
FINISH = lessons.named("5.2")  # label smoothing, a cosine schedule and a clean finish


class GraphBuilt(Exception):
    pass


def build(script, monkeypatch, *flags):
    """The script's own names (X, Y_, step, is_test, pkeep, train_step, ...) once its graph is built,
    stopped where its run begins: nothing is trained."""
    def stop_here(args):
        raise GraphBuilt
    monkeypatch.setattr(training, "load_mnist", stop_here)
    monkeypatch.setattr(sys, "argv", [script, "--headless", *flags])
    path = os.path.join(TUTORIAL, script)
    names = {"__name__": "__main__", "__file__": path}
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    with pytest.raises(GraphBuilt):
        exec(code, names)
    return names


def as_fed(images, labels, n):
    """The first n digits as the scripts are fed them: pixels in [0, 1], labels one-hot."""
    return mnistdata.to_float(images[:n]), mnistdata.to_labels(labels[:n], one_hot=True)


def feed(model, images, labels, step, mode):
    """The feed of a training step ("training") or of a measurement ("testing")."""
    training_values = {"is_test": False, "pkeep": 0.75, "smoothing": 0.1}
    testing_values = {"is_test": True, "pkeep": 1.0, "smoothing": 0.0}
    values = {model["X"]: images, model["Y_"]: labels, model["step"]: step}
    for name, value in (training_values if mode == "training" else testing_values).items():
        if name in model:
            values[model[name]] = value
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
    titles = []
    monkeypatch.setattr(training, "Show", lambda args, mnist, panels=(): titles.extend(panels) or stop())

    def stop():
        raise GraphBuilt
    monkeypatch.setattr(training, "load_mnist", lambda args: None)
    monkeypatch.setattr(sys, "argv", [script, "--headless"])
    with pytest.raises(GraphBuilt):
        runpy.run_path(os.path.join(TUTORIAL, script), run_name="__main__")
    assert len(titles) == 2 and all("batch max" in title for title in titles)


@pytest.mark.parametrize("script", AUGMENTED_SCRIPTS)
def test_augmentation_keeps_each_image_with_its_label_and_pixels_in_0_1(script, mnist, monkeypatch):
    import tensorflow.compat.v1 as tf
    model = build(script, monkeypatch)
    images, labels = as_fed(mnist.test_images, mnist.test_labels, 50)
    with tf.Session() as sess:
        first = sess.run(model["augmented"], {model["X"]: images})
        second = sess.run(model["augmented"], {model["X"]: images})
    assert first.shape == images.shape
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert not np.allclose(first, second)  # new changes every time an image is seen
    # the batch keeps its order: a changed image is most like an original of its own label, moved
    # back into place (the best of all shifts up to 4 pixels), so its label still belongs to it. Turned
    # and zoomed, an odd 4 can look more like a 9 than like any shifted 4: allow three of fifty
    # (a batch out of order would match about one in ten)
    shifted = np.stack([np.roll(images[..., 0], (dy, dx), axis=(1, 2))
                        for dy in range(-4, 5) for dx in range(-4, 5)], axis=1)  # [50, 81, 28, 28]
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    changed = unit(first.reshape(50, 784))
    originals = unit(shifted.reshape(50, 81, 784))
    similarity = np.einsum("ip,jsp->ijs", changed, originals).max(axis=2)  # [changed, original]
    digits = mnist.test_labels[:50]
    assert np.sum(digits[similarity.argmax(axis=1)] == digits) >= 47
    assert not np.allclose(first, images)


def test_label_smoothing_trains_towards_091_and_measures_against_the_true_labels(mnist, monkeypatch):
    import tensorflow.compat.v1 as tf
    model = build(FINISH, monkeypatch)
    smoothing = model["smoothing"]  # fed 0.1 in training, 0 when measuring
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


def watch_a_run(script, monkeypatch, tmp_path, *flags):
    """Run a script in this process, recording each raw batch it draws, the images it feeds to each
    training step, and the digits it hands to the training panel."""
    import tensorflow.compat.v1 as tf
    seen = {"raw": [], "trained": [], "panel": []}
    next_batch = data.Batches.next_batch

    def drawn(self, size):
        batch = next_batch(self, size)
        seen["raw"].append(batch[0])
        return batch
    monkeypatch.setattr(data.Batches, "next_batch", drawn)
    run = tf.Session.run

    def session_run(self, fetches, feed_dict=None, **options):
        if isinstance(fetches, tf.Operation) and feed_dict:  # sess.run(train_step, feed_dict=train_data)
            seen["trained"].append(next(value for value in feed_dict.values() if np.ndim(value) == 4))
        return run(self, fetches, feed_dict, **options)
    monkeypatch.setattr(tf.Session, "run", session_run)
    add_training = visualisation.Animation.add_training

    def panel(self, step, accuracy, loss, images=None, labels=None, predictions=None):
        seen["panel"].append((step, images))
        add_training(self, step, accuracy, loss, images, labels, predictions)
    monkeypatch.setattr(visualisation.Animation, "add_training", panel)
    # measured on 1,000 held-out training images, not the 10,000 test images: this is about the
    # training batches, and a test pass of 5.x's networks takes seconds
    monkeypatch.setattr(sys, "argv", [script, "--headless", "--validation", "1000", "--save-png",
                                      str(tmp_path / "end.png"), *flags])
    runpy.run_path(os.path.join(TUTORIAL, script), run_name="__main__")
    return seen


def test_the_training_panel_shows_the_augmented_digits_the_network_learns_from(mnist, monkeypatch, tmp_path):
    seen = watch_a_run(lessons.named("5.0"), monkeypatch, tmp_path, "--iterations", "40", "--test-every", "40")
    assert len(seen["raw"]) == 41 and len(seen["trained"]) == 40
    for step, images in seen["panel"]:  # steps 0, 20, 40
        assert not np.allclose(images, seen["raw"][step])  # not the batch as drawn from MNIST ...
        if step < 40:
            np.testing.assert_array_equal(images, seen["trained"][step])  # ... the batch it trains on


@pytest.mark.parametrize("steps, clean_from", [(20, 18), (30, 27)])
def test_the_last_tenth_of_training_sees_the_digits_unchanged(steps, clean_from, mnist, monkeypatch, tmp_path):
    seen = watch_a_run(FINISH, monkeypatch, tmp_path, "--iterations", str(steps), "--test-every", str(steps))
    assert len(seen["trained"]) == steps
    for step, (raw, trained) in enumerate(zip(seen["raw"], seen["trained"])):
        if step < clean_from:
            assert not np.allclose(trained, raw), step  # augmented for the first nine tenths
        else:
            np.testing.assert_array_equal(trained, raw)  # then the digits as they are
