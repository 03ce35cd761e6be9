"""How much each variant of mlengine/Dockerfile's image adds to its base, measured by installing it.

    python3 benchmarks/image_sizes.py        # both variants; a few GB of downloads

No Docker daemon here: the Dockerfile's first `RUN pip install` (TensorFlow and the tuning
reporter) is replayed into a fresh virtual environment, once with the default
TENSORFLOW=tensorflow[and-cuda] (the training image) and once with --build-arg
TENSORFLOW=tensorflow (the serving image), and the packages it installed are measured on disk.
The python:3.11-slim base and the trainer package itself (under a megabyte) come on top. Each
measurement is appended to benchmarks/image_sizes.jsonl.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
DOCKERFILE = os.path.join(os.path.dirname(HERE), "mlengine", "Dockerfile")
RUNS = os.path.join(HERE, "image_sizes.jsonl")


def install_step():
    """The Dockerfile's first RUN pip install, and its ARG TENSORFLOW default."""
    text = open(DOCKERFILE).read().replace("\\\n", " ")
    default = re.search(r"^ARG TENSORFLOW=(\S+)", text, re.M)[1]
    command = next(line.split(None, 1)[1] for line in text.splitlines() if line.startswith("RUN pip install"))
    return command, default


def size_on_disk(folder):
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def measure(tensorflow):
    command, _ = install_step()
    command = command.replace("${TENSORFLOW}", tensorflow)
    with tempfile.TemporaryDirectory() as folder:
        venv.create(folder, with_pip=True)
        python = os.path.join(folder, "bin", "python")
        before = size_on_disk(folder)
        done = subprocess.run(f"{python} -m {command}", shell=True, capture_output=True, text=True,
                              env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
        if done.returncode != 0:
            sys.exit(f"image_sizes.py: {command} failed: {done.stderr.strip().splitlines()[-1:]}")
        added = size_on_disk(folder) - before
        nvidia = size_on_disk(os.path.join(folder, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                                           "site-packages", "nvidia"))
    return {"tensorflow": tensorflow, "command": f"pip {command.split(None, 1)[1]}", "added_mb": round(added / 1e6),
            "nvidia_mb": round(nvidia / 1e6), "python": platform.python_version(), "machine": platform.machine(),
            "time": time.strftime("%Y-%m-%d %H:%M")}


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    _, default = install_step()
    for tensorflow in (default, "tensorflow"):
        record = measure(tensorflow)
        with open(RUNS, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"TENSORFLOW={tensorflow}: {record['added_mb']:,} MB installed "
              f"({record['nvidia_mb']:,} MB of it NVIDIA's libraries)", flush=True)


if __name__ == "__main__":
    main()
