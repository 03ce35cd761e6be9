"""Promises of the visualiser that teaches: it says what the curves show, once, where it happens,
and never on a healthy run; it reports the mistakes; it keeps runs apart for comparison."""
import json
import math
import os
import re
import sys

import numpy as np
import pytest

from mnist_tutorial import diagnosis
from conftest import ROOT, TUTORIAL, run_in_one_process, run_python

CURVES = os.path.join(ROOT, "tests", "curves")
STEP_LINE = re.compile(r"^step +(\d+) +epoch +[\d.]+(?: +lr [\d.]+| {12})? +(training|test):\s+accuracy ([\d.]+) +"
                       r"loss +([\w.+-]+)$", re.MULTILINE)


def watch(iterations, test, training=(), held_out="test"):
    """Feed curves to a Watcher in the loop's order; test and training: {step: (accuracy, loss)}."""
    watcher, remarks = diagnosis.Watcher(iterations, held_out), []
    for step in range(iterations + 1):
        if step in training:
            remarks += watcher.add_training(step, *training[step])
        if step in test:
            remarks += watcher.add_test(step, *test[step])
    return remarks


def healthy(step):
    """A run that learns and settles: accuracy rising to 0.98, losses falling."""
    return (0.98 - 0.88 * math.exp(-step / 300), 10 + 300 * math.exp(-step / 300))


def printed_curves(text):
    test, training = {}, {}
    for step, kind, accuracy, loss in STEP_LINE.findall(text):
        (test if kind == "test" else training)[int(step)] = (float(accuracy), float(loss))
    return test, training


# --- each rule on crafted curves: where it should, once; and nothing on a healthy run ----------

def test_a_healthy_run_draws_no_remark():
    steps = range(0, 10001, 100)
    assert watch(10000, {s: healthy(s) for s in steps}, {s: healthy(s) for s in range(0, 10001, 20)}) == []


def test_a_loss_that_turns_nan_is_said_once_where_it_happens():
    training = {s: (0.9, 20.0 if s < 340 else float("nan")) for s in range(0, 1001, 20)}
    remarks = watch(1000, {s: (0.9, 20.0 if s < 300 else float("nan")) for s in range(0, 1001, 100)}, training)
    assert [(r.step, r.label) for r in remarks] == [(300, "loss is NaN")]
    assert "log of 0" in remarks[0].text


def test_an_accuracy_stuck_at_chance_is_said_at_step_3000_not_before():
    remarks = watch(5000, {s: (0.098 + 0.01 * (s % 300 == 0), 230.0) for s in range(0, 5001, 100)})
    assert [(r.step, r.label) for r in remarks] == [(3000, "stuck at chance")]
    assert "initialisation" in remarks[0].text


def test_a_slow_start_is_said_once_the_network_gets_going():
    def sigmoid_like(step):  # flat near 10% for 600 steps, then climbing
        return (0.1 if step <= 600 else min(0.95, 0.1 + (step - 600) / 1500), 230.0)
    remarks = watch(10000, {s: sigmoid_like(s) for s in range(0, 10001, 100)})
    assert [(r.step, r.label) for r in remarks] == [(1000, "slow start")]
    assert "600 steps" in remarks[0].text and "ReLU" in remarks[0].text


def test_overfitting_is_said_when_the_test_loss_climbs_and_the_training_loss_falls():
    test = {s: (0.98, 6 + ((s - 3000) / 1000) ** 2 if s else 300) for s in range(0, 10001, 100)}
    training = {s: (0.99, 30 * math.exp(-s / 2000)) for s in range(0, 10001, 20)}
    remarks = watch(10000, test, training)
    assert [r.label for r in remarks] == ["overfitting"]
    step = remarks[0].step
    assert test[step][1] >= 1.3 * 6 and 4000 <= step <= 5500, step  # where it becomes clear, not later
    assert "since its lowest, around step 3000" in remarks[0].text

    # the same test loss with a training loss that climbs too is not overfitting
    rising = {s: (0.99, 5 + s / 1000) for s in range(0, 10001, 20)}
    assert watch(10000, test, rising) == []


def test_an_accuracy_that_keeps_jumping_late_in_training_is_said_once():
    def jumpy(step):
        return (0.97 + (0.012 if (step // 100) % 2 else 0.0), 10.0) if step >= 2000 else healthy(step)
    remarks = watch(10000, {s: jumpy(s) for s in range(0, 10001, 100)})
    assert [(r.step, r.label) for r in remarks] == [(5000, "unstable")]
    assert "learning rate" in remarks[0].text


# --- on real runs ----------------------------------------------------------------------------

@pytest.mark.parametrize("log, said", [
    ("mnist_2.0-seed0.log", [(1100, "slow start")]),  # five layers of sigmoids: 10% for 1,000 steps
    ("mnist_2.1-seed0.log", [(9000, "overfitting")]),  # its test loss 38% above its lowest by the end
    ("mnist_2.2-seed0.log", []),
    ("mnist_3.1-seed0.log", []),  # its test loss 27% above its lowest by the end: under the bar
    ("mnist_4.2-seed0.log", []),
])
def test_real_runs_are_told_what_their_curves_show_and_nothing_else(log, said):
    """Scripts at their defaults, as they printed (tests/curves: the logs' first line is the command)."""
    text = open(os.path.join(CURVES, log)).read()
    test, training = printed_curves(text)
    assert len(test) == 101 and max(test) == 10000 and len(training) == 501
    remarks = watch(10000, test, training)
    assert [(r.step, r.label) for r in remarks] == said, [r.text for r in remarks]


# --- the report of the mistakes ----------------------------------------------------------------

def test_the_report_counts_every_digit_once_and_shows_real_mistakes_surest_first():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 2000)
    probabilities = rng.dirichlet(np.ones(10) * 0.3, size=2000)
    images = rng.random((2000, 28, 28))
    report = diagnosis.mistakes(images, labels, probabilities)
    predicted = probabilities.argmax(1)
    assert report.matrix.sum() == 2000 and np.trace(report.matrix) == (predicted == labels).sum()
    assert report.accuracy == pytest.approx((predicted == labels).mean())
    certainty = [p for _, _, _, p in report.mistakes]
    assert len(report.mistakes) == 40 and certainty == sorted(certainty, reverse=True)
    for image, true, said, p in report.mistakes:
        index = next(i for i in range(2000) if np.array_equal(images[i], image))
        assert true == labels[index] != said == predicted[index] and p == probabilities[index, said]
    pairs = [(t, s, n) for t, s, n in report.confused]
    assert len(pairs) == 5 and [n for *_, n in pairs] == sorted((n for *_, n in pairs), reverse=True)
    assert all(report.matrix[t, s] == n and t != s for t, s, n in pairs)
    assert report.confused[0][2] == max(report.matrix[t, s] for t in range(10) for s in range(10) if t != s)


def test_a_script_prints_its_most_confused_pairs_and_saves_the_report(mnist, tmp_path):
    import matplotlib.image
    sys.path.insert(0, TUTORIAL)
    from mnist_tutorial import savedmodel
    model, report_png, figures = tmp_path / "model", tmp_path / "report.png", tmp_path / "results.json"
    result = run_python([os.path.join(TUTORIAL, "mnist_1.0_softmax.py"), "--headless", "--iterations", "300",
                         "--save-model", str(model), "--save-report", str(report_png), "--results", str(figures)])
    assert result.returncode == 0, result.stderr[-2000:]
    final = json.loads(figures.read_text())["final_accuracy"]
    # the same network, from its saved folder: the report's diagonal is the final accuracy
    probabilities = savedmodel.load(str(model))(mnist.test_images[..., 0] / np.float32(255))
    report = diagnosis.mistakes(mnist.test_images[..., 0], mnist.test_labels, probabilities)
    assert np.trace(report.matrix) == round(final * 10000)
    assert diagnosis.confused_line(report) in result.stdout.splitlines()
    assert re.search(r"^most confused \(test digits\): (\d read as \d \d+ times, ){4}\d read as \d \d+ times$",
                     result.stdout, re.MULTILINE)
    picture = matplotlib.image.imread(report_png)
    assert picture.shape[:2] == (720, 1280) and (picture[..., 0] > picture[..., 1] + 0.2).mean() > 0.01  # red


# --- runs side by side -------------------------------------------------------------------------

def test_two_runs_in_one_tensorboard_folder_stay_two_runs_and_overlay(mnist, tmp_path):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
    logs = tmp_path / "runs"
    for result in run_in_one_process([(os.path.join(TUTORIAL, script), ["--headless", "--iterations", steps,
                                                                         "--tensorboard", str(logs)])
                                      for script, steps in (("mnist_1.0_softmax.py", "200"),
                                                            ("mnist_2.1_five_layers_relu_lrdecay.py", "300"))]):
        assert result.returncode == 0, result.stderr[-2000:]
    runs = EventMultiplexer().AddRunsFromDirectory(str(logs))
    runs.Reload()
    names = sorted(runs.Runs())
    assert len(names) == 2 and re.fullmatch(r"mnist_1\.0_softmax-seed0-\d{8}-\d{6}", names[0]), names
    assert [e.step for e in runs.Scalars(names[0], "accuracy/test")] == [0, 100, 200]
    assert [e.step for e in runs.Scalars(names[1], "accuracy/test")] == [0, 100, 200, 300]

    picture = tmp_path / "compare.png"
    (tmp_path / "empty").mkdir()
    refused = [(tmp_path / "none", "no folder"), (tmp_path / "empty", "no runs with test curves")]
    result, *results = run_in_one_process([(os.path.join(TUTORIAL, "compare.py"), [str(folder), "--output", str(picture)])
                                           for folder in [logs] + [bad for bad, _ in refused]])
    assert result.returncode == 0 and result.stdout == f"compare.py: 2 runs drawn into {picture}\n", result.stderr
    import compare
    from matplotlib.figure import Figure
    figure = Figure()
    compare.draw(compare.find_runs(str(logs)), figure)
    for ax in figure.axes:  # one curve per run, named after it
        assert [line.get_label() for line in ax.get_lines()] == ["1.0 seed 0", "2.1 seed 0"]
    for (bad, message), result in zip(refused, results):
        assert result.returncode == 1 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


# --- what the picture shows: the zoom, the remarks, the report view ---------------------------

def picture(animation):
    animation.update_artists()
    animation.figure.canvas.draw()
    return np.asarray(animation.figure.canvas.buffer_rgba())[..., :3].astype(int)


def region(image, ax):
    """The pixels of an axes' box in a rendered figure."""
    box = ax.get_window_extent()
    height = image.shape[0]
    return image[int(height - box.y1):int(height - box.y0), int(box.x0):int(box.x1)]


def test_the_zoom_appears_past_90_percent_and_spreads_98_from_99():
    import matplotlib
    matplotlib.use("Agg")
    from mnist_tutorial import visualisation
    animation = visualisation.Animation("zoom", 1000)
    try:
        for step in range(0, 501, 100):
            animation.add_test(step, 0.1 + step / 1000, 50.0)
        before = picture(animation)
        assert not animation.panels.zoom.get_visible()
        for step in range(600, 1001, 100):
            animation.add_test(step, 0.975 + step / 100000, 8.0)  # 98.1% to 98.5%
        after = picture(animation)
        assert animation.panels.zoom.get_visible()
        inset = region(after, animation.panels.zoom)
        assert (np.abs(inset - region(before, animation.panels.zoom)) > 30).mean() > 0.01  # drawn where it shows
        bottom, top = animation.panels.zoom.get_ylim()
        span = visualisation.error_scale(top) - visualisation.error_scale(bottom)
        share = (visualisation.error_scale(0.99) - visualisation.error_scale(0.98)) / span
        assert share > 0.15  # 98% to 99% takes more than a seventh of the zoom's height (on the panel: 1%)
        animation.figure.canvas.callbacks.process(  # the zoom hides with its panel
            "key_press_event", __import__("matplotlib.backend_bases").backend_bases.KeyEvent(
                "key_press_event", animation.figure.canvas, "2"))
        hidden = picture(animation)
        assert not animation.panels.axes[0].get_visible() and animation.panels.zoom.get_visible()
        animation.panels.zoom.set_visible(False)
        np.testing.assert_array_equal(hidden, picture(animation))  # it drew nothing with its panel hidden
    finally:
        animation.close()


def test_a_remark_is_written_on_its_panel_at_its_step():
    import matplotlib
    matplotlib.use("Agg")
    from mnist_tutorial import visualisation
    animation = visualisation.Animation("remark", 10000)
    try:
        for step in range(0, 10001, 100):
            animation.add_test(step, 0.97, 8 + (step / 2000) ** 2)
        before = picture(animation)
        animation.add_remark(diagnosis.Remark(5000, "loss", 14.25, "overfitting", "the whole sentence"))
        after = picture(animation)
        (remark, note), = animation.panels.remarks
        assert note.get_text() == "overfitting" and note.axes is animation.panels.axes[1] and note.xy == (5000, 14.25)
        changed = np.abs(after - before).sum(axis=2) > 60
        loss_box = region(changed, animation.panels.axes[1])
        assert loss_box.mean() > 0.003 and region(changed, animation.panels.axes[0]).mean() == 0
    finally:
        animation.close()


def test_the_key_m_shows_the_report_in_place_of_the_panels_and_back():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backend_bases import KeyEvent
    from mnist_tutorial import visualisation
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    report = diagnosis.mistakes(rng.random((500, 28, 28)), labels, rng.dirichlet(np.ones(10), 500))
    animation = visualisation.Animation("report", 100)
    try:
        press = lambda key: animation.figure.canvas.callbacks.process(  # noqa: E731
            "key_press_event", KeyEvent("key_press_event", animation.figure.canvas, key))
        press("m")  # no report yet: nothing happens
        assert animation.visible_panels() == (1, 2, 3, 4, 5, 6)
        panels = picture(animation)
        animation.set_report(report)
        press("m")
        assert animation.visible_panels() == () and all(ax.get_visible() for ax in animation.panels.report_axes)
        shown = picture(animation)
        assert (np.abs(shown - panels).sum(axis=2) > 60).mean() > 0.1
        press("m")
        assert animation.visible_panels() == (1, 2, 3, 4, 5, 6)
        assert not any(ax.get_visible() for ax in animation.panels.report_axes)
        assert (np.abs(picture(animation) - panels).sum(axis=2) > 60).mean() < 0.01
    finally:
        animation.close()


def test_2_1_at_its_defaults_is_told_it_overfits_and_its_window_shows_the_zoom_the_remark_and_the_report(
        x_server, mnist):
    """2.1 at its defaults (10,000 steps) in a real window: the line it prints, then the window."""
    import subprocess
    import threading
    import time
    from conftest import clean_env, screenshot, screenshot_once
    env = clean_env(DISPLAY=x_server, MPLBACKEND="TkAgg")
    lines = []
    process = subprocess.Popen([sys.executable, os.path.join(TUTORIAL, "mnist_2.1_five_layers_relu_lrdecay.py")],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    try:
        deadline = time.time() + 180
        while not any(line.startswith("Training is over") for line in lines) and time.time() < deadline:
            time.sleep(0.2)
        printed = "".join(lines)
        notes = re.findall(r"^note at step (\d+): (\w+)", printed, re.MULTILINE)
        assert [label for _, label in notes] == ["overfitting"], lines[-8:]
        assert 6000 <= int(notes[0][0]) <= 10000  # seed 0 on the machine that wrote the README: 9000
        test, training = printed_curves(printed)  # the rule sees what the lines show
        assert [r.label for r in watch(10000, test, training)] == ["overfitting"]
        window = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "mnist_2.1"], env=env,
                                capture_output=True, text=True).stdout.split()[0]
        box = dict(line.split("=") for line in subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", window], env=env, capture_output=True, text=True).stdout.split())
        x, y, w, h = (int(box[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))

        def part(image, left, right, top, bottom):  # fractions of the window
            return image[y + int(top * h):y + int(bottom * h), x + int(left * w):x + int(right * w)]

        def key(name):
            subprocess.run(["xdotool", "key", "--window", window, name], env=env, check=True)
            time.sleep(1.5)

        time.sleep(1.5)
        panels = screenshot(x_server).astype(int)
        red = lambda image: ((image[..., 0] > 180) & (image[..., 0] - image[..., 1] > 60)  # noqa: E731
                             & (image[..., 0] - image[..., 2] > 60)).mean()
        yellow = lambda image: ((image[..., :2].min(axis=2) > 245) & (image[..., 2] > 200) & (image[..., 2] < 240)).mean()  # noqa: E731
        # the zoom: the red test curve low in the accuracy panel, where without it there is none
        assert red(part(panels, 0.15, 0.3, 0.3, 0.42)) > 0.002
        assert yellow(part(panels, 0.38, 0.66, 0.08, 0.45)) > 0.001  # the remark's label, on the loss panel
        changed = lambda image: (np.abs(image.astype(int) - panels).sum(axis=2) > 60)  # noqa: E731
        key("m")
        report = screenshot_once(x_server, lambda image: changed(image)[y:y + h, x:x + w].mean() > 0.1).astype(int)
        assert changed(report)[y:y + h, x:x + w].mean() > 0.1
        assert red(part(report, 0.55, 0.95, 0.15, 0.9)) > 0.05  # the surest mistakes, on red
        key("m")
        assert changed(screenshot_once(x_server, lambda image: changed(image).mean() < 0.005)).mean() < 0.005
        subprocess.run(["xdotool", "key", "--window", window, "q"], env=env)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()


def test_save_png_carries_the_zoom_and_the_remarks(mnist, tmp_path):
    import matplotlib.image
    pictures = {}
    for name, script, steps in [("early", "mnist_2.0_five_layers_sigmoid.py", "500"),
                                ("later", "mnist_2.0_five_layers_sigmoid.py", "3000")]:
        png = tmp_path / f"{name}.png"
        result = run_python([os.path.join(TUTORIAL, script), "--headless", "--iterations", steps, "--save-png", str(png)])
        assert result.returncode == 0, result.stderr[-2000:]
        pictures[name] = (matplotlib.image.imread(png)[..., :3] * 255).astype(int), result.stdout
    early, later = pictures["early"][0], pictures["later"][0]
    assert "note at step 1100: a slow start" in pictures["later"][1] and "note at" not in pictures["early"][1]
    yellow = lambda image: ((image[..., :2].min(axis=2) > 245) & (image[..., 2] > 200) & (image[..., 2] < 240)).mean()  # noqa: E731
    accuracy_panel = (slice(65, 322), slice(64, 398))  # the top-left panel of the 1280x720 picture

    def framed(image):  # the zoom's frame: a dark line across the panel's lower right, near row 160
        band = image[145:180, 210:385].mean(axis=2) < 100
        return bool(band.mean(axis=1).max() > 0.9)

    assert yellow(later[accuracy_panel]) > 0.001 and yellow(early[accuracy_panel]) == 0  # the remark's label
    assert framed(later) and not framed(early)  # 2.0 passes 90% by step 3000: the zoom


def test_an_accuracy_still_climbing_unevenly_is_not_called_unstable():
    def climbing(step):  # 2.0 over 3,000 steps: late, and jumpy, but still rising to the end
        return (0.1 + max(0, step - 1000) / 2400 - 0.01 * ((step // 100) % 2), 50.0)
    assert [r.label for r in watch(3000, {s: climbing(s) for s in range(0, 3001, 100)})] == ["slow start"]
