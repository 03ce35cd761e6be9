"""Interrupt a script training in a Jupyter kernel many times, as a learner presses the ■ button.

    python3 benchmarks/interrupts.py                      # 100 tries, one kernel
    python3 benchmarks/interrupts.py --tries 300 --busy-loop

Each try runs `%run mnist_2.1_five_layers_relu_lrdecay.py --iterations 100000` in the same real
kernel (ipykernel, through tests/kernel.py) and interrupts it after 1 to 3 pictures or 0.5 to 6
seconds, drawn at random. A try stops cleanly when the cell ends with the one line "interrupted at
step N"; it is "lost" when training goes on 20 s after the interrupt (then it is interrupted
again), "frozen" when the kernel sends nothing for 90 s (the benchmark stops there). --busy-loop
keeps one core busy beside the kernel, the load under which the faults showed. Appends one record
to benchmarks/interrupt_runs.jsonl.
"""
import argparse
import datetime
import json
import os
import queue
import random
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNS = os.path.join(HERE, "interrupt_runs.jsonl")
SCRIPT = "tensorflow-mnist-tutorial/mnist_2.1_five_layers_relu_lrdecay.py"
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from harness import machine, tensorflow_version  # noqa: E402
try:
    from kernel import Kernel  # noqa: E402
except ImportError as e:
    sys.exit(f"interrupts.py: error: {e}: it needs ipykernel and jupyter_client "
             f"(python3 -m pip install -r requirements-notebook.txt)")

STOPPED = re.compile(r"mnist_2\.1_five_layers_relu_lrdecay\.py: interrupted at step \d+")


def one_try(kernel, rng):
    """'clean', 'lost' or 'frozen'."""
    by_pictures = rng.random() < 0.5
    pictures, delay = rng.choice([1, 2, 2, 3]), rng.uniform(0.5, 6)
    state = {"started": time.time()}

    def watch(message, cell):
        if "sent" not in state and (len(cell.pictures()) >= pictures if by_pictures
                                    else time.time() - state["started"] > delay):
            state["sent"] = time.time()
            kernel.interrupt()
        elif "sent" in state and "lost" not in state and time.time() - state["sent"] > 20:
            state["lost"] = True
            kernel.interrupt()

    try:
        cell = kernel.run(f"%run {SCRIPT} --iterations 100000", timeout=90, watch=watch)
    except queue.Empty:
        return "frozen"
    errors = cell.errors()
    if "lost" in state or len(errors) != 1 or not STOPPED.fullmatch(errors[0]["traceback"][0]):
        return "lost"
    return "clean"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=100, metavar="N")
    parser.add_argument("--busy-loop", action="store_true", help="keep one core busy beside the kernel")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="draws when to interrupt")
    parser.add_argument("--note", default="", metavar="TEXT", help="kept with the record")
    args = parser.parse_args()
    if args.tries < 1:
        sys.exit(f"interrupts.py: error: --tries {args.tries}: must be at least 1")
    rng = random.Random(args.seed)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy_loop else None
    kernel = Kernel(ROOT, env)
    counts = {"clean": 0, "lost": 0, "frozen": 0}
    try:
        for i in range(args.tries):
            outcome = one_try(kernel, rng)
            counts[outcome] += 1
            print(f"try {i + 1}: {outcome}", flush=True)
            if outcome == "frozen":
                break
    finally:
        kernel.close()
        if busy:
            busy.kill()
    command = shlex.join(["python3", "benchmarks/interrupts.py", *sys.argv[1:]])
    record = {"machine": machine(), "tensorflow": tensorflow_version(), "tries": sum(counts.values()),
              **counts, "busy_loop": args.busy_loop, "seed": args.seed, "command": command,
              "date": datetime.date.today().isoformat(), "note": args.note}
    with open(RUNS, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"{record['tries']} tries: {counts['clean']} stopped cleanly, {counts['lost']} lost, "
          f"{counts['frozen']} frozen")


if __name__ == "__main__":
    main()
