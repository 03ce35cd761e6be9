"""Time a twin in today's TensorFlow against its graph twin, run by run on one machine.

    python3 benchmarks/twins.py --twins keras_2.2 tf2_2.2 keras_3.1 --seeds 0 1 --modes headless window notebook
    python3 benchmarks/twins.py --twins keras_2.2 --seeds 0 --twin-flags=--steps-per-execution=1

For each twin, seed and mode, the graph script (mnist_X.Y) and the twin train at their defaults
with the same seed, one right after the other (which goes first alternates with the seed), so that
both see the machine in the same state: headless; in a live TkAgg window on Xvfb; or with %run in
a Jupyter kernel, the six panels drawn into the cell. Training seconds and accuracy are the
scripts' own --results figures; peak memory is the process's (the kernel's, in a notebook)
maximum resident set. --twin-flags tries a setting on the twin alone. Every pair is appended to
benchmarks/twin_runs.jsonl at once, and RESULTS.md is written again with them (benchmarks/results.py).
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "twin_runs.jsonl")
TIME_TARGET, MEMORY_TARGET, WALL_TARGET = 1.10, 1.20, 1.05  # a twin against its graph twin
ONE_CORE, TWO_CORES = 1.3, 1.5  # cpu s per wall s: a twin run on one core while its neighbour used two

sys.path.insert(0, HERE)
from mnist_tutorial import lessons  # noqa: E402  the numbered scripts and twins

import harness  # noqa: E402  the runs themselves, the machine's description
import results  # noqa: E402  RESULTS.md

MODES = ("headless", "window", "notebook")
MODE_ORDER = {mode: number for number, mode in enumerate(MODES)}  # as RESULTS lists them


def measure(script, seed, mode, flags, display):
    """One run of script in mode: its training seconds, wall seconds, peak MB, accuracy, command."""
    if mode == "headless":
        record = harness.run_once(script, seed, flags)
    elif mode == "window":
        record = harness.run_live(script, seed, display, flags)
    else:
        record = harness.run_in_notebook(script, seed, False, flags)
    return {key: record.get(key) for key in ("training_s", "wall_s", "startup_s", "cpu_s", "peak_mb",
                                             "final_accuracy", "drawing_s", "command")}


def cores(run):
    """How many cores a run kept busy: its process's cpu seconds over its wall seconds."""
    return f"{run['cpu_s'] / run['wall_s']:.2f}" if run.get("cpu_s") else "-"


def section():
    """benchmarks/twins.py's pairs: a twin in today's TensorFlow against its graph twin."""
    pairs = results.load_runs(RUNS)
    if not pairs:
        return []
    letters = {}
    lines = ["", "## The twins against their graph twins, paired on one machine", "",
             "`python3 benchmarks/twins.py`: the graph script and its twin in today's TensorFlow at their "
             "defaults, same seed, one right after the other on the same machine: headless, in a live "
             "TkAgg window on Xvfb, or with `%run` in a Jupyter kernel drawing into the cell. Training "
             "seconds and accuracy are the scripts' own --results figures (with the picture on, they "
             "include the drawing); peak memory is the process's (the kernel's) maximum resident set. "
             "A setting in the second column was given to the twin alone.", "",
             "| twin | setting | mode | seed | machine | training s, graph -> twin | time ratio "
             "| peak MB, graph -> twin | memory ratio | final accuracy, twin (graph) | cpu s / wall s, graph -> twin "
             "| wall s, graph -> twin |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    groups = {}
    for r in sorted(pairs, key=lambda r: (r["twin"], r["twin_flags"], MODE_ORDER.get(r["mode"], 9), r["seed"])):
        letter = letters.setdefault(r["machine"], chr(ord("T") + len(letters)))
        graph, twin = r["graph_run"], r["twin_run"]
        time_ratio, memory_ratio = twin["training_s"] / graph["training_s"], twin["peak_mb"] / graph["peak_mb"]
        setting = " ".join(r.get("flags", []) + r["twin_flags"]) or "defaults"
        one_core = bool(twin.get("cpu_s") and graph.get("cpu_s") and twin["cpu_s"] / twin["wall_s"] < ONE_CORE
                        and graph["cpu_s"] / graph["wall_s"] > TWO_CORES)
        groups.setdefault((r["twin"], setting, r["mode"], r.get("note", "")), []).append(
            (time_ratio, memory_ratio, twin["wall_s"] / graph["wall_s"], one_core))
        lines.append(f"| {r['twin']} | {setting} | {r['mode']} | {r['seed']} | {letter} "
                     f"| {graph['training_s']:.1f} -> {twin['training_s']:.1f} | {time_ratio:.3f} "
                     f"| {graph['peak_mb']:.0f} -> {twin['peak_mb']:.0f} | {memory_ratio:.2f} "
                     f"| {twin['final_accuracy']:.4f} ({graph['final_accuracy']:.4f}) | {cores(graph)} -> {cores(twin)} "
                     f"| {graph['wall_s']:.1f} -> {twin['wall_s']:.1f} |")
    lines += ["", f"Medians (targets: training time at most {TIME_TARGET}x, peak memory at most "
                  f"{MEMORY_TARGET}x the graph twin's; with the cpu times measured, wall time at most "
                  f"{WALL_TARGET}x and no twin run on one core, below {ONE_CORE} cpu s a wall s, while its "
                  f"graph neighbour keeps above {TWO_CORES}):", ""]
    for (twin, setting, mode, note), ratios in groups.items():
        time_ratio = statistics.median(t for t, _, _, _ in ratios)
        memory_ratio = statistics.median(m for _, m, _, _ in ratios)
        wall_ratio = statistics.median(w for _, _, w, _ in ratios)
        one_core = sum(1 for *_, alone in ratios if alone)
        timed = all(r.get("twin_run", {}).get("cpu_s") for r in pairs if (r["twin"], r.get("note", "")) == (twin, note))
        walls = (f", wall {wall_ratio:.3f}x ({'met' if wall_ratio <= WALL_TARGET else '**missed**'}), "
                 f"{one_core} run{'s' if one_core != 1 else ''} on one core "
                 f"({'met' if not one_core else '**missed**'})") if timed else ""
        lines.append(f"- {twin}, {setting}, {mode}{f' ({note})' if note else ''}, {len(ratios)} "
                     f"pair{'s' if len(ratios) > 1 else ''}: time "
                     f"{time_ratio:.3f}x ({'met' if time_ratio <= TIME_TARGET else '**missed**'}), memory "
                     f"{memory_ratio:.2f}x ({'met' if memory_ratio <= MEMORY_TARGET else '**missed**'}){walls}")
    lines += ["", "Machines: " + "; ".join(f"{letter} = {where}" for where, letter in letters.items())
              + ". Commands: " + "; ".join(sorted({f"`{r['twin_run']['command']}`" for r in pairs})) + "."]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twins", nargs="+", default=["keras_2.2", "tf2_2.2", "keras_3.1"], metavar="NAME",
                        help="twins, as keras_2.2 or by file name (default: %(default)s)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="N")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--twin-flags", default="", metavar="FLAGS",
                        help="flags for the twin alone, e.g. --twin-flags=--steps-per-execution=1")
    parser.add_argument("--flags", default="", metavar="FLAGS",
                        help="flags for both scripts, e.g. --flags=--iterations=2000")
    parser.add_argument("--note", default="", metavar="TEXT", help="how these runs were made, kept with them")
    args = parser.parse_args()
    twins = []
    for name in args.twins:
        twin = lessons.named(name)
        if not twin or not lessons.twin_kind(twin):
            parser.error(f"no twin called {name}")
        twins.append(twin)
    twin_flags, both = args.twin_flags.split(), args.flags.split()

    server = display = None
    if "window" in args.modes:
        server, display = harness.start_x_server()
        if server is None:
            parser.error("the window mode needs Xvfb (apt-get install xvfb)")
    tf_version = harness.tensorflow_version()
    try:
        for twin in twins:
            graph = lessons.graph_twin(twin)
            for seed in args.seeds:
                for mode in args.modes:
                    print(f"{twin} against {graph}, seed {seed}, {mode}...", flush=True)
                    order = [(graph, both), (twin, both + twin_flags)]
                    if seed % 2:
                        order.reverse()
                    try:
                        measured = {script: measure(script, seed, mode, flags, display) for script, flags in order}
                    except RuntimeError as e:
                        sys.exit(f"twins: error: {e}")
                    record = {"twin": twin, "graph": graph, "seed": seed, "mode": mode, "twin_flags": twin_flags,
                              "flags": both,
                              "machine": harness.machine(), "tensorflow": tf_version, "commit": harness.commit(),
                              "graph_run": measured[graph], "twin_run": measured[twin]}
                    if args.note:
                        record["note"] = args.note
                    with open(RUNS, "a") as f:
                        f.write(json.dumps(record) + "\n")
                    mine, theirs = measured[twin], measured[graph]
                    print(f"  training {theirs['training_s']:.1f} s -> {mine['training_s']:.1f} s "
                          f"({mine['training_s'] / theirs['training_s']:.2f}x), peak {theirs['peak_mb']:.0f} MB -> "
                          f"{mine['peak_mb']:.0f} MB ({mine['peak_mb'] / theirs['peak_mb']:.2f}x)", flush=True)
                    results.write_results(results.load_runs(), tf_version)
    finally:
        if server:
            server.terminate()
    print(f"results in {results.RESULTS}")


if __name__ == "__main__":
    main()
