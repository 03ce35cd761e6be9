"""Time two copies of the tutorial against each other, run by run on one machine.

    git worktree add /tmp/before COMMIT
    python3 benchmarks/paired.py --before /tmp/before --scripts 2.1 3.1 --seeds 0 1 2

For each seed and script, the script in the other tree and the same script here train headless at
their defaults, one after the other (which goes first alternates with the seed), so that both see
the machine in the same state. Each run's training seconds and final accuracy come from the
script's own --results file. Every run is appended to benchmarks/paired_runs.jsonl at once, and
RESULTS.md is written again (benchmarks/results.py) with the pairs in a section of their own.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNS = os.path.join(HERE, "paired_runs.jsonl")
TARGET = 1.10  # a change may cost a script at most 10% of its training time

sys.path.insert(0, HERE)
from mnist_tutorial import lessons  # noqa: E402  the numbered scripts and twins

import harness  # noqa: E402  the machine's description, the script list
import results  # noqa: E402  RESULTS.md


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
        figures_file = os.path.join(folder, "results.json")
        command = [sys.executable, path, "--headless", "--seed", str(seed), "--results", figures_file]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"paired.py: {script} in {tree} failed: {done.stderr.strip().splitlines()[-1:]}")
        with open(figures_file) as f:
            figures = json.load(f)
    shown = os.path.relpath(path, ROOT) if tree == ROOT else path
    return {"training_s": figures["training_s"], "final_accuracy": figures["final_accuracy"],
            "wall_s": wall, "command": f"python3 {shown} --headless --seed {seed}"}



def section():
    """benchmarks/paired.py's runs: two copies of the tutorial timed run by run on one machine."""
    runs = results.load_runs(RUNS)
    if not runs:
        return []
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
        f"{script} {statistics.median(r):.3f} ({'met' if statistics.median(r) <= TARGET else '**missed**'})"
        for script, r in sorted(ratios.items())) + f" (target: at most {TARGET}, the after figure within "
        f"{TARGET - 1:.0%} of the before). Machines: "
        + "; ".join(f"{letter} = {where}" for where, letter in letters.items()) + ". Commands: "
        + "; ".join(sorted({f"`{r['command']}`" for r in runs if r["side"] == "after"})) + "."]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, metavar="DIR", help="the other copy of the repository")
    parser.add_argument("--scripts", nargs="+", default=["2.1", "3.1"], metavar="NAME")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="N")
    args = parser.parse_args()
    scripts = [lessons.named(name) for name in args.scripts]
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
                          "machine": harness.machine(), "tensorflow": harness.tensorflow_version(),
                          "time": time.strftime("%Y-%m-%d %H:%M"), **train(tree, script, seed)}
                with open(RUNS, "a") as f:
                    f.write(json.dumps(record) + "\n")
                print(f"{script} seed {seed} {side} ({version}): {record['training_s']} s, "
                      f"final {record['final_accuracy']}", flush=True)
    results.write_results(results.load_runs(), harness.tensorflow_version())
    print(f"results in {results.RESULTS}")


if __name__ == "__main__":
    main()
