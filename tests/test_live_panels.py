"""Promises of LivePanels, the six panels for anyone's Keras fit: one import line in a file of one's
own, anywhere; the data as the user has it; one line for what it cannot draw; never the cost of
the user's run."""
import os
import re
import signal
import subprocess
import sys
import textwrap

import matplotlib.image
import numpy as np
import pytest

from conftest import ROOT, Window, clean_env, need
from kernel import Kernel
from mnist_tutorial import live_panels
from mnist_tutorial.live_panels import CannotDraw

FASHION = "/usr/share/datasets/fashion-mnist"

# A user's file: their data, their model, their fit. What differs from test to test is filled in.
USER_SCRIPT = """
import sys
import numpy as np
import keras
from mnist_tutorial import LivePanels, mnistdata

data = mnistdata.load({data_dir!r}, one_hot=False, pixels_as_bytes=True)
x, y = data.train_images[:{train}, :, :, 0], data.train_labels[:{train}]  # uint8 [N, 28, 28], integer labels
x_test, y_test = data.test_images[:1000, :, :, 0], data.test_labels[:1000]
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                          keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])  # logits
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, y, epochs={epochs}, batch_size=100, validation_data=(x_test, y_test), verbose=0,
          callbacks=[LivePanels({options})])
print("after fit:", sys.argv[1:])
"""


def user_script(folder, data_dir=None, train=3000, epochs=2, options=""):
    path = folder / "user_fit.py"
    path.write_text(USER_SCRIPT.format(data_dir=data_dir, train=train, epochs=epochs, options=options))
    return path


def run_user(script, *args, env=None, timeout=300):
    """The user's file run from its own folder, with flags of its own on the command line."""
    return subprocess.run([sys.executable, str(script), *args], cwd=script.parent, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def panel(picture, left, right, top, bottom):
    height, width = picture.shape[:2]
    return picture[int(top * height):int(bottom * height), int(left * width):int(right * width)]


def red_share(region):
    """Share of the pink-red cells of misrecognised digits."""
    r, g, b = region[..., 0], region[..., 1], region[..., 2]
    return float(((r > 0.9) & (g > 0.4) & (g < 0.7) & (b > 0.4) & (b < 0.7)).mean())


def test_a_users_fit_in_a_folder_of_its_own_draws_the_panels_and_ignores_its_flags(tmp_path, mnist):
    # uint8 [N, 28, 28] images, integer labels, a model that answers logits; sys.argv holds the
    # user's own flags, which LivePanels must not read
    script = user_script(tmp_path, options="save_png='panels.png', save_report='mistakes.png'")
    result = run_user(script, "--their-flag", "7", "-x")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "after fit: ['--their-flag', '7', '-x']" in result.stdout
    assert "answers as logits" in result.stdout
    tests = re.findall(r"^step +(\d+) +epoch +[\d.]+ +validation: accuracy (0\.\d+)", result.stdout, re.M)
    assert [int(step) for step, _ in tests] == [0, 30, 60]  # before training, then every epoch
    assert float(tests[0][1]) < 0.3 < 0.8 < float(tests[-1][1])  # it learnt, and the panels saw it
    picture = matplotlib.image.imread(tmp_path / "panels.png")[..., :3]
    assert picture.shape == (720, 1280, 3)
    assert red_share(panel(picture, 0.70, 1.0, 0.5, 1.0)) > 0.002  # the validation digits, mistakes first
    assert matplotlib.image.imread(tmp_path / "mistakes.png").shape[:2] == (720, 1280)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".partial-")]


def test_colour_images_from_a_dataset_with_one_hot_labels(tmp_path):
    # CIFAR-10's shape: [N, 32, 32, 3] floats, one-hot labels, a softmax model, tf.data datasets
    script = tmp_path / "colour.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, tensorflow as tf, keras
        from mnist_tutorial import LivePanels
        rng = np.random.default_rng(0)
        labels = rng.integers(0, 10, 1200)
        images = rng.random((1200, 32, 32, 3), dtype=np.float32) * 0.5
        images[np.arange(1200), :, :, labels % 3] += 0.05 * labels[:, None, None]  # a colour tells the class
        one_hot = keras.utils.to_categorical(labels, 10)
        train = tf.data.Dataset.from_tensor_slices((images[:1000], one_hot[:1000])).batch(50)
        test = tf.data.Dataset.from_tensor_slices((images[1000:], one_hot[1000:])).batch(50)
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                                  keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "categorical_crossentropy")
        model.fit(train, epochs=2, validation_data=test, verbose=0, callbacks=[LivePanels(save_png="colour.png")])
        """))
    result = run_user(script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "images 32x32 in colour" in result.stdout and "answers as probabilities" in result.stdout
    picture = matplotlib.image.imread(tmp_path / "colour.png")[..., :3]
    digits = panel(picture, 0.75, 0.95, 0.1, 0.43)  # the training images, drawn as they are
    saturation = digits.max(axis=2) - digits.min(axis=2)
    assert (saturation > 0.3).mean() > 0.2  # in colour, not grey


def test_fashion_mnist_gets_the_panels_too(tmp_path):
    if not os.path.isdir(FASHION):
        need("Debian's dataset-fashion-mnist", "apt-get install dataset-fashion-mnist (as .ci/run does)")
    script = user_script(tmp_path, data_dir=FASHION, train=2000, epochs=1, options="save_png='fashion.png'")
    result = run_user(script)
    assert result.returncode == 0, result.stderr[-3000:]
    final = float(re.search(r"^final validation accuracy (0\.\d+)", result.stdout, re.M).group(1))
    assert 0.5 < final < 0.95  # clothes, learnt a little: not MNIST's digits
    assert (tmp_path / "fashion.png").stat().st_size > 50000


def test_what_it_cannot_draw_is_one_line_and_the_training_goes_on(tmp_path):
    script = tmp_path / "tabular.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, keras
        from mnist_tutorial import LivePanels
        rng = np.random.default_rng(0)
        x, y = rng.random((500, 13)), rng.integers(0, 3, 500)
        model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[LivePanels(save_png="no.png")])
        print("epochs trained:", len(history.history["loss"]))
        """))
    result = run_user(script)
    assert result.returncode == 0, result.stderr[-3000:]
    said = [line for line in result.stdout.splitlines() if line.startswith("LivePanels")]
    assert said == ["LivePanels: the training images are rows of 13 values, which make no square picture: "
                    "training goes on without the panels"]
    assert "epochs trained: 2" in result.stdout and not (tmp_path / "no.png").exists()


def test_labels_out_of_range_are_named_in_one_line():
    with pytest.raises(CannotDraw, match=r"the validation labels run from 0 to 12, but the model answers 10 "
                                         r"classes \(0 to 9\)"):
        live_panels.integer_labels(np.array([0, 12, 3]), 10, "validation")
    with pytest.raises(CannotDraw, match="rows of 5 but the model answers 10"):
        live_panels.integer_labels(np.eye(5), 10, "training")
    assert live_panels.integer_labels(np.eye(10)[[3, 1]], 10, "training").tolist() == [3, 1]


def test_images_of_every_usual_shape_are_drawn_as_pictures():
    scale = (0.0, 255.0)
    for shape in ((4, 28, 28), (4, 28, 28, 1), (4, 784)):
        assert live_panels.drawable(np.full(shape, 255, np.uint8), scale, "x").shape == (4, 28, 28, 1)
    assert live_panels.drawable(np.zeros((4, 3, 32, 32)), scale, "x").shape == (4, 32, 32, 3)  # channels first
    assert live_panels.pixel_scale(np.array([0, 255], np.uint8)) == (0.0, 255.0)
    assert live_panels.pixel_scale(np.array([0.0, 0.5])) == (0.0, 1.0)
    assert live_panels.pixel_scale(np.array([-1.5, 2.5])) == (-1.5, 2.5)  # standardised: its own range
    with pytest.raises(CannotDraw, match=r"the shape \[28, 28, 5\]"):
        live_panels.drawable(np.zeros((2, 28, 28, 5)), scale, "training")


def test_logits_and_probabilities_are_told_apart():
    probabilities = np.array([[0.2, 0.8], [0.5, 0.5]])
    assert not live_panels.answers_are_logits(None, probabilities, None)
    assert live_panels.answers_are_logits(None, np.array([[2.0, -1.0], [0.3, 0.1]]), None)
    assert live_panels.answers_are_logits(None, probabilities, True)  # as told


def test_without_validation_data_it_says_what_it_leaves_out(tmp_path, mnist):
    script = user_script(tmp_path, options="save_png='train.png'")
    script.write_text(script.read_text().replace("validation_data=(x_test, y_test), ", ""))
    result = run_user(script)
    assert result.returncode == 0, result.stderr[-3000:]
    said = [line for line in result.stdout.splitlines() if line.startswith("LivePanels: no validation")]
    assert len(said) == 1 and "left out" in said[0]
    assert (tmp_path / "train.png").exists()


def test_a_drawing_that_fails_is_said_once_and_training_goes_on(tmp_path, mnist):
    # the panels' spread drawing breaks at the second test pass, as a bug or a full memory would
    script = user_script(tmp_path, epochs=3, options="save_png='p.png'")
    script.write_text(textwrap.dedent("""
        from mnist_tutorial import visualisation
        calls = []
        def broken(self, *args):
            calls.append(args[0])
            if len(calls) > 1:
                raise RuntimeError("no more ink")
        visualisation.Animation.add_spread = broken
        """) + script.read_text() + "print('spread drawn', len(calls), 'times')\n")
    result = run_user(script)
    assert result.returncode == 0, result.stderr[-3000:]
    failures = [line for line in result.stdout.splitlines() if "the picture failed" in line]
    assert len(failures) == 1 and "RuntimeError: no more ink" in failures[0], result.stdout
    assert "final validation accuracy" in result.stdout and "after fit" in result.stdout  # the run went on
    assert "spread drawn 2 times" in result.stdout  # the picture was dropped at the failure, never called again
    assert not (tmp_path / "p.png").exists()  # no picture of a broken drawing


def test_ctrl_c_stops_the_users_fit_between_steps_and_fit_returns(tmp_path, mnist):
    script = user_script(tmp_path, train=60000, epochs=50, options="test_every=100")
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("step    100"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    assert re.search(r"^LivePanels: sequential: interrupted at step \d+$", out, re.M), out[-2000:]
    assert "after fit" in out and "Traceback" not in err


def test_in_a_window_the_keys_change_the_picture_and_closing_it_lets_training_go_on(x_server, tmp_path, mnist):
    script = user_script(tmp_path, train=20000, epochs=30, options="title='user_fit'")
    window = Window(x_server, script=str(script))
    try:
        def ink_right_half(picture):  # the digit panels fill the right of the window in the full view
            return float((picture[window.region(0.7, 1.0, 0.1, 0.9)].mean(axis=2) < 80).mean())
        full = window.shows(lambda picture: ink_right_half(picture) > 0.02)
        window.key("7")  # accuracy and loss only: no digits on the right
        curves = window.shows(lambda picture: ink_right_half(picture) < 0.01)
        assert ink_right_half(full) > 0.02 > 0.01 > ink_right_half(curves)
        window.key("q")  # matplotlib's key that closes the window, as its close button does
        window.process.wait(timeout=240)
        out = "".join(window.lines)
        assert window.process.returncode == 0, window.process.stderr.read()[-3000:]
        assert re.search(r"the window was closed at step \d+: training goes on, text only", out), out[-2000:]
        assert "final validation accuracy" in out and "after fit" in out
    finally:
        window.close()


def test_ctrl_c_in_a_window_ends_fit_at_the_next_step_in_one_line_and_the_users_code_goes_on(x_server, tmp_path,
                                                                                              mnist):
    script = user_script(tmp_path, train=20000, epochs=30, options="title='user_fit'")
    window = Window(x_server, script=str(script))
    try:
        def ink_right_half(picture):
            return float((picture[window.region(0.7, 1.0, 0.1, 0.9)].mean(axis=2) < 80).mean())
        window.shows(lambda picture: ink_right_half(picture) > 0.02)  # the panels, drawn while it trains
        window.process.send_signal(signal.SIGINT)  # Ctrl-C in the terminal it was started from
        window.process.wait(timeout=120)  # Ctrl-C means stop: fit returns without waiting for the window
        out = "".join(window.lines)
        assert window.process.returncode == 0, window.process.stderr.read()[-3000:]
        assert re.search(r"^user_fit: interrupted at step \d+\nafter fit: \[\]$", out, re.M), out[-2000:]
        assert "Traceback" not in out + window.process.stderr.read()
    finally:
        window.close()


def test_in_a_notebook_kernel_the_pictures_come_while_it_trains_and_an_interrupt_ends_only_fit(tmp_path, mnist):
    # drawing as often as it trains, so that the count of pictures does not hang on how fast this machine draws
    script = user_script(tmp_path, train=60000, epochs=50, options="test_every=50, drawing_share=1.0")
    kernel = Kernel(tmp_path, clean_env())
    try:
        def interrupt_after_three_updates(message, cell):  # the kernel's stop button, while fit trains
            updates = [m for m in cell.of_type("update_display_data") if "image/png" in m["content"]["data"]]
            if len(updates) == 3 and not interrupted:
                interrupted.append(True)
                kernel.interrupt()

        interrupted = []
        cell = kernel.run(f"%run {script.name}", watch=interrupt_after_three_updates)
        assert interrupted and cell.reply["status"] == "ok" and not cell.errors(), cell.text()
        updates = [picture for picture in cell.pictures() if picture[0] == "update_display_data"]
        assert len(updates) >= 3, f"{len(updates)} updates"  # one picture in the cell, redrawn while fit trains
        assert not np.array_equal(updates[0][2], updates[-1][2])
        text = cell.text()
        # fit returned at the next step, with one line; the user's code after it ran; no traceback
        assert re.search(r"^LivePanels: sequential: interrupted at step \d+$", text, re.M), text[-2000:]
        assert "after fit" in text and "Traceback" not in text
        assert kernel.run("print(6 * 7)").text() == "42\n"  # the kernel goes on
    finally:
        kernel.close()


def test_the_readmes_example_runs_in_a_folder_of_its_own(tmp_path, mnist):
    # README's drop-in, as a reader copies it into a file anywhere and runs it
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("### The panels for your own Keras model"):]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "from mnist_tutorial import LivePanels" in example and "callbacks=[LivePanels()]" in example
    script = tmp_path / "my_model.py"
    script.write_text(example.replace("callbacks=[LivePanels()]", "callbacks=[LivePanels(save_png='mine.png')]"))
    result = run_user(script, "--epochs", "99")  # flags of the reader's own: not LivePanels' business
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("LivePanels: sequential: 3 epochs of 469 steps; 10 classes; images 28x28")
    final = float(re.search(r"^final validation accuracy (0\.\d+)", result.stdout, re.M).group(1))
    assert final > 0.96
    assert (tmp_path / "mine.png").stat().st_size > 50_000
