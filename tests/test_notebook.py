"""Promises of the scripts in a Jupyter notebook, checked through a real kernel (ipykernel): the six
panels live in the cell, a readable cell, and a kernel that survives bad flags, reruns and interrupts."""
import json
import os
import re
import time

import matplotlib.image
import numpy as np
import pytest

from conftest import ROOT, SCRIPTS, TUTORIAL, clean_env, need
from kernel import Kernel

SCRIPT_21 = "tensorflow-mnist-tutorial/mnist_2.1_five_layers_relu_lrdecay.py"
SCRIPT_10 = "tensorflow-mnist-tutorial/mnist_1.0_softmax.py"


@pytest.fixture
def kernel(mnist):
    started = Kernel(ROOT, clean_env())
    yield started
    started.close()


def summary_index(cell):
    """Where training ended: the message with the one-line summary of the test passes."""
    return next(i for i, m in enumerate(cell.messages)
                if m["msg_type"] == "stream" and " test passes, accuracy " in m["content"]["text"])


def test_a_script_draws_one_live_picture_in_its_cell_and_leaves_the_final_state(kernel, tmp_path):
    png = tmp_path / "end.png"
    cell = kernel.run(f"%run {SCRIPT_21} --iterations 5000 --save-png {png}")
    assert cell.reply["status"] == "ok" and not cell.errors(), cell.text()

    pictures = cell.pictures()
    panels_id = pictures[0][1]
    panels = [picture for picture in pictures if picture[1] == panels_id]
    kinds = [kind for kind, _, _ in panels]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}  # one picture, updated
    assert panels_id and len(panels) == len(pictures) - 1
    during = [m for m in cell.messages[:summary_index(cell)] if m["msg_type"] == "update_display_data"]
    assert len(during) >= 5, f"{len(during)} updates while training"
    assert not np.array_equal(panels[1][2], panels[-1][2])  # the picture moves on
    # the last picture is the final state: the very picture --save-png wrote at the end
    np.testing.assert_array_equal(panels[-1][2], matplotlib.image.imread(png)[..., :3])
    # and below it, once training is over, the report of the mistakes: a picture of its own
    kind, report_id, report = pictures[-1]
    assert kind == "display_data" and report_id != panels_id and report.shape == panels[-1][2].shape
    assert cell.messages.index(cell.of_type("display_data")[-1]) > cell.messages.index(
        cell.of_type("update_display_data")[-1])

    # a readable cell: a progress bar (a widget), a header, one line of test passes, the result
    text = cell.text()
    assert len(text.splitlines()) <= 8, text
    assert not re.search(r"^step ", text, re.MULTILINE)
    assert re.search(r"51 test passes, accuracy 0\.\d{4} at step 0, .* at step 5000$", text, re.MULTILINE)
    assert "final test accuracy" in text and "Traceback" not in text
    bars = [m for m in cell.of_type("display_data")
            if "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
    assert len(bars) == 1 and "5000" in bars[0]["content"]["data"]["text/plain"]


def test_bad_flags_and_bad_data_are_one_line_and_the_kernel_runs_on(kernel, tmp_path):
    for flags, message in [("--iterations 0", "mnist_1.0_softmax.py: error: argument --iterations: '0' must be "
                                               "at least 1 (see --help)"),
                           (f"--data-dir {tmp_path / 'nope'}",
                            f"mnist_1.0_softmax.py: error: data directory {tmp_path / 'nope'} does not exist")]:
        cell = kernel.run(f"%run {SCRIPT_10} {flags}")
        errors = cell.errors()
        assert len(errors) == 1 and errors[0]["traceback"] == [message], errors
        assert cell.text() == "" and not cell.pictures()
    assert kernel.run("print(6 * 7)").text() == "42\n"


def test_running_scripts_again_in_the_same_kernel_starts_afresh(kernel):
    # no graph, variables or picture left over: the same seed gives the same numbers each time
    first = kernel.run(f"%run {SCRIPT_10} --iterations 200")
    other = kernel.run(f"%run {SCRIPT_21} --iterations 200 --layout 7")
    again = kernel.run(f"%run {SCRIPT_10} --iterations 200")
    for cell in (first, other, again):
        assert cell.reply["status"] == "ok" and not cell.errors(), cell.text()
        assert "final test accuracy" in cell.text() and "most confused" in cell.text()
        pictures = cell.pictures()  # the panels, updated in place; then the report of the mistakes
        assert len({display_id for _, display_id, _ in pictures[:-1]}) == 1 and pictures[-1][0] == "display_data"
    final = lambda cell: re.search(r"final test accuracy ([\d.]+)", cell.text())[1]  # noqa: E731
    assert final(first) == final(again)
    assert "184900 weights" in other.text() and "7840 weights" in again.text()
    np.testing.assert_array_equal(first.pictures()[-2][2], again.pictures()[-2][2])
    np.testing.assert_array_equal(first.pictures()[-1][2], again.pictures()[-1][2])
    # each cell has its own picture: a new display, not an update of the last cell's
    assert first.pictures()[0][1] != again.pictures()[0][1]


def test_interrupting_the_kernel_stops_training_in_one_line_and_keeps_the_picture(kernel):
    def interrupt_after_two_frames(message, cell):
        if len(cell.pictures()) == 2 and not cell.interrupted:
            cell.interrupted = True
            kernel.interrupt()

    import kernel as kernel_module
    kernel_module.Cell.interrupted = False
    cell = kernel.run(f"%run {SCRIPT_21} --iterations 100000", watch=interrupt_after_two_frames)
    errors = cell.errors()
    assert len(errors) == 1 and len(errors[0]["traceback"]) == 1, errors
    assert re.fullmatch(r"mnist_2\.1_five_layers_relu_lrdecay\.py: interrupted at step \d+",
                        errors[0]["traceback"][0])
    pictures = cell.pictures()
    assert len(pictures) >= 3  # the picture of where it stopped, after the interrupt
    assert cell.messages.index(cell.of_type("error")[0]) > cell.messages.index(
        cell.of_type("update_display_data")[-1])
    assert "Traceback" not in cell.text()
    assert kernel.run("print(6 * 7)").text() == "42\n"


def test_the_widget_canvas_is_used_with_ipympl_and_answers_keys_while_training(kernel):
    assert kernel.run("%matplotlib widget").reply["status"] == "ok"
    canvas, bar_values, sent = {}, [], {}

    def act(message, cell):
        content = message["content"]
        if message["msg_type"] == "comm_open" and content["data"]["state"].get("_model_name") == "MPLCanvasModel":
            canvas["comm"] = content["comm_id"]
        if message["msg_type"] == "comm_msg" and isinstance(content["data"].get("state", {}).get("value"), float):
            bar_values.append((time.time(), content["data"]["state"]["value"]))  # the progress bar moves
            if bar_values[-1][1] >= 500 and "view" not in sent:
                kernel.send_to_widget(canvas["comm"], {"type": "key_press", "key": "k7"})  # accuracy and loss
                kernel.send_to_widget(canvas["comm"], {"type": "key_press", "key": "k "})  # pause
                sent["view"] = sent["pause"] = time.time()
        if "pause" in sent and "queued" not in sent:  # the next cell, run while this one trains
            sent["queued"] = kernel.client.execute("print('the next cell')")
        if "pause" in sent and "resume" not in sent and time.time() - sent["pause"] > 4:
            kernel.send_to_widget(canvas["comm"], {"type": "key_press", "key": "k "})  # resume
            sent["resume"] = time.time()

    cell = kernel.run(f"%run {SCRIPT_21} --iterations 4000", watch=act)
    assert cell.reply["status"] == "ok" and not cell.errors(), cell.text()
    assert "resume" in sent, "training ended before the keys were sent"
    # while paused the bar stood still (a busy machine may act on the key late, and deliver late the
    # value it stopped at, never a second one: the second half of the pause is judged); no frames of
    # the inline kind: the canvas draws itself
    halfway = (sent["pause"] + sent["resume"]) / 2
    paused = [value for when, value in bar_values if halfway < when < sent["resume"]]
    assert len(set(paused)) <= 1, paused
    assert not cell.pictures() or all(kind == "display_data" for kind, _, _ in cell.pictures())
    # a cell queued while training waited its turn, and ran
    assert kernel.collect("", sent["queued"], timeout=60).text() == "the next cell\n"
    state = kernel.run("import matplotlib.pyplot as plt\n"
                       "print(type(plt.gcf().canvas).__module__, [ax.get_visible() for ax in plt.gcf().axes])")
    # panels 1 and 2 (the key 7), the other four hidden, and the report's two axes hidden until M
    assert state.text() == "ipympl.backend_nbagg [True, True, False, False, False, False, False, False]\n"


def test_the_companion_notebook_runs_top_to_bottom(mnist, monkeypatch):
    import nbclient
    import nbformat

    path = os.path.join(TUTORIAL, "codelab.ipynb")
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)  # committed clean
    with open(path) as f:  # as written: nbformat.read renames a repeated cell id, with a warning
        ids = [cell.get("id") for cell in json.load(f)["cells"]]
    assert None not in ids and len(ids) == len(set(ids))  # each cell its own id, as nbformat 4.5 asks
    runs = [cell for cell in code if cell.source.startswith("%run ") and "experiments.py" not in cell.source]
    scripts = {cell.source.split()[1] for cell in runs}
    assert set(SCRIPTS) <= scripts  # every numbered script has its chapter
    experiments = [cell for cell in code if cell.source.startswith("%run experiments.py ")]
    assert len(experiments) >= 2  # the lab bench's chapter runs two experiments

    switch, = [cell for cell in code if "QUICK = False" in cell.source]  # the quick tour, in the notebook
    assert code.index(switch) < code.index(runs[0])
    switch.source = switch.source.replace("QUICK = False", "QUICK = True")  # as a reader sets it
    # then shorter still: 20 steps and 3,000 images show the cells run as well as the quick tour's
    # 100 steps and 10,000-20,000 images do, in a third of the time
    assert '"--iterations 100"' in switch.source and '"--quick"' in switch.source
    switch.source = switch.source.replace('"--iterations 100"', '"--iterations 20"').replace(
        '"--quick"', '"--quick --train-images 3000 --tests-per-epoch 1"')
    monkeypatch.delenv("CODELAB_QUICK", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": TUTORIAL}}).execute()
    for cell in runs:
        kinds = [output.output_type for output in cell.outputs]
        assert "error" not in kinds, cell.outputs
        pictures = [output for output in cell.outputs if "image/png" in output.get("data", {})]
        assert len(pictures) == 2, (cell.source, kinds)  # the panels' final state, and the mistakes
        text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
        assert re.search(r"final test accuracy 0\.\d{4}", text), (cell.source, text)
        assert "20 steps of 100 images" in text
    live, = [cell for cell in code if "callbacks=[LivePanels()]" in cell.source]  # a model of one's own
    pictures = [output for output in live.outputs if "image/png" in output.get("data", {})]
    text = "".join(output.get("text", "") for output in live.outputs if output.output_type == "stream")
    assert "error" not in [output.output_type for output in live.outputs], live.outputs
    assert len(pictures) == 2 and re.search(r"final validation accuracy 0\.9\d{3}", text), (len(pictures), text)
    for cell in experiments:  # their curves drawn live in the cell, left in their final state, and the sentence
        kinds = [output.output_type for output in cell.outputs]
        assert "error" not in kinds, cell.outputs
        pictures = [output for output in cell.outputs if "image/png" in output.get("data", {})]
        assert len(pictures) == 1, (cell.source, kinds)
        text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
        assert " ranks first, at " in text, text
        assert text.count(": test ") >= 2 and "  epoch " not in text, text  # a line per variant, not per measurement


# --- a real browser: JupyterLab on localhost, headless Chromium ----------------------------------

@pytest.fixture
def jupyterlab(mnist, tmp_path):
    import shutil
    import socket
    import subprocess
    import sys
    import urllib.request

    if not shutil.which("chromium"):
        need("chromium", "Debian: apt-get install chromium (as .ci/run does)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": f"%run {SCRIPT_21}"}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "live.ipynb").write_text(json.dumps(notebook))
    # the tutorial under its own name beside the notebook: the picture shows no path of this machine
    (tmp_path / "tensorflow-mnist-tutorial").symlink_to(TUTORIAL)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no prompt about Jupyter's news (nothing here reaches the internet)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip", "127.0.0.1",
         f"--port={port}", "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={tmp_path}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=clean_env(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
                      JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=60)


def test_a_browser_shows_the_panels_moving_in_jupyterlab(jupyterlab, tmp_path):
    import shutil
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(  # Debian's Chromium: nothing is downloaded
            executable_path=shutil.which("chromium"), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1050})
            page.goto(f"{jupyterlab}/lab/tree/live.ipynb")
            page.locator("#jp-main-statusbar").get_by_text("Idle").first.wait_for(timeout=120_000)
            page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
            page.keyboard.press("Shift+Enter")
            picture = page.locator(".jp-OutputArea-output img")
            picture.first.wait_for(timeout=120_000)
            first = picture.first.get_attribute("src")
            page.wait_for_timeout(8000)  # training goes on: the same picture is redrawn in place
            shot = tmp_path / "jupyterlab.png"
            page.screenshot(path=str(shot))
            assert picture.count() == 1 and picture.first.get_attribute("src") != first
            box = picture.first.bounding_box()
            screen = matplotlib.image.imread(shot)[..., :3]
            region = screen[int(box["y"]):int(box["y"] + box["height"]), int(box["x"]):int(box["x"] + box["width"])]
            assert region.shape[0] > 300 and region.shape[1] > 600, region.shape  # the panels, shown large
            assert (region.mean(axis=2) < 0.3).mean() > 0.005  # ink: digits, axes and curves (1.7% seen)
            assert ((region[..., 0] > 0.9) & (region[..., 1] < 0.7)).mean() > 0.0002  # red: test curve, mistakes
            assert "step/s" in page.locator(".jp-OutputArea").first.inner_text()  # the progress bar
            if os.environ.get("NOTEBOOK_SCREENSHOT"):  # how README's picture is made
                import shutil
                shutil.copy(shot, os.environ["NOTEBOOK_SCREENSHOT"])
        finally:
            browser.close()
