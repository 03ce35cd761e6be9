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
import sys

from mnist_tutorial import lessons

from harness import machine, run_in_notebook, run_live, run_once, start_x_server, tensorflow_version
from results import LIVE_SCRIPT, RESULTS, RUNS, load_runs, write_results


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
