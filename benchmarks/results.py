"""benchmarks/RESULTS.md, written from the runs the benchmarks keep (never typed in).

write_results() writes the lessons' tables from runs.jsonl (benchmarks/run.py), then each other
benchmark's section, from that benchmark's own file of runs: paired.py, twins.py, experiments.py,
live_panels.py. It writes under a temporary name and renames, so RESULTS.md is never half written.
"""
import json
import math
import os
import statistics
import sys
import tempfile

from mnist_tutorial import lessons  # the numbered scripts and twins: the one list

from harness import HERE

RUNS = os.path.join(HERE, "runs.jsonl")
RESULTS = os.path.join(HERE, "RESULTS.md")

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


def benchmark(name):
    """The benchmark NAME.py of this folder (the others import this module: their sections), by
    its path: `import experiments` could give the tutorial's experiments.py, which a notebook or a
    test run may have imported first."""
    import importlib.util
    module = sys.modules.get(f"benchmarks.{name}")
    if module is None:
        folder = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location(f"benchmarks.{name}", os.path.join(folder, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[spec.name]
            raise
    return module


def load_runs(path=RUNS):
    """The records a benchmark keeps in path, one JSON object a line; none when it has none yet."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
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
    paired_lines = [line for name in ("paired", "twins", "experiments", "live_panels")
                    for line in benchmark(name).section()]
    text = "\n".join(lines + fresh_lines + breakdown + paired_lines + live_lines + notebook_lines + commands
                     + how_made(runs)) + "\n"
    fd, temporary = tempfile.mkstemp(dir=HERE, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(temporary, RESULTS)


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
