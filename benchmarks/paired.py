"""Time two copies of the tutorial against each other, run by run on one machine.

    git worktree add /tmp/before COMMIT
    python3 benchmarks/paired.py --before /tmp/before --scripts 2.1 3.1 --seeds 0 1 2

For each seed and script, the script in the other tree and the same script here train headless at
their defaults, one after the other (which goes first alternates with the seed), so that both see
the machine in the same state. Each run's training seconds and final accuracy come from the
script's own --results file. Every run is appended to benchmarks/paired_runs.jsonl at once, and
RESULTS.md is written again (benchmarks/run.py --report) with the pairs in a section of their own.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNS = os.path.join(HERE, "paired_runs.jsonl")

sys.path.insert(0, HERE)
import run  # noqa: E402  the machine's description, the script list, RESULTS.md


def commit(tree):
    """The tree's commit, with "+" when its tracked files differ from it."""
    head = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", tree, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + ("+" if dirty else "")


def train(tree, script, seed):
    """One headless run at the script's defaults; its --results figures and the command."""
    path = os.path.join(tree, "tensorflow-mnist-tutorial", script)
    with tempfile.TemporaryDirectory() as folder:
        results = os.path.join(folder, "results.json")
        command = [sys.executable, path, "--headless", "--seed", str(seed), "--results", results]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"paired.py: {script} in {tree} failed: {done.stderr.strip().splitlines()[-1:]}")
        with open(results) as f:
            figures = json.load(f)
    shown = os.path.relpath(path, ROOT) if tree == ROOT else path
    return {"training_s": figures["training_s"], "final_accuracy": figures["final_accuracy"],
            "wall_s": wall, "command": f"python3 {shown} --headless --seed {seed}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, metavar="DIR", help="the other copy of the repository")
    parser.add_argument("--scripts", nargs="+", default=["2.1", "3.1"], metavar="NAME")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="N")
    args = parser.parse_args()
    scripts = [run.lessons.named(name) for name in args.scripts]
    if None in scripts:
        parser.error(f"--scripts: no script called {args.scripts[scripts.index(None)]}")
    if not os.path.isdir(os.path.join(args.before, "tensorflow-mnist-tutorial")):
        parser.error(f"--before {args.before}: not a copy of this repository")
    trees = {"before": (os.path.abspath(args.before), commit(args.before)), "after": (ROOT, commit(ROOT))}
    for seed in args.seeds:
        for script in scripts:
            order = ["before", "after"] if seed % 2 == 0 else ["after", "before"]
            for side in order:
                tree, version = trees[side]
                record = {"script": script, "seed": seed, "side": side, "commit": version,
                          "machine": run.machine(), "tensorflow": run.tensorflow_version(),
                          "time": time.strftime("%Y-%m-%d %H:%M"), **train(tree, script, seed)}
                with open(RUNS, "a") as f:
                    f.write(json.dumps(record) + "\n")
                print(f"{script} seed {seed} {side} ({version}): {record['training_s']} s, "
                      f"final {record['final_accuracy']}", flush=True)
    subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--report"], check=True)


if __name__ == "__main__":
    main()
