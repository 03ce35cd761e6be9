"""Make README.md's pictures again, from the current code, in one command.

    python3 docs/make_pictures.py                     # all of them: about five minutes on 2 cores
    python3 docs/make_pictures.py panels compare      # some: panels, live-panels, keras, experiments, compare, tensorboard, draw, notebook

panels      2.1 at its defaults, seed 0, headless: the six panels at the end of training, with the
            zoom on the last percent and the note on overfitting (docs/mnist_2.1_five_layers_relu_lrdecay.png),
            and the report of its mistakes (docs/mistakes_2.1.png)
live-panels LivePanels on Fashion-MNIST (Debian's dataset-fashion-mnist): a small convolutional
            network's own fit, 3 epochs, seed 0, headless (docs/live_panels_fashion.png)
keras       the Keras twin of 2.2 at its defaults, seed 0, headless: its six panels at the end of training
            (docs/keras_2.2_five_layers_relu_lrdecay_dropout.png)
experiments the lab bench's depth experiment at its defaults, seed 0, headless: its curves and its
            sentence (docs/experiments_depth.png)
compare     2.0, 2.1 and 2.2 at their defaults, seed 0, --tensorboard; compare.py's overlay (docs/compare_2.x.png)
tensorboard the same runs in TensorBoard, in headless Chromium (docs/tensorboard_2.x.png)
draw        3.0 trained 2,000 steps; the drawing pad under Xvfb, a 7 drawn with xdotool (docs/draw_pad.png)
notebook    the project's JupyterLab test, which keeps its screenshot (docs/notebook_jupyterlab.png)

Everything runs in a temporary folder, named so that no picture shows this machine's paths.
tensorboard, draw and notebook need the tools the tests use: Chromium, Xvfb, xdotool and xwd.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOCS = HERE  # where the pictures go: --output
TUTORIAL = os.path.join(ROOT, "tensorflow-mnist-tutorial")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
PARTS = ["panels", "live-panels", "keras", "experiments", "compare", "tensorboard", "draw", "notebook"]
FASHION = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
LIVE_PANELS = f"""
import keras
from mnist_tutorial import LivePanels, mnistdata

data = mnistdata.load({FASHION!r}, one_hot=False, pixels_as_bytes=True)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                          keras.layers.Conv2D(16, 5, strides=2, activation="relu"),
                          keras.layers.Conv2D(32, 3, strides=2, activation="relu"), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(data.train_images, data.train_labels, epochs=3, batch_size=128, verbose=0,
          validation_data=(data.test_images, data.test_labels),
          callbacks=[LivePanels(where="text", test_every=100, title="LivePanels: Fashion-MNIST", save_png=PNG)])
"""
TOOLS = {"tensorboard": ["chromium"], "draw": ["Xvfb", "xdotool", "xwd"], "notebook": ["chromium"]}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def run(command, cwd, **env):
    """A command of the tutorial's, from cwd; stop with its last words if it fails."""
    done = subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env})
    if done.returncode != 0:
        sys.exit(f"make_pictures.py: {' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def panels(work):
    """The six panels and the report, as --save-png and --save-report write them."""
    run(["tensorflow-mnist-tutorial/mnist_2.1_five_layers_relu_lrdecay.py", "--headless", "--seed", "0",
         "--save-png", os.path.join(DOCS, "mnist_2.1_five_layers_relu_lrdecay.png"),
         "--save-report", os.path.join(DOCS, "mistakes_2.1.png")], cwd=work)


def experiments(work):
    """The lab bench's depth experiment: eight variants' curves, overlaid, and the sentence."""
    run(["tensorflow-mnist-tutorial/experiments.py", "depth", "--headless", "--seed", "0",
         "--save-png", os.path.join(DOCS, "experiments_depth.png")], cwd=work)


def live_panels(work):
    """LivePanels on a model of one's own, trained on Fashion-MNIST by its own fit."""
    if not os.path.isdir(FASHION):
        sys.exit(f"make_pictures.py: live-panels needs Fashion-MNIST in {FASHION}: apt-get install dataset-fashion-mnist")
    script = os.path.join(work, "fashion.py")
    with open(script, "w") as f:
        f.write(LIVE_PANELS.replace("PNG", repr(os.path.join(DOCS, "live_panels_fashion.png"))))
    run([script], cwd=work)


def keras(work):
    """A Keras twin's six panels: the same picture, from a model trained by fit."""
    run(["tensorflow-mnist-tutorial/keras_2.2_five_layers_relu_lrdecay_dropout.py", "--headless", "--seed", "0",
         "--save-png", os.path.join(DOCS, "keras_2.2_five_layers_relu_lrdecay_dropout.png")], cwd=work)


def training_runs(work):
    """2.0, 2.1 and 2.2 at their defaults into work/runs, once."""
    runs = os.path.join(work, "runs")
    if not os.path.isdir(runs):
        for script in ("mnist_2.0_five_layers_sigmoid.py", "mnist_2.1_five_layers_relu_lrdecay.py",
                       "mnist_2.2_five_layers_relu_lrdecay_dropout.py"):
            run([f"tensorflow-mnist-tutorial/{script}", "--headless", "--seed", "0", "--tensorboard", "runs"], cwd=work)
    return "runs"


def compare(work):
    runs = training_runs(work)
    run(["tensorflow-mnist-tutorial/compare.py", runs, "--output", os.path.join(DOCS, "compare_2.x.png")], cwd=work)


def tensorboard(work):
    from playwright.sync_api import sync_playwright
    runs, port = training_runs(work), free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", runs, "--host", "127.0.0.1",
                               "--port", str(port)], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                                 args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for _ in range(60):  # until TensorBoard answers
                try:
                    page.goto(f"http://127.0.0.1:{port}/#timeseries&tagFilter=test")
                    break
                except Exception:  # noqa: BLE001  playwright's error for a refused connection
                    time.sleep(1)
            page.get_by_text("accuracy/test").first.wait_for(timeout=60_000)
            page.wait_for_timeout(5000)  # the charts draw themselves
            page.screenshot(path=os.path.join(DOCS, "tensorboard_2.x.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait()


def draw(work):
    import matplotlib.image
    from conftest import screenshot
    from test_draw import Pad
    model = os.path.join(work, "models", "3.0")
    run(["tensorflow-mnist-tutorial/mnist_3.0_convolutional.py", "--headless", "--iterations", "2000",
         "--save-model", model], cwd=work)
    from run import start_x_server  # benchmarks/run.py's, which measures the live window on it
    xvfb, display = start_x_server()
    pad = subprocess.Popen([sys.executable, "tensorflow-mnist-tutorial/draw.py", "--model", "models/3.0"], cwd=work,
                           env={**os.environ, "DISPLAY": display, "MPLBACKEND": "TkAgg"},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        window = Pad(display, pad)
        window.draw((0.25, 0.2), (0.75, 0.2), (0.45, 0.85))  # a 7: across, then down to the left
        window.name()  # settled: the answer is in the title and on the pad
        geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window.id], capture_output=True,
                                  text=True, env=window.env, check=True).stdout
        box = dict(line.split("=") for line in geometry.split())
        x, y = int(box["X"]), int(box["Y"])
        picture = screenshot(display)[y:y + window.height, x:x + window.width]
        matplotlib.image.imsave(os.path.join(DOCS, "draw_pad.png"), picture)
        window.quit()
        pad.wait(timeout=30)
    finally:
        pad.kill()
        xvfb.terminate()
        xvfb.wait()


def notebook(work):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_notebook.py::test_a_browser_shows_the_panels_moving_in_jupyterlab"],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "NOTEBOOK_SCREENSHOT": os.path.join(DOCS, "notebook_jupyterlab.png")})
    if done.returncode != 0:
        sys.exit(f"make_pictures.py: the JupyterLab test failed: {done.stdout.strip().splitlines()[-1:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", choices=PARTS, metavar="PART", help=f"some of: {', '.join(PARTS)}")
    parser.add_argument("--output", default=HERE, metavar="DIR", help="where the pictures go (default: docs/)")
    args = parser.parse_args()
    global DOCS
    DOCS = os.path.abspath(args.output)
    if not os.path.isdir(DOCS):
        parser.error(f"--output {args.output}: no such folder")
    parts = args.parts or PARTS
    missing = sorted({tool for part in parts for tool in TOOLS.get(part, []) if not shutil.which(tool)})
    if missing:
        parser.error(f"{', '.join(missing)} not found: the parts {', '.join(p for p in parts if TOOLS.get(p))} "
                     f"need them (Debian: apt-get install xvfb xdotool x11-apps chromium)")
    # a folder with the tutorial in it, under a plain name: what the pictures show is relative to it
    with tempfile.TemporaryDirectory(prefix="pictures-") as work:
        os.symlink(TUTORIAL, os.path.join(work, "tensorflow-mnist-tutorial"))
        for part in parts:
            started = time.perf_counter()
            globals()[part.replace("-", "_")](work)
            print(f"{part}: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
