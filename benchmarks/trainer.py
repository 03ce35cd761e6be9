"""Time the cloud trainer (mlengine/) for a whole job on this machine, on whatever it trains on.

    python3 benchmarks/trainer.py                  # 10,000 steps, seed 0, as config.yaml's job
    python3 benchmarks/trainer.py --train-steps 2000 --seed 1

It runs `python -m trainer.task` at its defaults (evaluation on the 10,000 test images every 500
steps), appends one record to benchmarks/trainer_runs.jsonl and prints the row that goes in
mlengine/README.md's table: the device the trainer says it trains on, training steps per second
(the median of its per-100-step speeds, which leave out the evaluations), the whole job's wall
time, and the final test accuracy.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MLENGINE = os.path.join(ROOT, "mlengine")
RUNS = os.path.join(HERE, "trainer_runs.jsonl")
sys.path.insert(0, HERE)

from harness import machine, tensorflow_version  # noqa: E402

DEVICE = re.compile(r"^trainer: training on (.+)$", re.MULTILINE)
SPEED = re.compile(r"^step +\d+  training: .* ([\d.]+) steps/s$", re.MULTILINE)
TEST = re.compile(r"^step +(\d+)  test: accuracy ([\d.]+)", re.MULTILINE)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-steps", type=int, default=10000, metavar="N")
    parser.add_argument("--seed", type=int, default=0, metavar="N")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "tensorflow-mnist-tutorial", "data"), metavar="DIR")
    parser.add_argument("--note", default="", metavar="TEXT", help="kept with the record")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as job_dir:
        command = [sys.executable, "-m", "trainer.task", "--data-dir", args.data_dir, "--job-dir", job_dir,
                   "--train-steps", str(args.train_steps), "--seed", str(args.seed)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=MLENGINE, capture_output=True, text=True)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"benchmark: error: the trainer exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    speeds = [float(s) for s in SPEED.findall(done.stdout)]
    tests = [(int(step), float(accuracy)) for step, accuracy in TEST.findall(done.stdout)]
    record = {"device": DEVICE.search(done.stdout)[1], "machine": machine(), "tensorflow": tensorflow_version(),
              "train_steps": args.train_steps, "seed": args.seed, "steps_per_s": statistics.median(speeds),
              "wall_s": wall, "final_accuracy": tests[-1][1], "final_step": tests[-1][0],
              "best_accuracy": max(accuracy for _, accuracy in tests),
              "command": f"python3 benchmarks/trainer.py --train-steps {args.train_steps} --seed {args.seed}",
              "date": time.strftime("%Y-%m-%d")}
    if args.note:
        record["note"] = args.note
    with open(RUNS, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"| {record['device']} | {record['machine']} | {record['steps_per_s']:.2f} | {record['wall_s'] / 60:.1f} min "
          f"| {record['final_accuracy']:.4f} | `{record['command']}` |")


if __name__ == "__main__":
    main()
