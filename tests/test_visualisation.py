"""Promises of the six-panel animation: what it draws, how its keys behave, what it exports,
and that a real window under a real X server answers real key presses."""
import json
import os
import re
import runpy
import signal
import subprocess
import sys
import threading
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import KeyEvent  # noqa: E402

from mnist_tutorial import digits, visualisation  # noqa: E402
from conftest import TUTORIAL, Window, clean_env, ink, need, need_qt_libraries, run_in_one_process, run_python, small_disk  # noqa: E402

WHITE, RED = np.array([1.0, 1.0, 1.0]), digits.WRONG_BACKGROUND


def cell_corner(grid, index, columns):
    """The top-left pixel of a cell: MNIST digits never touch it, so it shows the background."""
    row, column = divmod(index, columns)
    return grid[row * 28, column * 28]


# --- the digit montages -----------------------------------------------------------------------

def test_digit_grid_is_red_exactly_where_predictions_are_wrong():
    rng = np.random.default_rng(1)
    images = np.zeros((23, 28, 28), np.float32)
    images[:, 6:22, 10:18] = rng.random((23, 16, 8))  # ink in the middle, as in MNIST
    labels = rng.integers(0, 10, 23)
    predictions = labels.copy()
    wrong = [0, 5, 17, 22]
    predictions[wrong] = (labels[wrong] + 3) % 10
    grid = digits.digit_grid(images, labels, predictions, columns=5)
    assert grid.shape == (5 * 28, 5 * 28, 3)
    for i in range(23):
        expected = RED if i in wrong else WHITE
        np.testing.assert_allclose(cell_corner(grid, i, 5), expected)
    # the labels: correct one bottom-left, predicted one bottom-right, in the 5x7 font
    cell = grid[0:28, 0:28]
    glyph = digits.GLYPH_MASKS
    np.testing.assert_allclose(cell[20:27, 1:6][glyph[int(labels[0])]], [digits.LABEL_COLOUR] * glyph[int(labels[0])].sum(), rtol=1e-6)
    np.testing.assert_allclose(cell[20:27, 22:27][glyph[int(predictions[0])]], [digits.LABEL_COLOUR] * glyph[int(predictions[0])].sum(), rtol=1e-6)
    # a recognised digit is ink on white: each pixel is 1 - its value, in grey
    recognised = grid[0:28, 28:56]
    np.testing.assert_allclose(recognised, np.repeat(1 - images[1][..., None], 3, axis=2), rtol=1e-6)


def test_misrecognised_digits_come_first_in_their_original_order():
    labels = np.array([1, 2, 3, 4, 5, 6])
    predictions = np.array([1, 0, 3, 0, 5, 0])
    assert digits.wrong_first(labels, predictions).tolist() == [1, 3, 5, 0, 2, 4]


# --- a real script, drawn off-screen ----------------------------------------------------------

@pytest.fixture
def trained_animation(mnist, tmp_path, monkeypatch, capsys):
    """Run 2.2 in this process for 300 steps with --save-png; give back the figure and output."""
    captured = {}
    finish = visualisation.Animation.finish

    def keep(self, **options):
        captured["animation"] = self
        finish(self, **options)

    monkeypatch.setattr(visualisation.Animation, "finish", keep)
    png = tmp_path / "end.png"
    script = os.path.join(TUTORIAL, "mnist_2.2_five_layers_relu_lrdecay_dropout.py")
    monkeypatch.setattr(sys, "argv", [script, "--headless", "--iterations", "300", "--save-png", str(png)])
    runpy.run_path(script, run_name="__main__")
    return captured["animation"], capsys.readouterr().out, png


def printed(output, kind):
    """(step, accuracy, loss) of each printed line of one kind ("training" or "test")."""
    pattern = rf"^step\s+(\d+) .*{kind}:\s+accuracy ([\d.]+)\s+loss\s+([\d.]+)"
    return [(int(s), float(a), float(c)) for s, a, c in re.findall(pattern, output, re.MULTILINE)]


def test_save_png_writes_the_six_panel_picture(trained_animation):
    animation, _, png = trained_animation
    picture = matplotlib.image.imread(png)
    assert picture.shape[:2] == (720, 1280)
    assert animation.visible_panels() == (1, 2, 3, 4, 5, 6)
    assert [ax.get_title() for ax in animation.panels.axes] == [
        "Accuracy", "Cross-entropy loss", "Training digits (red: misrecognised)",
        "Weights: spread of values (7 bands)", "Biases: spread of values (7 bands)",
        "Test digits, misrecognised first"]
    # The picture has red in it only if something was misrecognised; at 300 steps something is.
    reds = (picture[..., 0] > 0.95) & (picture[..., 1] < 0.6) & (picture[..., 2] < 0.6)
    assert reds.sum() > 100


def test_the_curves_hold_the_printed_numbers(trained_animation):
    animation, output, _ = trained_animation
    for kind in ("training", "test"):
        points = printed(output, kind)
        assert len(points) == (16 if kind == "training" else 4)
        steps, accuracies = animation.panels.lines[f"{kind} accuracy"].get_data()
        _, losses = animation.panels.lines[f"{kind} loss"].get_data()
        assert list(steps) == [p[0] for p in points]
        np.testing.assert_allclose(accuracies, [p[1] for p in points], atol=5e-5)
        np.testing.assert_allclose(losses, [p[2] for p in points], atol=5e-4)
    spread_steps, weights, biases = animation.spreads
    assert spread_steps == [0, 100, 200, 300]
    assert len(weights[0]) == 8 and np.all(np.diff(weights[-1]) >= 0)  # 8 percentiles, in order
    assert len(animation.panels.bands[3]) == 7 and len(animation.panels.bands[4]) == 7  # 7 bands each


def test_with_validation_the_panels_say_validation_and_hold_the_validation_numbers(
        mnist, tmp_path, monkeypatch, capsys):
    captured = {}
    finish = visualisation.Animation.finish
    monkeypatch.setattr(visualisation.Animation, "finish",
                        lambda self, **options: (captured.update(animation=self), finish(self, **options)))
    script = os.path.join(TUTORIAL, "mnist_1.0_softmax.py")
    monkeypatch.setattr(sys, "argv", [script, "--headless", "--iterations", "200", "--validation", "5000",
                                      "--save-png", str(tmp_path / "end.png")])
    runpy.run_path(script, run_name="__main__")
    animation, output = captured["animation"], capsys.readouterr().out
    accuracy, loss = animation.panels.axes[:2]
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == ["training", "validation"]
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["training", "validation"]
    assert animation.panels.axes[5].get_title() == "Validation digits, misrecognised first"
    points = printed(output, "validation")
    assert [p[0] for p in points] == [0, 100, 200]
    steps, accuracies = animation.panels.lines["test accuracy"].get_data()
    assert list(steps) == [0, 100, 200]
    np.testing.assert_allclose(accuracies, [p[1] for p in points], atol=5e-5)
    assert printed(output, "test") == []


def test_the_digit_grids_are_red_exactly_where_the_model_was_wrong(trained_animation):
    animation, output, _ = trained_animation
    images, labels, predictions = animation.training_digits
    grid = animation.panels.images["training"].get_array()
    wrong = labels != predictions
    assert 0 < wrong.sum() < 100
    for i in range(100):
        np.testing.assert_allclose(cell_corner(grid, i, 10), RED if wrong[i] else WHITE)
    # the training batch accuracy printed last is the share of white cells
    assert printed(output, "training")[-1][1] == pytest.approx(1 - wrong.mean(), abs=1e-4)

    images, labels, predictions = animation.test_digits
    assert len(labels) == visualisation.TEST_DIGITS
    grid = animation.panels.images["test"].get_array()
    wrong_count = int((labels != predictions).sum())
    for i in range(visualisation.TEST_DIGITS):
        expected = RED if i < wrong_count else WHITE  # misrecognised first
        np.testing.assert_allclose(cell_corner(grid, i, visualisation.TEST_COLUMNS), expected)


def test_the_loss_scale_shows_the_curve_past_batch_norms_enormous_first_test_loss():
    # batch norm's test pass at step 0 uses moving averages no training step has filled yet
    figure = visualisation.Animation("scale", 1000)
    try:
        figure.add_test(0, 0.05, 1.8e12)
        for step in range(0, 1001, 20):
            figure.add_training(step, 0.9, 230.0 if step == 0 else 30.0 * 0.998 ** step)
            if step % 100 == 0 and step:
                figure.add_test(step, 0.95, 25.0 * 0.998 ** step)
            if step >= 40:  # from the third point of the curve on, the curve fills the panel
                figure.update_artists()
                low, top = figure.panels.axes[1].get_ylim()
                assert low == 0 and 25 < top < 300, (step, top)
    finally:
        figure.close()


# --- keys, through matplotlib's own event machinery ---------------------------------------------

@pytest.fixture
def animation():
    figure = visualisation.Animation("keys", 100)
    yield figure
    figure.close()


def press(animation, key):
    canvas = animation.figure.canvas
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, key))


@pytest.mark.parametrize("key, panels", [
    ("1", (1,)), ("2", (2,)), ("3", (3,)), ("4", (4,)), ("5", (5,)), ("6", (6,)),
    ("7", (1, 2)), ("8", (4, 5)), ("9", (3, 6)), ("0", (1, 2, 3, 4, 5, 6)), ("escape", (1, 2, 3, 4, 5, 6)),
])
def test_each_key_shows_exactly_its_panels_laid_out_to_fill_the_window(animation, key, panels):
    press(animation, "4" if key in ("0", "escape") else "0")  # start from another layout
    press(animation, key)
    assert animation.visible_panels() == panels
    boxes = [animation.panels.axes[n - 1].get_position(original=True) for n in panels]  # the slot it was given
    if len(panels) == 1:
        assert boxes[0].width > 0.9 and boxes[0].height > 0.8
    elif len(panels) == 2:
        left, right = boxes
        assert left.x1 < right.x0 and left.width > 0.4 and left.height > 0.8
        assert left.y0 == pytest.approx(right.y0)
    else:
        assert len({round(b.y0, 3) for b in boxes}) == 2 and len({round(b.x0, 3) for b in boxes}) == 3


def test_matplotlib_keys_are_left_to_matplotlib(animation):
    keymaps = matplotlib.rcParams
    assert "o" in keymaps["keymap.zoom"] and "h" in keymaps["keymap.home"]
    assert "ctrl+s" in keymaps["keymap.save"]
    press(animation, "o")
    assert animation.visible_panels() == (1, 2, 3, 4, 5, 6) and not animation.paused


def test_space_pauses_training_until_pressed_again(animation):
    assert animation.tick() is True  # not paused: returns at once
    press(animation, " ")
    assert animation.paused
    threading.Timer(0.6, press, (animation, " ")).start()
    started = time.perf_counter()
    assert animation.tick() is True  # blocks: the training loop cannot take a step meanwhile
    assert time.perf_counter() - started >= 0.5
    assert not animation.paused


def test_ctrl_c_ends_the_wait_of_a_paused_window(animation):
    press(animation, " ")
    asked = threading.Event()
    threading.Timer(0.3, asked.set).start()
    assert animation.tick(until=asked.is_set) is True  # the loop then stops training
    assert animation.paused  # still paused: the picture shows where training stopped


# --- export ------------------------------------------------------------------------------------

def ffmpeg():
    """The ffmpeg that --save-movie uses: imageio-ffmpeg's own, or the system's (IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # no ffmpeg binary for this platform in the wheel, none on the system
        need("ffmpeg", "python3 -m pip install imageio-ffmpeg, or your system's ffmpeg with "
                       "IMAGEIO_FFMPEG_EXE set to it")


def test_save_movie_records_an_h264_mp4_of_the_expected_length(mnist, tmp_path):
    ffmpeg()  # skipped, by name, where there is none
    movie = tmp_path / "learning.mp4"
    result = run_python([os.path.join(TUTORIAL, "mnist_1.0_softmax.py"), "--headless", "--iterations", "200",
                         "--test-every", "20", "--save-movie", str(movie), "--movie-fps", "5"])
    assert result.returncode == 0, result.stderr
    probe = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(movie), "-map", "0:v:0", "-c", "copy",
                            "-f", "null", "-"], capture_output=True, text=True)
    assert re.search(r"Video: h264.*1280x720", probe.stderr), probe.stderr
    frames = int(re.findall(r"frame=\s*(\d+)", probe.stderr)[-1])
    assert frames == 11  # one per test pass: steps 0, 20, ..., 200
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", probe.stderr)
    assert float(duration[3]) == pytest.approx(11 / 5, abs=0.25)
    assert [p.name for p in tmp_path.iterdir()] == ["learning.mp4"]  # no temporary file left


def test_tensorboard_summaries_read_back(mnist, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = tmp_path / "logs"
    result = run_python([os.path.join(TUTORIAL, "mnist_2.1_five_layers_relu_lrdecay.py"), "--headless",
                         "--iterations", "200", "--tensorboard", str(logs)])
    assert result.returncode == 0, result.stderr
    run, = logs.iterdir()  # the run's own folder: script, seed, time
    assert run.name.startswith("mnist_2.1_five_layers_relu_lrdecay-seed0-")
    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    assert {"accuracy/training", "accuracy/test", "loss/training", "loss/test", "learning_rate"} <= set(
        events.Tags()["scalars"])
    test_points = printed(result.stdout, "test")
    recorded = events.Scalars("accuracy/test")
    assert [e.step for e in recorded] == [p[0] for p in test_points]
    np.testing.assert_allclose([e.value for e in recorded], [p[1] for p in test_points], atol=5e-5)
    weights = events.Histograms("weights")
    assert [h.step for h in weights] == [0, 100, 200]
    assert weights[-1].histogram_value.num == 184900  # every weight of 2.1
    assert events.Histograms("biases")[-1].histogram_value.num == 400


def test_layout_chooses_what_the_png_shows(mnist, tmp_path):
    pictures = {}
    layouts = ("0", "9", "1")
    runs = run_in_one_process([(os.path.join(TUTORIAL, "mnist_1.0_softmax.py"),
                                ["--headless", "--iterations", "100", "--layout", layout,
                                 "--save-png", str(tmp_path / f"layout{layout}.png")]) for layout in layouts])
    for layout, result in zip(layouts, runs):
        assert result.returncode == 0, result.stderr
        pictures[layout] = matplotlib.image.imread(tmp_path / f"layout{layout}.png")[..., :3]
    top_left = (slice(90, 270), slice(90, 370))  # the accuracy plot in the six-panel view
    top_right = (slice(90, 270), slice(990, 1190))  # the training digits in the six-panel view
    assert ink(255 * pictures["0"][top_left]) < 0.05 and ink(255 * pictures["0"][top_right]) > 0.05
    assert ink(255 * pictures["9"][top_left]) > 0.05  # training and test digits, side by side
    assert ink(255 * pictures["1"][top_right]) < 0.02  # the accuracy curve alone, across the picture


EXPORT_PATHS = [
    ("--save-png", "picture.jpg", "must end in .png"),
    ("--save-png", "/no/such/folder/picture.png", "does not exist"),
    ("--save-movie", "movie.avi", "must end in .mp4"),
    ("--tensorboard", "/proc/version/logs", "cannot create"),
    # /proc takes no files, for root too, though its permissions say it may: the folder is tried
    ("--results", "/proc/figures.json", "the folder /proc takes no new files"),
    ("--save-report", "/proc/report.png", "the folder /proc takes no new files"),
    ("--save-model", "/proc/model", "the folder /proc takes no new files"),
    ("--results", "/tmp", "must end in .json"),
    ("--results", "{folder}", "that is a folder; give a file's name"),
]


@pytest.fixture(scope="module")
def export_refusals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refusals") / "figures.json"
    folder.mkdir()
    lines = [(os.path.join(TUTORIAL, "mnist_1.0_softmax.py"), [flag, value.format(folder=folder)])
             for flag, value, _ in EXPORT_PATHS]
    return dict(zip([(flag, value) for flag, value, _ in EXPORT_PATHS], run_in_one_process(lines)))


@pytest.mark.parametrize("flag, value, message", EXPORT_PATHS)
def test_export_paths_are_checked_before_training(flag, value, message, export_refusals):
    result = export_refusals[flag, value]
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_file_refused_at_the_end_costs_one_line_and_not_the_others(mnist, tmp_path):
    """A disk that fills up during training: each file it refuses is one line and exit status 1;
    the files that fit are written all the same, and nothing half-written is left behind.
    Here the kernel refuses writes past 50 kB a file."""
    files = {"results": tmp_path / "figures.json", "model": tmp_path / "model",  # about 1 kB and 34 kB
             "report": tmp_path / "report.png", "png": tmp_path / "end.png", "movie": tmp_path / "run.mp4"}
    script = "mnist_1.0_softmax.py"
    result = subprocess.run(
        [sys.executable, os.path.join(TUTORIAL, script), "--headless", "--iterations", "300",
         "--results", str(files["results"]), "--save-model", str(files["model"]),
         "--save-report", str(files["report"]), "--save-png", str(files["png"]),
         "--save-movie", str(files["movie"])],
        env=clean_env(), capture_output=True, text=True, timeout=300, preexec_fn=small_disk(50_000))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"{script}: error: cannot write {files['report']}: File too large",
        f"{script}: error: cannot write {files['png']}: File too large",
        f"{script}: error: cannot write {files['movie']}: ffmpeg could not finish it (is the disk full?)"]
    assert "final test accuracy" in result.stdout  # the run itself was reported as usual
    figures = json.loads(files["results"].read_text())
    assert figures["steps"] == 300 and figures["final_accuracy"] > 0.85
    assert (files["model"] / "saved_model.pb").is_file()
    assert sorted(os.listdir(tmp_path)) == ["figures.json", "model"]  # no .partial- files left


# --- a real window on a real X server -----------------------------------------------------------

@pytest.mark.parametrize("backend", ["TkAgg", "QtAgg"])
def test_a_real_window_answers_real_key_presses(x_server, mnist, backend):
    if backend == "QtAgg":
        need_qt_libraries()
    window = Window(x_server, "--iterations", "100000", backend=backend)
    try:
        deadline = time.time() + 60
        while not any("test:" in line for line in window.lines) and time.time() < deadline:
            time.sleep(0.2)
        top_right = window.region(0.77, 0.93, 0.12, 0.38)  # inside the training digits
        top_left = window.region(0.07, 0.29, 0.12, 0.38)  # inside the accuracy plot
        everything = window.shows(lambda picture: ink(picture[top_right]) > 0.05 and ink(picture[top_left]) < 0.05)
        assert ink(everything[top_right]) > 0.05 and ink(everything[top_left]) < 0.05

        window.key("9")  # training and test digits side by side: digits now fill the left half
        nine = window.shows(lambda picture: ink(picture[top_left]) > 0.05)
        assert ink(nine[top_left]) > 0.05

        window.key("1")  # the accuracy curve alone: no digits anywhere up there
        one = window.shows(lambda picture: ink(picture[top_right]) < 0.02 and ink(picture[top_left]) < 0.02)
        assert ink(one[top_right]) < 0.02 and ink(one[top_left]) < 0.02

        window.key("0")  # all six again
        assert ink(window.shows(lambda picture: ink(picture[top_right]) > 0.05)[top_right]) > 0.05

        window.key("space")  # pause: no step advances
        paused_at = window.stands_still()
        time.sleep(2.0)
        assert window.steps()[-1] == paused_at
        window.key("space")  # resume
        deadline = time.time() + 30
        while window.steps()[-1] == paused_at and time.time() < deadline:
            time.sleep(0.2)
        assert window.steps()[-1] > paused_at
        assert window.process.poll() is None

        window.key("space")  # paused, Ctrl-C still stops training: one line, where it stopped
        window.process.send_signal(signal.SIGINT)
        assert window.process.wait(timeout=30) == 1
        last = window.process.stderr.read().strip().splitlines()[-1]
        assert re.fullmatch(r"mnist_2\.1_five_layers_relu_lrdecay\.py: interrupted at step \d+", last), last
    finally:
        window.close()


def test_layout_is_the_windows_first_view(x_server, mnist):
    window = Window(x_server, "--iterations", "100000", "--layout", "9")
    try:
        deadline = time.time() + 60
        while not any("test:" in line for line in window.lines) and time.time() < deadline:
            time.sleep(0.2)
        left = window.region(0.07, 0.29, 0.12, 0.38)
        assert ink(window.shows(lambda picture: ink(picture[left]) > 0.05)[left]) > 0.05  # digits on the left
        window.key("0")  # the keys still work from there
        assert ink(window.shows(lambda picture: ink(picture[left]) < 0.05)[left]) < 0.05
    finally:
        window.close()


def test_the_window_stays_open_when_training_ends(x_server, mnist):
    window = Window(x_server, "--iterations", "40")
    try:
        deadline = time.time() + 60
        while not any("close the window to exit" in line for line in window.lines) and time.time() < deadline:
            time.sleep(0.2)
        assert any(line.startswith("final test accuracy") for line in window.lines)
        time.sleep(1.0)
        assert window.process.poll() is None  # still showing the final state
        digits = window.region(0.77, 0.93, 0.12, 0.38)
        assert ink(window.shows(lambda picture: ink(picture[digits]) > 0.05)[digits]) > 0.05
    finally:
        window.close()


def test_a_qt_that_cannot_open_a_window_gives_way_to_tk(x_server, mnist):
    # A Qt without its platform plugin aborts the process; this one is told to load a plugin
    # that does not exist, as happens when a system library is missing.
    window = Window(x_server, "--iterations", "40", backend="QtAgg", QT_QPA_PLATFORM="no-such-platform")
    try:
        deadline = time.time() + 60
        while not any("close the window to exit" in line for line in window.lines) and time.time() < deadline:
            time.sleep(0.2)
        assert window.lines[1].startswith("Qt cannot open a window here (")  # after the header
        assert window.lines[1].rstrip().endswith("using Tk instead.")
        assert any(line.startswith("final test accuracy") for line in window.lines)
        assert window.process.poll() is None  # the Tk window shows the final state
    finally:
        window.close()


def test_no_usable_display_falls_back_to_headless_in_one_line(mnist):
    result = run_python([os.path.join(TUTORIAL, "mnist_1.0_softmax.py"), "--iterations", "20"],
                        env=clean_env(DISPLAY=":59"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].endswith("running headless, text only.")  # after the header
    assert "final test accuracy" in result.stdout
