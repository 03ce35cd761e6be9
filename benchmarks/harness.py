"""Running the real thing and reading its numbers: the benchmarks' one harness.

run_once trains a script headless, run_live in a window on an X server, run_in_notebook with %run
in a Jupyter kernel; each returns a record of what the script's --results file says and what is
measured from outside it (start-up, wall time, cpu time, peak memory, when it first reached 99%,
the time its test passes took). machine(), tensorflow_version() and commit() say where and with
what a record was made.
"""
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TUTORIAL = os.path.join(os.path.dirname(HERE), "tensorflow-mnist-tutorial")

TRAINING_LINE = re.compile(r"step +(\d+) .*training: +accuracy")
TEST_LINE = re.compile(r"step +(\d+) .*test: +accuracy ([\d.]+)")


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def tensorflow_version():
    out = subprocess.run([sys.executable, "-c", "import tensorflow; print(tensorflow.__version__)"],
                         capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return out.stdout.strip() or "unknown"


def commit():
    """The commit whose code runs, with "+" when the working tree differs from it."""
    def git(*words):
        return subprocess.run(["git", *words], cwd=HERE, capture_output=True, text=True).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + ("+" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_once(script, seed, extra):
    """One training run; returns its record, or raises RuntimeError with the script's last words.

    The script writes its own figures (accuracy, steps, training time) to --results; what it
    cannot see of itself is measured here, from outside: start-up (from the command to its first
    progress line), wall time, peak memory (the child's maximum resident set), when it first
    reached 99%, and how long its test passes took (from a training line to the test line of the
    same step, which the script prints before and after a test pass).
    """
    with tempfile.TemporaryDirectory() as folder:
        results = os.path.join(folder, "results.json")
        command = [sys.executable, os.path.join(TUTORIAL, script), "--headless", "--seed", str(seed),
                   *extra, "--results", results]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines, arrived = [], []
        for line in process.stdout:  # the scripts flush every line: time them as they come
            arrived.append(time.perf_counter() - started)
            lines.append(line)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory, not the largest so far
        wall = time.perf_counter() - started
        returncode = os.waitstatus_to_exitcode(status)
        output = "".join(lines)
        if returncode != 0 or not os.path.exists(results):
            raise RuntimeError(f"{script} seed {seed} failed ({returncode}): {output[-500:]}")
        with open(results) as f:
            figures = json.load(f)
    timing = line_timing(lines, arrived)
    return {
        "script": script, "seed": seed, "extra": extra, "machine": machine(),
        **{key: figures[key] for key in ("final_accuracy", "best_accuracy", "best_step", "steps",
                                         "training_s", "images_per_s")},
        "startup_s": timing["startup_s"], "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024, "times": {"test passes": timing["test_passes_s"]},
        "reached_99": timing["reached_99"],
        "command": " ".join(["python3", f"tensorflow-mnist-tutorial/{script}", "--headless",
                             "--seed", str(seed), *extra]),
    }


def line_timing(lines, arrived):
    """What the arrival times of a run's progress lines tell: seconds from the command to the
    first one, seconds spent in test passes (None when no test pass could be timed), and the first
    test pass at or above 99% (seconds counted from the first progress line). Seconds are kept as
    measured: RESULTS.md rounds them where a person reads them."""
    first = next((t for line, t in zip(lines, arrived) if line.startswith("step ")), None)
    if first is None:
        raise RuntimeError("no progress line: " + "".join(lines)[-500:])
    trained_at, testing, timed, reached_99 = {}, 0.0, 0, None
    for line, t in zip(lines, arrived):
        if (training := TRAINING_LINE.match(line)):
            trained_at[int(training[1])] = t
        elif (test := TEST_LINE.match(line)):
            step = int(test[1])
            if step in trained_at:  # the training line of this step came just before the test pass
                testing += t - trained_at[step]
                timed += 1
            if reached_99 is None and float(test[2]) >= 0.99:
                reached_99 = {"step": step, "seconds": t - first}
    return {"startup_s": first, "test_passes_s": testing if timed else None, "reached_99": reached_99}


def run_live(script, seed, display, flags=()):
    """The same run in a live window on an X server: wall time until training is over, and the
    process's peak memory until then."""
    env = {**os.environ, "DISPLAY": display, "MPLBACKEND": "TkAgg"}
    with tempfile.TemporaryDirectory() as folder:
        results = os.path.join(folder, "results.json")
        command = [sys.executable, os.path.join(TUTORIAL, script), "--seed", str(seed), *flags, "--results", results]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("Training is over"):  # printed once the results are written
                break
        wall = time.perf_counter() - started
        process.kill()  # the window would stay open until closed
        _, _, usage = os.wait4(process.pid, 0)
        text = "".join(output)
        if not os.path.exists(results) or "running headless" in text:
            raise RuntimeError(f"{script} seed {seed} did not train in a window: {text[-500:]}")
        with open(results) as f:
            figures = json.load(f)
    return {"script": script, "seed": seed, "extra": ["live"], "machine": machine(),
            "final_accuracy": figures["final_accuracy"], "training_s": figures["training_s"],
            "drawing_s": figures.get("drawing_s"), "wall_s": wall, "peak_mb": usage.ru_maxrss / 1024,
            "command": " ".join([f"DISPLAY={display} MPLBACKEND=TkAgg python3 tensorflow-mnist-tutorial/{script}",
                                 "--seed", str(seed), *flags])}


def run_in_notebook(script, seed, headless, flags=()):
    """The same run in a Jupyter kernel, as `%run` in a notebook cell: the cell's wall time, from
    the request to the kernel's answer, and the kernel's peak memory. Live, the six panels are
    drawn into the cell."""
    from jupyter_client.manager import KernelManager

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(cwd=os.path.dirname(TUTORIAL), env=env)
    client = kernel.client()
    client.start_channels()
    folder = tempfile.TemporaryDirectory()
    results = os.path.join(folder.name, "results.json")
    try:
        client.wait_for_ready(timeout=120)
        code = " ".join([f"%run tensorflow-mnist-tutorial/{script} --seed {seed}", *flags]) + (
            " --headless" if headless else "")
        texts, frames = [], []

        def output(message):
            if message["msg_type"] == "stream":
                texts.append(message["content"]["text"])
            elif "image/png" in message["content"].get("data", {}):
                frames.append(message["msg_type"])

        started = time.perf_counter()
        reply = client.execute_interactive(f"{code} --results {results}", timeout=3600, output_hook=output)
        wall = time.perf_counter() - started
        text = "".join(texts)
        if reply["content"]["status"] != "ok" or not os.path.exists(results):
            raise RuntimeError(f"{script} seed {seed} failed in a notebook: {text[-500:]}")
        with open(results) as f:
            figures = json.load(f)
        texts.clear()
        client.execute_interactive("import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
                                   timeout=60, output_hook=output)
        peak_mb = int("".join(texts).split()[-1]) / 1024
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
        folder.cleanup()
    return {"script": script, "seed": seed, "extra": ["notebook"] + (["headless"] if headless else []),
            "machine": machine(), "final_accuracy": figures["final_accuracy"], "training_s": figures["training_s"],
            "drawing_s": figures.get("drawing_s"), "wall_s": wall, "frames": len(frames), "peak_mb": peak_mb,
            "command": code}


def start_x_server():
    """Xvfb on a free display number, or None when it is not installed."""
    import shutil
    if not shutil.which("Xvfb"):
        return None, None
    number = next(n for n in range(90, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(f"/tmp/.X11-unix/X{number}"):
            break
        time.sleep(0.05)
    return server, f":{number}"
