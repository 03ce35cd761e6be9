"""Time a twin in today's TensorFlow against its graph twin, run by run on one machine.

    python3 benchmarks/twins.py --twins keras_2.2 tf2_2.2 keras_3.1 --seeds 0 1 --modes headless window notebook
    python3 benchmarks/twins.py --twins keras_2.2 --seeds 0 --twin-flags=--steps-per-execution=1

For each twin, seed and mode, the graph script (mnist_X.Y) and the twin train at their defaults
with the same seed, one right after the other (which goes first alternates with the seed), so that
both see the machine in the same state: headless; in a live TkAgg window on Xvfb; or with %run in
a Jupyter kernel, the six panels drawn into the cell. Training seconds and accuracy are the
scripts' own --results figures; peak memory is the process's (the kernel's, in a notebook)
maximum resident set. --twin-flags tries a setting on the twin alone. Every pair is appended to
benchmarks/twin_runs.jsonl at once, and RESULTS.md is written again with them (benchmarks/run.py).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "twin_runs.jsonl")

sys.path.insert(0, HERE)
import run  # noqa: E402  the runs themselves, the machine's description, RESULTS.md

MODES = ("headless", "window", "notebook")


def measure(script, seed, mode, flags, display):
    """One run of script in mode: its training seconds, wall seconds, peak MB, accuracy, command."""
    if mode == "headless":
        record = run.run_once(script, seed, flags)
    elif mode == "window":
        record = run.run_live(script, seed, display, flags)
    else:
        record = run.run_in_notebook(script, seed, False, flags)
    return {key: record.get(key) for key in ("training_s", "wall_s", "startup_s", "cpu_s", "peak_mb",
                                             "final_accuracy", "drawing_s", "command")}


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
        twin = run.lessons.named(name)
        if not twin or not run.lessons.twin_kind(twin):
            parser.error(f"no twin called {name}")
        twins.append(twin)
    twin_flags, both = args.twin_flags.split(), args.flags.split()

    server = display = None
    if "window" in args.modes:
        server, display = run.start_x_server()
        if server is None:
            parser.error("the window mode needs Xvfb (apt-get install xvfb)")
    tf_version = run.tensorflow_version()
    try:
        for twin in twins:
            graph = run.lessons.graph_twin(twin)
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
                              "machine": run.machine(), "tensorflow": tf_version,
                              "graph_run": measured[graph], "twin_run": measured[twin]}
                    if args.note:
                        record["note"] = args.note
                    with open(RUNS, "a") as f:
                        f.write(json.dumps(record) + "\n")
                    mine, theirs = measured[twin], measured[graph]
                    print(f"  training {theirs['training_s']:.1f} s -> {mine['training_s']:.1f} s "
                          f"({mine['training_s'] / theirs['training_s']:.2f}x), peak {theirs['peak_mb']:.0f} MB -> "
                          f"{mine['peak_mb']:.0f} MB ({mine['peak_mb'] / theirs['peak_mb']:.2f}x)", flush=True)
                    run.write_results(run.load_runs(), tf_version)
    finally:
        if server:
            server.terminate()
    print(f"results in {run.RESULTS}")


if __name__ == "__main__":
    main()
