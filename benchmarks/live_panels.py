"""What LivePanels costs a Keras fit: the same fit with and without it, run by run on one machine.

    python3 benchmarks/live_panels.py --pairs 5 --modes headless window

The fit is 2.2's network (five dense ReLU layers of 200, 100, 60, 30 and 10, dropout 0.25, Adam)
on the 60,000 MNIST training images as floats, 5 epochs of batches of 100 (3,000 steps), with the
10,000 test images as validation data, tested every epoch (LivePanels' default), verbose=0. Each
pair is the plain fit and the fit with `callbacks=[LivePanels(...)]`, each in a process of its own,
one right after the other (which goes first alternates), so that both see the machine in the same
state: headless (where="text"), or in a live TkAgg window on Xvfb. The time is fit's wall time,
taken around the call in the process. Every pair is appended to benchmarks/live_panel_runs.jsonl,
and RESULTS.md is written again with them (benchmarks/results.py).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNS = os.path.join(HERE, "live_panel_runs.jsonl")
MODES = ("headless", "window")
TARGETS = {"headless": 1.05, "window": 1.15}  # LivePanels' fit against the plain fit
DEFAULT_SHARE = 0.08  # LivePanels' drawing_share

sys.path.insert(0, HERE)
import harness  # noqa: E402  the machine's description
import results  # noqa: E402  RESULTS.md

FIT = """
import json, sys, time
from mnist_tutorial import LivePanels, mnistdata
import keras
data = mnistdata.load()                             # floats in [0, 1], one-hot labels
keras.utils.set_random_seed(0)
layers = [keras.Input((28, 28, 1)), keras.layers.Flatten()]
for width in (200, 100, 60, 30):
    layers += [keras.layers.Dense(width, activation="relu"), keras.layers.Dropout(0.25)]
model = keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])
model.compile(keras.optimizers.Adam(0.003), "categorical_crossentropy")
share = {"drawing_share": float(sys.argv[2])} if len(sys.argv) > 2 else {}
callbacks = [LivePanels(where=sys.argv[1], wait=False, **share)] if sys.argv[1] != "none" else []
started = time.perf_counter()
model.fit(data.train_images, data.train_labels, epochs=5, batch_size=100, verbose=0,
          validation_data=(data.test_images, data.test_labels), callbacks=callbacks)
print(json.dumps({"fit_s": time.perf_counter() - started}))
"""


def fit_seconds(where, display, share=None):
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "MPLBACKEND")}
    if display:
        env.update(DISPLAY=display, MPLBACKEND="TkAgg")
    done = subprocess.run([sys.executable, "-c", FIT, where, *([str(share)] if share else [])],
                          capture_output=True, text=True, env=env,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"the fit with where={where} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["fit_s"]


def section():
    """RESULTS.md's lines for the pairs in RUNS."""
    pairs = results.load_runs(RUNS)
    if not pairs:
        return []
    lines = ["", "## LivePanels against a plain fit, paired on one machine", "",
             "`python3 benchmarks/live_panels.py`: 2.2's network fitted for 5 epochs of batches of 100 on "
             "the 60,000 training images, the 10,000 test images as validation data, tested every epoch; "
             "the same fit without and with `callbacks=[LivePanels(...)]`, each in its own process, one "
             "right after the other. Seconds are fit's wall time.", "",
             "| mode | drawing share | pair | machine | plain fit s | with LivePanels s | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    letters, ratios = {}, {}
    for number, r in enumerate(pairs, 1):
        letter = letters.setdefault(r["machine"], chr(ord("L") + len(letters)))
        ratio = r["panels_s"] / r["plain_s"]
        share = r.get("drawing_share")
        ratios.setdefault((r["mode"], share), []).append(ratio)
        lines.append(f"| {r['mode']} | {share or '-'} | {number} | {letter} | {r['plain_s']:.1f} | {r['panels_s']:.1f} "
                     f"| {ratio:.3f} |")
    lines += [""]
    for (mode, share), mine in ratios.items():
        median = statistics.median(mine)
        lines.append(f"- {mode}{f', drawing share {share}' if share else ''}: median {median:.3f}x over {len(mine)} pairs ({min(mine):.3f} to {max(mine):.3f}); "
                     f"target at most {TARGETS[mode]}x: {'met' if median <= TARGETS[mode] else '**missed**'}")
    lines += ["", "Machines: " + "; ".join(f"{letter} = {where}" for where, letter in letters.items())
              + ". Code: commit " + ", ".join(sorted({r.get("commit", "?") for r in pairs})) + "."]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5, metavar="N", help="pairs per mode (default: %(default)s)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--drawing-share", type=float, default=None, metavar="S",
                        help="LivePanels' drawing_share in the window (default: LivePanels' own)")
    args = parser.parse_args()
    server = display = None
    if "window" in args.modes:
        server, display = harness.start_x_server()
        if server is None:
            parser.error("the window mode needs Xvfb (apt-get install xvfb)")
    tf_version = harness.tensorflow_version()
    try:
        for mode in args.modes:
            for number in range(args.pairs):
                where, shown = ("text", None) if mode == "headless" else ("auto", display)
                order = [("plain", "none", None, None), ("panels", where, shown, args.drawing_share)]
                if number % 2:
                    order.reverse()
                measured = {name: fit_seconds(how, on, share) for name, how, on, share in order}
                record = {"mode": mode, "machine": harness.machine(), "tensorflow": tf_version, "commit": harness.commit(),
                          "drawing_share": (args.drawing_share or DEFAULT_SHARE) if mode == "window" else None,
                          "plain_s": measured["plain"], "panels_s": measured["panels"]}
                with open(RUNS, "a") as f:
                    f.write(json.dumps(record) + "\n")
                print(f"{mode} {number + 1}: plain {record['plain_s']:.1f} s, with LivePanels "
                      f"{record['panels_s']:.1f} s ({record['panels_s'] / record['plain_s']:.3f}x)", flush=True)
                results.write_results(results.load_runs(), tf_version)
    except RuntimeError as e:
        sys.exit(f"live_panels: error: {e}")
    finally:
        if server:
            server.terminate()


if __name__ == "__main__":
    main()
