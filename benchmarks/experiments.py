"""The lab bench against the primers: every experiment at its default settings, several seeds.

    python3 benchmarks/experiments.py                           # all eleven, seeds 0 1 2
    python3 benchmarks/experiments.py --experiments depth width --seeds 0

Each run is `experiments.py EXPERIMENT --headless --seed N --results FILE` at the defaults; its
--results (every variant's final, best and training accuracy, seconds, and the sentence) is
appended to benchmarks/experiment_runs.jsonl at once, with the machine and the command, and
RESULTS.md is written again (benchmarks/run.py): per experiment, the primer's figure beside the
median of this project's seeds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  the machine's description, RESULTS.md

SCRIPT = os.path.join(run.TUTORIAL, "experiments.py")
NAMES = ("depth", "width", "input-scaling", "inverted", "batch-size", "learning-rate", "optimizer",
         "overfitting", "l2", "dropout", "batch-norm")


def measure(name, seed):
    """One run of one experiment: its --results, the wall seconds and the command."""
    with tempfile.TemporaryDirectory() as folder:
        results = os.path.join(folder, "results.json")
        command = ["python3", "experiments.py", name, "--headless", "--seed", str(seed)]
        started = time.perf_counter()
        done = subprocess.run([sys.executable, SCRIPT, *command[2:], "--results", results], cwd=run.TUTORIAL,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        with open(results) as f:
            record = json.load(f)
    for variant in record["variants"]:
        variant.pop("curve")  # the curves stay with the run's own --results
    return dict(record, wall_s=wall, command=" ".join(command))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", nargs="+", choices=NAMES, default=list(NAMES), metavar="NAME")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="N")
    parser.add_argument("--note", default="", metavar="TEXT", help="how these runs were made, kept with them")
    args = parser.parse_args()
    tf_version = run.tensorflow_version()
    for seed in args.seeds:
        for name in args.experiments:
            print(f"{name}, seed {seed}...", flush=True)
            try:
                record = measure(name, seed)
            except RuntimeError as e:
                sys.exit(f"experiments: error: {e}")
            record.update(machine=run.machine(), tensorflow=tf_version, commit=run.commit())
            if args.note:
                record["note"] = args.note
            with open(run.EXPERIMENT_RUNS, "a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"  {record['wall_s']:.0f} s: {record['sentence']}", flush=True)
            run.write_results(run.load_runs(), tf_version)
    print(f"results in {run.RESULTS}")


if __name__ == "__main__":
    main()
