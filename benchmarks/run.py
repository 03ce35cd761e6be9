"""Train every script headless at its defaults with several seeds and write benchmarks/RESULTS.md.

    python3 benchmarks/run.py                    # every script, seeds 0 1 2, and 2.1 in a live window
                                                 # and in a notebook (each 5.x step takes up to an hour a seed)
    python3 benchmarks/run.py --scripts 3.1 --seeds 0
    python3 benchmarks/run.py --scripts 2.1 --notebook-only   # 2.1 in a notebook, live and headless

Each finished run is appended to benchmarks/runs.jsonl at once, and runs already there (same
script, seed and flags on the same machine) are not repeated: stop it at any time and start it
again to resume. --fresh forgets earlier runs of what you asked for. RESULTS.md is rewritten from
runs.jsonl after every run; --report rewrites it without training anything.

A script reports its own figures in the file its --results flag names; start-up, wall time,
memory and the time its test passes take are measured here, from outside the script.
"""
import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TUTORIAL = os.path.join(os.path.dirname(HERE), "tensorflow-mnist-tutorial")
RUNS = os.path.join(HERE, "runs.jsonl")
RESULTS = os.path.join(HERE, "RESULTS.md")
PAIRED_RUNS = os.path.join(HERE, "paired_runs.jsonl")  # benchmarks/paired.py
PAIRED_TARGET = 1.10  # a change may cost a script at most 10% of its training time
TWIN_RUNS = os.path.join(HERE, "twin_runs.jsonl")  # benchmarks/twins.py
TWIN_TIME_TARGET, TWIN_MEMORY_TARGET = 1.10, 1.20  # a twin against its graph twin
EXPERIMENT_RUNS = os.path.join(HERE, "experiment_runs.jsonl")  # benchmarks/experiments.py
MODE_ORDER = {"headless": 0, "window": 1, "notebook": 2}  # benchmarks/twins.py's modes, as RESULTS lists them

sys.path.insert(0, TUTORIAL)
from mnist_tutorial import lessons  # noqa: E402  the numbered scripts: the one list

# script's version: (final test accuracy the median seed must reach, best accuracy, seconds of training)
TARGETS = {
    "1.0": (0.920, None, None), "2.0": (0.970, None, None), "2.1": (0.980, None, 25),
    "2.2": (0.980, None, None), "3.0": (0.988, None, None), "3.1": (0.991, 0.992, 400),
    "4.0": (None, None, None), "4.1": (None, None, None), "4.2": (0.995, None, None),
    "5.0": (None, None, None), "5.1": (None, None, None), "5.2": (0.997, None, 3600),
}
# the twins in today's TensorFlow (keras_*.py, tf2_*.py): where their graph twins land
TWIN_TARGETS = {"keras_1.0": (0.920, None, None), "keras_3.1": (0.991, None, None), "keras_4.2": (0.995, None, None)}
TWIN_WITHIN = {"keras_2.2": 0.002, "tf2_2.2": 0.002}  # of the graph twin's median
STARTUP_TARGET_S = 6.0
MEMORY_TARGET_MB = {"4.2": 1500, "5.0": 1500, "5.1": 1500, "5.2": 1500}  # others: 900
TEST_EVERY = {"5.0": 500, "5.1": 500, "5.2": 500}  # the scripts' defaults; others 100
EARLY_99_TARGET = {"4.2": 1500}  # 99% test accuracy by this step
# 5.x's recipe was searched for until the test median of seeds 0-2 crossed 0.997, so those seeds
# flatter it: the last step's target is judged on seeds that played no part in the search.
FRESH_SEEDS = {"5.2": (3, 4, 5)}

LIVE_SCRIPT = lessons.named("2.1")  # the live window's cost is measured on this one
LIVE_RATIO_TARGET = 1.3
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


def load_runs():
    if not os.path.exists(RUNS):
        return []
    with open(RUNS) as f:
        return [json.loads(line) for line in f if line.strip()]


def one_machine(runs):
    """Seeds measured on different machines do not make one median: the latest machine's runs."""
    return [r for r in runs if r["machine"] == runs[-1]["machine"]]


def write_results(runs, tf_version):
    def headless_runs(script, fresh):
        seeds = FRESH_SEEDS.get(lessons.version(script), ())
        return [r for r in runs if r["script"] == script and not r["extra"] and (r["seed"] in seeds) == fresh]

    by_script = {script: one_machine(mine) for script in lessons.SCRIPTS + lessons.TWINS
                 if (mine := headless_runs(script, False))}
    fresh = {script: one_machine(mine) for script in lessons.SCRIPTS if (mine := headless_runs(script, True))}
    live = [r for r in runs if r["script"] == LIVE_SCRIPT and r["extra"] == ["live"]]
    letters = {}  # machine: its letter in the tables, in order of first use
    for r in [mine[0] for mine in by_script.values()] + live:
        letters.setdefault(r["machine"], "ABCDEFGHIJ"[len(letters)])
    onednn = "off" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "on"
    lines = [
        "# Benchmark results",
        "",
        "Written by `python3 benchmarks/run.py` from the runs in `runs.jsonl`; every figure below is",
        "measured, none is typed in. Each script trains headless at its default settings (mini-batches",
        "of 100; a full 10,000-image test pass every 100 steps, every 500 for 5.x, and after the last",
        "step) with each seed. The keras_* and tf2_* rows are the twins in today's TensorFlow, each",
        "judged against where its graph twin lands: 1.0 at 0.920, 2.2 within 0.002 of 2.2's median on",
        "this machine, 3.1 at 0.991, 4.2 at 0.995.",
        "",
        "The 5.x runs below were made while each 5.x script augmented its digits inside the network's "
        "graph; the scripts now augment each batch in their loop, before feeding it (so that the "
        "training panel shows what is learnt). The networks, schedules and augmentation are the same, "
        "but the random draws are not: the same seed now gives other numbers than these rows. 1.0 to "
        "4.2 print the same progress lines as before, step for step.",
        "",
        "Machines: " + "; ".join(f"{letter} = {name}" for name, letter in letters.items())
        + f". TensorFlow {tf_version}, oneDNN {onednn}. Figures from different machines are not "
          "comparable for speed: the same 2-core kind of machine has come with different processors.",
        "",
        "| script | machine | steps | seeds | final test accuracy, median (worst) | target | best test accuracy, "
        "median (worst) | training s, median | target | images/s | 99% test accuracy at step (s), median "
        "| startup s, max | peak MB, max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    breakdown = ["", "## Where the training time goes (median seconds per run)", "",
                 "Test passes are timed from outside the script, from the training line it prints just "
                 "before a test pass to the test line it prints after it (for the older runs, by the "
                 "script itself); the rest of the training time is the training steps, the "
                 "accuracy and loss on training batches, and preparing the batches.", "",
                 "| script | machine | training s | test passes s | the rest s | ms per test pass | "
                 "ms per step, the rest |", "| --- | --- | --- | --- | --- | --- | --- |"]
    commands = ["", "## Runs", "", "| command | final | best (step) | training s | startup s | peak MB |",
                "| --- | --- | --- | --- | --- | --- |"]
    verdicts = []
    for script, mine in by_script.items():
        version = lessons.version(script)
        twin = f"{lessons.twin_kind(script)}_{version}" if lessons.twin_kind(script) else None
        accuracy_target, best_target, seconds_target = (TWIN_TARGETS if twin else TARGETS).get(
            twin or version, (None, None, None))
        letter = letters[mine[0]["machine"]]
        final = [r["final_accuracy"] for r in mine]
        best = [r["best_accuracy"] for r in mine]
        seconds = statistics.median(r["training_s"] for r in mine)
        verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731
        target = "-"
        graph = by_script.get(lessons.graph_twin(script)) if twin in TWIN_WITHIN else None
        if version in FRESH_SEEDS and accuracy_target is not None and not twin:
            target = f">= {accuracy_target:.3f} on fresh seeds (below)"
        elif graph:  # within so much of the graph twin's median, on this machine's runs
            theirs = statistics.median(r["final_accuracy"] for r in graph)
            accuracy_ok = abs(statistics.median(final) - theirs) <= TWIN_WITHIN[twin] + 1e-9
            verdicts.append(accuracy_ok)
            target = f"within {TWIN_WITHIN[twin]} of {version}'s {theirs:.4f} {verdict(accuracy_ok)}"
        elif accuracy_target is not None:
            accuracy_ok = statistics.median(final) >= accuracy_target and (
                best_target is None or statistics.median(best) >= best_target)
            verdicts.append(accuracy_ok)
            target = (f">= {accuracy_target:.3f}" + (f", best >= {best_target:.3f}" if best_target else "")
                      + f" {verdict(accuracy_ok)}")
        speed = "-"
        if seconds_target is not None:
            verdicts.append(seconds <= seconds_target)
            speed = f"<= {seconds_target} {verdict(seconds <= seconds_target)}"
        # a run that never reached 99% counts as reaching it never (after every other run)
        reached = [r["reached_99"] or {"step": math.inf, "seconds": math.inf} for r in mine
                   if "reached_99" in r]  # runs recorded before this was measured lack it
        early = "-"
        if reached and len(reached) == len(mine):
            step_99 = statistics.median_low([r["step"] for r in reached])
            seconds_99 = statistics.median_low([r["seconds"] for r in reached])
            early = "never" if step_99 == math.inf else f"{step_99} ({seconds_99:.0f} s)"
            if version in EARLY_99_TARGET:
                verdicts.append(step_99 <= EARLY_99_TARGET[version])
                early += f", target <= {EARLY_99_TARGET[version]} {verdict(step_99 <= EARLY_99_TARGET[version])}"
        startup, peak = max(r["startup_s"] for r in mine), max(r["peak_mb"] for r in mine)
        memory_target = MEMORY_TARGET_MB.get(version, 900)
        verdicts += [startup <= STARTUP_TARGET_S, peak <= memory_target]
        lines.append(
            f"| {script} | {letter} | {mine[0]['steps']} | {len(mine)} | {statistics.median(final):.4f} ({min(final):.4f}) "
            f"| {target} | {statistics.median(best):.4f} ({min(best):.4f}) | {seconds:.1f} | {speed} "
            f"| {statistics.median(r['images_per_s'] for r in mine):,.0f} | {early} | {startup:.1f} "
            f"| {peak:.0f}{'' if memory_target == 900 else f' (target <= {memory_target})'} |")
        timed = [r for r in mine if r["times"]["test passes"] is not None]
        if timed:
            testing = statistics.median(r["times"]["test passes"] for r in timed)
            rest = statistics.median(r["training_s"] - r["times"]["test passes"] for r in timed)
            steps = mine[0]["steps"]
            every = TEST_EVERY.get(version, 100)
            test_passes = steps // every + 1 + (1 if steps % every else 0)
            breakdown.append(f"| {script} | {letter} | {statistics.median(r['training_s'] for r in timed):.1f} "
                             f"| {testing:.1f} | {rest:.1f} | {1000 * testing / test_passes:.0f} "
                             f"| {1000 * rest / steps:.1f} |")
        commands += [command_row(r) for r in sorted(mine, key=lambda r: r["seed"])]
    headless = {(r["machine"], r["seed"]): r for r in runs if r["script"] == LIVE_SCRIPT and not r["extra"]}
    pairs = [(r, headless[r["machine"], r["seed"]]) for r in live if (r["machine"], r["seed"]) in headless]
    live_lines = []
    if pairs:
        ratios = [r["wall_s"] / h["wall_s"] for r, h in pairs]
        ratio = statistics.median(ratios)
        verdicts.append(ratio <= LIVE_RATIO_TARGET)
        live_lines = ["", "## The live window", "",
                      f"{LIVE_SCRIPT} at its defaults in a live TkAgg window on Xvfb, against the same seed "
                      f"headless on the same machine "
                      f"({', '.join(sorted({letters[r['machine']] for r, _ in pairs}))}); wall time "
                      f"from the command to the end of training.", "",
                      "| seed | headless wall s | live wall s | ratio | drawing s (share of training) "
                      "| final accuracy, live (headless) |",
                      "| --- | --- | --- | --- | --- | --- |"]
        for (r, h), q in sorted(zip(pairs, ratios), key=lambda x: x[0][0]["seed"]):
            live_lines.append(f"| {r['seed']} | {h['wall_s']:.1f} | {r['wall_s']:.1f} | {q:.2f} | {drawing(r)} | "
                              f"{r['final_accuracy']:.4f} ({h['final_accuracy']:.4f}) |")
        live_lines += ["", "The drawing is the time the training loop spent drawing frames (the script's own "
                           "--results figure; after a frame the loop trains 1 / 0.15 times as long as the "
                           "frame took); the rest of the cost is the window's start, its last frames and, on "
                           "two cores, the X server and the drawing taking a core from TensorFlow's threads.",
                       "", f"Median ratio {ratio:.2f} (target <= {LIVE_RATIO_TARGET}: "
                           f"{'met' if ratio <= LIVE_RATIO_TARGET else '**missed**'}). Commands: "
                           + "; ".join(f"`{r['command']}`" for r, _ in pairs)]
    notebook_lines = notebook_section(runs, letters, verdicts)
    fresh_lines = fresh_section(by_script, fresh, letters, verdicts)
    for mine in fresh.values():
        commands += [command_row(r) for r in sorted(mine, key=lambda r: r["seed"])]
    lines += [
        "",
        f"Startup is from the command to the first progress line, measured from outside the script "
        f"(for the older runs, to the first training step, measured inside it; target <= "
        f"{STARTUP_TARGET_S:.0f} s); "
        f"peak memory is the process's maximum resident set (target <= 900 MB unless the table says "
        f"otherwise). 99% is the first test pass at or above 0.99, its seconds counted from the "
        f"first progress line.",
    ]
    import live_panels  # benchmarks/live_panels.py, which imports this module
    paired_lines = paired_section() + twins_section() + experiments_section() + live_panels.section()
    text = "\n".join(lines + fresh_lines + breakdown + paired_lines + live_lines + notebook_lines + commands
                     + how_made(runs)) + "\n"
    fd, temporary = tempfile.mkstemp(dir=HERE, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(temporary, RESULTS)


def commit():
    """The commit whose code runs, with "+" when the working tree differs from it."""
    def git(*words):
        return subprocess.run(["git", *words], cwd=HERE, capture_output=True, text=True).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + ("+" if git("status", "--porcelain", "--untracked-files=no") else "")


# Why this project's figure differs from the primer's, where the settings differ: facts about the
# two runs, not guesses about the numbers.
EXPERIMENT_NOTES = {
    "depth": "The primer's settings (sigmoid, SGD at 0.01, 5 epochs of batches of 128, pixels 0-255); it "
             "trains on 54,000 images (a tenth held out for validation), this on all 60,000, and it reports "
             "one run of each network, where these rows are medians.",
    "width": "The primer's settings, as for depth.",
    "input-scaling": "5 epochs here; the primer's figures are after 500 (--epochs 500), which is where its "
                     "0-255 run's 97% comes from.",
    "inverted": "The primer's settings (10 epochs of batches of 32); its figures are rounded (\"about 97%\", "
                "\"about 98%\") from one run.",
    "batch-size": "The primer's settings (10 epochs); its figure for the batch of 30,000 is when it reaches 98%, "
                  "not an accuracy, so only batch 32 has one here.",
    "learning-rate": "10 epochs here; the primer's 90% at 0.01 is after 500 epochs (--epochs 500), a run whose "
                     "loss it shows jumping between plateaus.",
    "optimizer": "5 epochs here; the primer's SGD figure is after 100 (--epochs 100): plain SGD is still "
                 "climbing at 5.",
    "overfitting": "The long run is 20 epochs here; the primer's is 100 (--epochs 100), with 100% training "
                   "accuracy. After 20 epochs the gap has grown by under half a point, or not at all, so "
                   "the finding is not settled at this length.",
    "l2": "20 epochs here; the primer's figure is after 500 (--epochs 500). With L2 0.1 the network is "
          "underfitted after 20 epochs (its training accuracy is no higher than its test accuracy), so "
          "its test accuracy is far from the primer's.",
    "dropout": "20 epochs here; the primer's run is 100 (--epochs 100) and gives no test figure.",
    "batch-norm": "20 epochs here; the primer's figures are after 100 (--epochs 100).",
}


def experiments_section():
    """benchmarks/experiments.py's runs: the primers' figures beside the medians of this project's."""
    if not os.path.exists(EXPERIMENT_RUNS):
        return []
    with open(EXPERIMENT_RUNS) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    runs = one_machine(runs)
    lines = ["", "## The lab bench against the primers", "",
             "`python3 benchmarks/experiments.py`: every experiment of `experiments.py` at its default "
             "settings, headless, with each seed; the figures are the runs' own --results. Accuracies "
             "are on the 10,000 test images (training: on 10,000 training images, the network as it "
             "tests) at the end of the run; the primer's figure is the test accuracy its text reports, at "
             "its own epochs. \"Held\" counts the seeds whose numbers agree with each of the primer's "
             "findings (the run's sentence says which). \"Points\" is this project's median minus the primer's "
             "figure. Seconds are each variant's training time; some of these runs shared the two cores "
             "with the test suite, so they compare variants within a run, not runs.", ""]
    by_name = {}
    for r in runs:
        by_name.setdefault(r["experiment"], []).append(r)
    for name, mine in by_name.items():
        seeds = sorted(r["seed"] for r in mine)
        first = mine[-1]
        lines += [f"### {name}", "",
                  f"`{first['command'].replace(' --seed ' + str(first['seed']), '')}`, seeds "
                  f"{', '.join(map(str, seeds))}; {first['epochs']} epochs here, {first['primer_epochs']} in "
                  f"the primer. {EXPERIMENT_NOTES.get(name, '')}", "",
                  "| variant | primer's test accuracy | test accuracy, median (range) | points | training accuracy, "
                  "median | gap, median | seconds, median |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for variant in first["variants"]:
            rows = [v for r in mine for v in r["variants"] if v["variant"] == variant["variant"]]
            tests = [v["final_test"] for v in rows]
            primer = f"{variant['primer']:.2%}" if variant.get("primer") is not None else "-"
            points = (f"{100 * (statistics.median(tests) - variant['primer']):+.2f}"
                      if variant.get("primer") is not None else "-")
            lines.append(f"| {variant['variant']} | {primer} | {statistics.median(tests):.2%} "
                         f"({min(tests):.2%}-{max(tests):.2%}) | {points} | "
                         f"{statistics.median(v['final_train'] for v in rows):.2%} | "
                         f"{100 * statistics.median(v['gap'] for v in rows):.2f} | "
                         f"{statistics.median(v['seconds'] for v in rows):.0f} |")
        held = []
        for finding in first["findings"]:
            agree = sum(1 for r in mine if finding_holds(r, finding))
            what = {"test": "above", "gap": "overfits less than", "reach": "learns faster than"}[finding["measure"]]
            held.append(f"{finding['better']} {what} {finding['worse']}: held in {agree} of {len(mine)}")
        lines += ["", "The primer's findings: " + "; ".join(held) + ".", "",
                  f"Seed {first['seed']}'s sentence: {first['sentence']}", ""]
    return lines


def finding_holds(record, finding):
    """Whether one run's numbers agree with a primer's finding (as lab_bench.sentence judges)."""
    rows = {v["variant"]: v for v in record["variants"]}
    better, worse = rows[finding["better"]], rows[finding["worse"]]
    if finding["measure"] == "test":
        return better["final_test"] > worse["final_test"]
    if finding["measure"] == "gap":
        return better["gap"] < worse["gap"]
    return better.get("reached") is not None and (worse.get("reached") is None
                                                   or better["reached"] < worse["reached"])


def paired_section():
    """benchmarks/paired.py's runs: two copies of the tutorial timed run by run on one machine."""
    if not os.path.exists(PAIRED_RUNS):
        return []
    with open(PAIRED_RUNS) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    lines = ["", "## Before and after, paired on one machine", "",
             "`python3 benchmarks/paired.py --before DIR`: the same script at its defaults, headless, "
             "from another copy of the repository (DIR, a `git worktree` of an earlier commit) and from "
             "this one, one right after the other on the same machine. Training seconds and final "
             "accuracy are the scripts' own --results figures.", "",
             "| script | seed | machine | before: commit, training s | after: commit, training s "
             "| after / before | final accuracy, after (before) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    letters = {}
    pairs = {}
    for r in runs:
        pairs.setdefault((r["script"], r["seed"], r["machine"]), {})[r["side"]] = r
    ratios = {}
    for (script, seed, where), pair in sorted(pairs.items()):
        if set(pair) != {"before", "after"}:
            continue
        before, after = pair["before"], pair["after"]
        letter = letters.setdefault(where, chr(ord("P") + len(letters)))
        ratio = after["training_s"] / before["training_s"]
        ratios.setdefault(script, []).append(ratio)
        lines.append(f"| {script} | {seed} | {letter} | {before['commit']}, {before['training_s']:.1f} "
                     f"| {after['commit']}, {after['training_s']:.1f} | {ratio:.3f} "
                     f"| {after['final_accuracy']:.4f} ({before['final_accuracy']:.4f}) |")
    lines += ["", "Median after / before: " + "; ".join(
        f"{script} {statistics.median(r):.3f} ({'met' if statistics.median(r) <= PAIRED_TARGET else '**missed**'})"
        for script, r in sorted(ratios.items())) + f" (target: at most {PAIRED_TARGET}, the after figure within "
        f"{PAIRED_TARGET - 1:.0%} of the before). Machines: "
        + "; ".join(f"{letter} = {where}" for where, letter in letters.items()) + ". Commands: "
        + "; ".join(sorted({f"`{r['command']}`" for r in runs if r["side"] == "after"})) + "."]
    return lines


def cores(run):
    """How many cores a run kept busy: its process's cpu seconds over its wall seconds."""
    return f"{run['cpu_s'] / run['wall_s']:.2f}" if run.get("cpu_s") else "-"


def twins_section():
    """benchmarks/twins.py's pairs: a twin in today's TensorFlow against its graph twin."""
    if not os.path.exists(TWIN_RUNS):
        return []
    with open(TWIN_RUNS) as f:
        pairs = [json.loads(line) for line in f if line.strip()]
    letters = {}
    lines = ["", "## The twins against their graph twins, paired on one machine", "",
             "`python3 benchmarks/twins.py`: the graph script and its twin in today's TensorFlow at their "
             "defaults, same seed, one right after the other on the same machine: headless, in a live "
             "TkAgg window on Xvfb, or with `%run` in a Jupyter kernel drawing into the cell. Training "
             "seconds and accuracy are the scripts' own --results figures (with the picture on, they "
             "include the drawing); peak memory is the process's (the kernel's) maximum resident set. "
             "A setting in the second column was given to the twin alone.", "",
             "| twin | setting | mode | seed | machine | training s, graph -> twin | time ratio "
             "| peak MB, graph -> twin | memory ratio | final accuracy, twin (graph) | cpu s / wall s, graph -> twin |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    groups = {}
    for r in sorted(pairs, key=lambda r: (r["twin"], r["twin_flags"], MODE_ORDER.get(r["mode"], 9), r["seed"])):
        letter = letters.setdefault(r["machine"], chr(ord("T") + len(letters)))
        graph, twin = r["graph_run"], r["twin_run"]
        time_ratio, memory_ratio = twin["training_s"] / graph["training_s"], twin["peak_mb"] / graph["peak_mb"]
        setting = " ".join(r.get("flags", []) + r["twin_flags"]) or "defaults"
        groups.setdefault((r["twin"], setting, r["mode"]), []).append((time_ratio, memory_ratio))
        lines.append(f"| {r['twin']} | {setting} | {r['mode']} | {r['seed']} | {letter} "
                     f"| {graph['training_s']:.1f} -> {twin['training_s']:.1f} | {time_ratio:.3f} "
                     f"| {graph['peak_mb']:.0f} -> {twin['peak_mb']:.0f} | {memory_ratio:.2f} "
                     f"| {twin['final_accuracy']:.4f} ({graph['final_accuracy']:.4f}) | {cores(graph)} -> {cores(twin)} |")
    lines += ["", f"Medians (targets: time at most {TWIN_TIME_TARGET}x, peak memory at most "
                  f"{TWIN_MEMORY_TARGET}x the graph twin's):", ""]
    for (twin, setting, mode), ratios in groups.items():
        time_ratio = statistics.median(t for t, _ in ratios)
        memory_ratio = statistics.median(m for _, m in ratios)
        lines.append(f"- {twin}, {setting}, {mode} ({len(ratios)} pair{'s' if len(ratios) > 1 else ''}): time "
                     f"{time_ratio:.3f}x ({'met' if time_ratio <= TWIN_TIME_TARGET else '**missed**'}), memory "
                     f"{memory_ratio:.2f}x ({'met' if memory_ratio <= TWIN_MEMORY_TARGET else '**missed**'})")
    lines += ["", "Machines: " + "; ".join(f"{letter} = {where}" for where, letter in letters.items())
              + ". Commands: " + "; ".join(sorted({f"`{r['twin_run']['command']}`" for r in pairs})) + "."]
    return lines



def how_made(runs):
    """The notes kept with some runs (the commit they ran at, what shared the machine), once each."""
    notes = {}
    for r in runs:
        if r.get("note"):
            notes.setdefault(r["note"], []).append(r)
    if not notes:
        return []
    lines = ["", "## How some of the runs were made", ""]
    for note, mine in notes.items():
        which = sorted({(r["script"], " ".join(r["extra"])) for r in mine})
        seeds = sorted({r["seed"] for r in mine})
        names = "; ".join(f"{script}{f' ({extra})' if extra else ''}" for script, extra in which)
        lines.append(f"- {names}, seeds {', '.join(map(str, seeds))}: {note}.")
    return lines


def command_row(r):
    """A row of the table of runs: the command and its figures (how_made has the notes)."""
    return (f"| `{r['command']}` | {r['final_accuracy']:.4f} | {r['best_accuracy']:.4f} ({r['best_step']}) "
            f"| {r['training_s']:.1f} | {r['startup_s']:.1f} | {r['peak_mb']:.0f} |")


def fresh_section(by_script, fresh, letters, verdicts):
    """The last step on seeds never used while choosing its recipe, beside the seeds that were."""
    lines = []
    for version, seeds in FRESH_SEEDS.items():
        script = lessons.named(version)
        if script is None:
            continue
        accuracy_target = TARGETS[version][0]
        mine = fresh.get(script, [])
        done = sorted(r["seed"] for r in mine)
        lines += ["", f"## {version} on fresh seeds", "",
                  f"The 5.x steps were chosen on validation images, but the search went on until the "
                  f"test-set median of seeds 0-2 crossed {accuracy_target}, so those seeds flatter "
                  f"{script}. Seeds {', '.join(map(str, seeds))} had never been run on the test set; "
                  f"its target (median >= {accuracy_target}) is judged on them.", "",
                  "| seeds | machine | final test accuracy, median (worst) | test errors, median | "
                  "best test accuracy, median | training s, median | peak MB, max | target |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label, group in (("used while choosing", by_script.get(script, [])), ("fresh", mine)):
            if not group:
                continue
            final = [r["final_accuracy"] for r in group]
            median = statistics.median(final)
            target = "-"
            if label == "fresh":
                letters.setdefault(group[0]["machine"], "ABCDEFGHIJ"[len(letters)])
                if set(done) >= set(seeds):
                    verdicts.append(median >= accuracy_target)
                    target = f">= {accuracy_target:.3f} {'met' if median >= accuracy_target else '**missed**'}"
                else:
                    target = f"{len(done)} of {len(seeds)} seeds measured"
            lines.append(
                f"| {', '.join(str(r['seed']) for r in sorted(group, key=lambda r: r['seed']))} ({label}) "
                f"| {letters[group[0]['machine']]} | {median:.4f} ({min(final):.4f}) | {round((1 - median) * 10000)} "
                f"| {statistics.median(r['best_accuracy'] for r in group):.4f} "
                f"| {statistics.median(r['training_s'] for r in group):.1f} | {max(r['peak_mb'] for r in group):.0f} "
                f"| {target} |")
    return lines


def notebook_section(runs, letters, verdicts):
    """2.1 in a Jupyter kernel, drawn live into the cell, against the same seed headless there."""
    mine = [r for r in runs if r["script"] == LIVE_SCRIPT and r["extra"][:1] == ["notebook"]]
    headless = {(r["machine"], r["seed"]): r for r in mine if r["extra"] == ["notebook", "headless"]}
    pairs = [(r, headless[r["machine"], r["seed"]]) for r in mine
             if r["extra"] == ["notebook"] and (r["machine"], r["seed"]) in headless]
    if not pairs:
        return []
    for r, _ in pairs:
        letters.setdefault(r["machine"], "ABCDEFGHIJ"[len(letters)])
    ratios = [r["wall_s"] / h["wall_s"] for r, h in pairs]
    ratio = statistics.median(ratios)
    verdicts.append(ratio <= LIVE_RATIO_TARGET)
    lines = ["", "## In a notebook", "",
             f"{LIVE_SCRIPT} at its defaults run with `%run` in a Jupyter kernel (ipykernel, driven "
             f"through jupyter_client as a notebook front-end drives it), live (the six panels drawn into "
             f"the cell, one picture updated in place) against `--headless` in the same kind of kernel, "
             f"same seed, same machine ({', '.join(sorted({letters[r['machine']] for r, _ in pairs}))}); "
             f"wall time of the cell, from the request to the kernel's answer.", "",
             "| seed | headless cell s | live cell s | ratio | drawing s (share of training) | pictures sent "
             "| final accuracy, live (headless) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for (r, h), q in sorted(zip(pairs, ratios), key=lambda x: x[0][0]["seed"]):
        lines.append(f"| {r['seed']} | {h['wall_s']:.1f} | {r['wall_s']:.1f} | {q:.2f} | {drawing(r)} | {r['frames']} | "
                     f"{r['final_accuracy']:.4f} ({h['final_accuracy']:.4f}) |")
    lines += ["", f"Median ratio {ratio:.2f} (target <= {LIVE_RATIO_TARGET}: "
                  f"{'met' if ratio <= LIVE_RATIO_TARGET else '**missed**'}). Made by "
                  f"`python3 benchmarks/run.py --scripts 2.1 --notebook-only`; cells: "
                  + "; ".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r, _ in pairs))
                  + " and the same with `--headless`."]
    return lines


def drawing(r):
    """The seconds a live run's loop spent drawing, and their share of its training time."""
    if r.get("drawing_s") is None:
        return "-"  # runs recorded before the scripts measured it
    return f"{r['drawing_s']:.1f} ({r['drawing_s'] / r['training_s']:.0%})"


def measure_once(runs, script, seed, extra, tf_version, note, measure):
    """Run one measurement unless runs.jsonl holds it for this machine already; keep it at once
    (runs.jsonl and RESULTS.md), so that a benchmark stopped half-way loses nothing."""
    done = [r for r in runs if r["script"] == script and r["seed"] == seed and r["extra"] == extra
            and r["machine"] == machine()]
    what = f"{script} seed {seed}" + (f", {' '.join(extra)}" if extra else "")
    if done:
        print(f"{what}: already measured ({done[-1]['final_accuracy']:.4f})", flush=True)
        return None
    print(f"{what}: training...", flush=True)
    try:
        record = measure()
    except RuntimeError as e:
        sys.exit(f"benchmark: error: {e}")
    if note:
        record["note"] = note
    runs.append(record)
    with open(RUNS, "a") as f:
        f.write(json.dumps(record) + "\n")
    write_results(runs, tf_version)
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scripts", nargs="+", default=list(lessons.SCRIPTS), metavar="NAME",
                        help="scripts, by file name or version prefix such as 3.1 (default: all of them)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="N")
    parser.add_argument("--fresh", action="store_true", help="run again what runs.jsonl already holds")
    parser.add_argument("--no-live", action="store_true",
                        help=f"skip the live-window runs of {LIVE_SCRIPT} (they need Xvfb)")
    parser.add_argument("--notebook-only", action="store_true",
                        help=f"measure only {LIVE_SCRIPT} in a Jupyter kernel, live and headless "
                             "(needs ipykernel and jupyter_client)")
    parser.add_argument("--note", default="", metavar="TEXT",
                        help="how these runs were made, shown beside their commands in RESULTS.md "
                             "(say so when something else shared the machine)")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite RESULTS.md from the runs runs.jsonl holds; train nothing")
    args = parser.parse_args()

    scripts = []
    for name in args.scripts:
        if not lessons.named(name):
            parser.error(f"no script called {name}")
        scripts.append(lessons.named(name))

    runs = load_runs()
    if args.report:
        write_results(runs, tensorflow_version())
        print(f"results in {RESULTS}")
        return
    if args.fresh:
        runs = [r for r in runs if not (r["script"] in scripts and r["seed"] in args.seeds
                                        and (not args.notebook_only or r["extra"][:1] == ["notebook"]))]
        with open(RUNS, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in runs)
    tf_version = tensorflow_version()
    if args.notebook_only:
        for seed in args.seeds:
            for headless in (True, False):
                extra = ["notebook"] + (["headless"] if headless else [])
                record = measure_once(runs, LIVE_SCRIPT, seed, extra, tf_version, args.note,
                                      lambda: run_in_notebook(LIVE_SCRIPT, seed, headless))
                if record:
                    print(f"  {record['wall_s']:.1f} s wall, {record['frames']} pictures", flush=True)
        scripts = []
    for script in scripts:
        for seed in args.seeds:
            record = measure_once(runs, script, seed, [], tf_version, args.note, lambda: run_once(script, seed, []))
            if record:
                print(f"  final {record['final_accuracy']:.4f}, best {record['best_accuracy']:.4f}, "
                      f"{record['training_s']:.1f} s training, {record['peak_mb']:.0f} MB", flush=True)
    if LIVE_SCRIPT in scripts and not args.no_live:
        server, display = start_x_server()
        if server is None:
            print("Xvfb is not installed: the live window's cost is not measured", flush=True)
        try:
            for seed in args.seeds if server else []:
                record = measure_once(runs, LIVE_SCRIPT, seed, ["live"], tf_version, args.note,
                                      lambda: run_live(LIVE_SCRIPT, seed, display))
                if record:
                    print(f"  {record['wall_s']:.1f} s wall", flush=True)
        finally:
            if server:
                server.terminate()
    write_results(runs, tf_version)
    print(f"results in {RESULTS}")


if __name__ == "__main__":
    main()
