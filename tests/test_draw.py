"""Promises of --save-model and the drawing pad: a trained network is one folder that the cloud
trainer's predict answers with, the pad prepares a drawing as MNIST's digits were prepared, and a
real window under a real X server reads the digits a real mouse draws."""
import json
import os
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import ROOT, TUTORIAL, clean_env, made_once, run_in_one_process, run_python

MLENGINE = os.path.join(ROOT, "mlengine")
SCRIPT_30 = os.path.join(TUTORIAL, "mnist_3.0_convolutional.py")


@pytest.fixture(scope="module")
def model(mnist, tmp_path_factory):
    """3.0 trained for 2,000 steps (about 98.6%), saved; and the accuracy the script printed."""
    def train(folder):
        directory, figures = folder / "3.0", folder / "3.0.json"
        result = run_python([SCRIPT_30, "--headless", "--iterations", "2000", "--test-every", "1000",
                             "--save-model", str(directory), "--results", str(figures)])
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"model saved to {directory}" in result.stdout
    folder = made_once(tmp_path_factory, "draw_model", train)
    return folder / "3.0", json.loads((folder / "3.0.json").read_text())["final_accuracy"]


# the tests that read the model run on one worker (pytest --dist loadgroup, README's test
# command), which trains it while the other runs other tests, instead of waiting for it
WITH_THE_MODEL = pytest.mark.xdist_group("draw_model")


def load_in_this_process(directory):
    sys.path.insert(0, TUTORIAL)
    from mnist_tutorial import savedmodel
    return savedmodel.load(str(directory))


@WITH_THE_MODEL
def test_a_saved_model_computes_what_the_script_measured_and_trainer_predict_answers_with_it(model, mnist, tmp_path):
    directory, script_accuracy = model
    assert sorted(os.listdir(directory)) == ["saved_model.pb", "variables"]
    assert not [name for name in os.listdir(directory.parent) if ".partial-" in name or ".old-" in name]
    predict = load_in_this_process(directory)
    images = mnist.test_images[..., 0] / np.float32(255)
    classes = np.argmax(predict(images), axis=1)
    # the whole test set, as the script's last test pass saw it: the same accuracy, to the image
    assert round(float(np.mean(classes == mnist.test_labels)), 4) == script_accuracy

    made = run_python([os.path.join(MLENGINE, "digits.py"), "--count", "20", "--format", "instances",
                       "--output", str(tmp_path / "digits.jsonl")])
    assert made.returncode == 0, made.stderr
    answer = run_python(["-m", "trainer.predict", "--model-dir", str(directory), "--json-instances",
                         str(tmp_path / "digits.jsonl")], cwd=MLENGINE)
    assert answer.returncode == 0, answer.stderr[-2000:]
    answered = [int(line.split()[1]) for line in answer.stdout.splitlines()[1:]]
    assert answered == list(classes[:20])


@WITH_THE_MODEL
def test_save_model_replaces_a_saved_model_and_refuses_other_folders_before_training(model, tmp_path):
    directory, _ = model
    busy = tmp_path / "notes"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep me")
    (tmp_path / "file").write_text("")
    refusals = [(busy, f"--save-model {busy}: {busy} exists and is not a saved model"),
                (tmp_path / "file" / "model", f"{tmp_path / 'file'} is a file, not a folder")]
    results = run_in_one_process([(SCRIPT_30, ["--iterations", "1", "--save-model", str(target)])
                                  for target, _ in refusals])
    for (target, message), result in zip(refusals, results):
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr and "steps of" not in result.stdout
    assert (busy / "mine.txt").read_text() == "keep me"

    before = (directory / "saved_model.pb").read_bytes()
    again = tmp_path / "new" / "again"  # missing folders on the way are made
    result = run_python([SCRIPT_30, "--headless", "--iterations", "5", "--save-model", str(again)])
    assert result.returncode == 0 and (again / "saved_model.pb").exists(), result.stderr[-2000:]
    result = run_python([SCRIPT_30, "--headless", "--iterations", "5", "--seed", "1", "--save-model", str(again)])
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.listdir(tmp_path / "new") == ["again"]  # replaced in place, nothing left beside it
    assert (directory / "saved_model.pb").read_bytes() == before


# --- preparing a drawing as MNIST's digits were prepared ---------------------------------------

def redrawn(image, scale, top, left, size=420):
    """A 28x28 digit drawn back onto a pad of size x size pixels: each pixel a square of ink scale
    pixels wide (scale need not be whole), the digit's corner at (top, left) (need not be whole)."""
    centres = np.arange(size) + 0.5
    rows, cols = np.floor((centres - top) / scale).astype(int), np.floor((centres - left) / scale).astype(int)
    inside = ((rows >= 0) & (rows < 28))[:, None] & ((cols >= 0) & (cols < 28))[None, :]
    return np.where(inside, image[np.clip(rows, 0, 27)][:, np.clip(cols, 0, 27)], 0.0)


@WITH_THE_MODEL
def test_a_test_digit_drawn_back_at_another_size_and_place_comes_out_as_mnist_made_it(model, mnist):
    sys.path.insert(0, TUTORIAL)
    import draw
    digits = mnist.test_images[:100, :, :, 0] / 255.0
    prepared, differences = [], []
    for number, digit in enumerate(digits):
        scale, top, left = 7.3 + (number % 7) * 0.71, 13.4 + (number * 37) % 30, 5.7 + (number * 53) % 40
        image = draw.prepare(redrawn(digit, scale, top, left))
        assert image.shape == (28, 28) and image.dtype == np.float32 and 0 <= image.min() <= image.max() <= 1
        prepared.append(image)
        differences.append(np.abs(image - digit).mean() * 255)
    # within a few grey levels of 255 (measured: median 0.9, 90% under 1.8; a pixel's shift when
    # the centre of mass falls half-way between two pixels gives the few larger ones)
    assert np.median(differences) < 2 and np.mean(np.array(differences) < 4) >= 0.9, sorted(differences)
    predict = load_in_this_process(model[0])
    same = np.argmax(predict(np.array(prepared)), 1) == np.argmax(predict(digits.astype(np.float32)), 1)
    assert same.mean() >= 0.99, same  # measured: 100 of 100


def test_a_stroke_is_fitted_into_a_20_pixel_box_with_its_centre_of_mass_in_the_middle():
    sys.path.insert(0, TUTORIAL)
    import draw
    ink = np.zeros((draw.CANVAS, draw.CANVAS), np.float32)
    draw.paint(ink, (40.0, 30.0), (90.0, 130.0))  # a short slanted stroke near the top-left corner
    assert ink.max() == 1 and ((ink > 0) & (ink < 1)).any()  # a solid stroke with grey edges
    image = draw.prepare(ink)
    rows, cols = np.flatnonzero(image.max(1) > 0), np.flatnonzero(image.max(0) > 0)
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 < 20  # the longer side fills the box
    weights = image / image.sum()
    assert abs(weights.sum(1) @ np.arange(28) - 14) <= 0.5 and abs(weights.sum(0) @ np.arange(28) - 14) <= 0.5
    assert not draw.prepare(np.zeros((50, 50))).any()  # nothing drawn: a blank image


# --- bad input to draw.py ------------------------------------------------------------------------

@WITH_THE_MODEL
def test_draw_says_in_one_line_what_is_wrong_with_its_model_or_display(model, tmp_path):
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    other = tmp_path / "other"
    made = run_python(["-c", "import tensorflow as tf\n"
                             "class M(tf.Module):\n"
                             "    @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32)])\n"
                             "    def f(self, x): return {'y': x * 2}\n"
                             f"m = M(); tf.saved_model.save(m, {str(other)!r}, signatures={{'serving_default': m.f}})"])
    assert made.returncode == 0, made.stderr[-2000:]
    draw = os.path.join(TUTORIAL, "draw.py")
    cases = [(tmp_path / "missing", f"no folder {tmp_path / 'missing'}"),  # with a display, in one process
             (not_a_model, f"{not_a_model} holds no saved model"),
             (other, f"{other} is not a digit model")]
    results = run_in_one_process([(draw, ["--model", str(folder)]) for folder, _ in cases], env=clean_env(DISPLAY=":0"))
    cases.append((model[0], "no display to open the pad's window on"))  # without one, in a process of its own
    results.append(run_python([draw, "--model", str(model[0])], env=clean_env()))
    for (folder, message), result in zip(cases, results):
        assert result.returncode == 1, (folder, result.stderr[-2000:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("draw.py: error: ") and message in lines[0], result.stderr


# --- a real window, a real mouse -----------------------------------------------------------------

class Pad:
    """draw.py's window, found by its name, driven by xdotool."""

    def __init__(self, display, process, name="draw.py"):
        self.display, self.process = display, process
        self.env = {**os.environ, "DISPLAY": display}
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", name], env=self.env,
                               capture_output=True, text=True, timeout=60)
        self.id = found.stdout.split()[0]
        geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", self.id], env=self.env,
                                  capture_output=True, text=True, check=True).stdout
        box = dict(line.split("=") for line in geometry.split())
        self.width, self.height = int(box["WIDTH"]), int(box["HEIGHT"])

    def xdotool(self, *args, check=True):
        subprocess.run(["xdotool", *map(str, args)], env=self.env, check=check, capture_output=True)

    def quit(self):
        self.xdotool("key", "--window", self.id, "q", check=False)  # the key's release finds no window

    def draw(self, *points):
        """A stroke through points given in fractions of the drawing area (x from its left, y from
        its top); the area is laid out as draw.PAD_PIXELS says."""
        sys.path.insert(0, TUTORIAL)
        import draw
        left, bottom, side, _ = draw.PAD_PIXELS
        width, height = draw.FIGURE_PIXELS
        scale_x, scale_y = self.width / width, self.height / height  # the window may be scaled

        def at(x, y):
            return int((left + x * side) * scale_x), int((height - bottom - side + y * side) * scale_y)

        path = []
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            path += [(x0 + (x1 - x0) * t / 8, y0 + (y1 - y0) * t / 8) for t in range(8)]
        path.append(points[-1])
        self.xdotool("mousemove", "--window", self.id, *at(*path[0]))
        self.xdotool("mousedown", 1)
        for point in path[1:]:
            self.xdotool("mousemove", "--window", self.id, *at(*point))
            time.sleep(0.02)
        self.xdotool("mouseup", 1)

    def name(self, timeout=10):
        """The window's title once it has settled: it names the network's answer."""
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            name = subprocess.run(["xdotool", "getwindowname", self.id], env=self.env,
                                  capture_output=True, text=True).stdout.strip()
            if name == last:
                return name
            last = name
            time.sleep(0.5)
        return last


@WITH_THE_MODEL
def test_a_real_mouse_draws_a_1_and_a_7_and_the_pad_reads_them(x_server, model):
    process = subprocess.Popen([sys.executable, os.path.join(TUTORIAL, "draw.py"), "--model", str(model[0])],
                               env=clean_env(DISPLAY=x_server, MPLBACKEND="TkAgg"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pad = Pad(x_server, process)
        assert pad.name().startswith("draw.py: draw a digit")
        pad.draw((0.52, 0.15), (0.48, 0.85))  # a 1: one stroke down
        assert re.match(r"draw\.py: 1 \(\d+%\)", pad.name()), pad.name()
        pad.xdotool("key", "--window", pad.id, "c")  # clear
        assert pad.name().startswith("draw.py: draw a digit"), pad.name()
        pad.draw((0.25, 0.2), (0.75, 0.2), (0.45, 0.85))  # a 7: across, then down to the left
        assert re.match(r"draw\.py: 7 \(\d+%\)", pad.name()), pad.name()
        pad.quit()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    out, err = process.communicate()
    assert re.search(r"^draw\.py: 1 \(\d+%\)$", out, re.MULTILINE) and re.search(r"^draw\.py: 7 \(\d+%\)$", out, re.MULTILINE)
    assert "Traceback" not in err and "WARNING" not in err, err


def test_the_live_window_opens_the_pad_with_the_key_d_once_training_is_over(x_server, mnist):
    env = clean_env(DISPLAY=x_server, MPLBACKEND="TkAgg")
    lines = []
    process = subprocess.Popen([sys.executable, SCRIPT_30, "--iterations", "300"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    pad_window = None
    try:
        deadline = time.time() + 120
        while not any(line.startswith("Training is over") for line in lines) and time.time() < deadline:
            time.sleep(0.2)
        assert "Training is over (M shows the mistakes, D opens a pad to draw digits for the network): close " \
               "the window to exit.\n" in lines, lines[-5:]
        window = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "mnist_3.0"], env=env,
                                capture_output=True, text=True).stdout.split()[0]
        subprocess.run(["xdotool", "key", "--window", window, "d"], env=env, check=True)
        pad_window = Pad(x_server, None)
        pad_window.draw((0.52, 0.15), (0.48, 0.85))
        assert re.match(r"draw\.py: 1 \(\d+%\)", pad_window.name()), pad_window.name()
        pad_window.quit()
        subprocess.run(["xdotool", "key", "--window", window, "q"], env=env)  # matplotlib's key to close
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert not [line for line in lines if "Traceback" in line or "WARNING" in line], lines
