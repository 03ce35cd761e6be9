"""Promises of the lab bench (experiments.py): every experiment runs, writes its figures and its
picture, and says in one sentence what this run's numbers show, agreeing with the primer or not."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import matplotlib.image
import pytest

from conftest import TUTORIAL, Window, clean_env, run_in_one_process, run_python

SCRIPT = os.path.join(TUTORIAL, "experiments.py")
NAMES = ["depth", "width", "input-scaling", "inverted", "batch-size", "learning-rate", "optimizer",
         "overfitting", "l2", "dropout", "batch-norm"]


def run_quick(name, tmp_path, *flags):
    """experiments.py NAME --quick, headless, with its results, picture and TensorBoard runs."""
    results, png, runs = tmp_path / "results.json", tmp_path / "curves.png", tmp_path / "runs"
    done = run_python([SCRIPT, name, "--quick", "--headless", "--results", str(results), "--save-png", str(png),
                       "--tensorboard", str(runs), *flags])
    assert done.returncode == 0, done.stderr[-3000:]
    with open(results) as f:
        return json.load(f), done.stdout, png, runs


def first_ranked(record):
    return max(record["variants"], key=lambda v: (v["final_test"], v["best_test"]))["variant"]


def check_a_quick_run(name, record, printed, png, runs):
    """What every experiment promises: all its variants trained and measured, the table printed,
    the sentence naming the variant the table ranks first, the picture and one run per variant."""
    assert record["experiment"] == name and record["quick"]
    names = [variant["variant"] for variant in record["variants"]]
    assert len(names) >= 2 and len(set(names)) == len(names)
    for variant in record["variants"]:
        curve = variant["curve"]
        assert len(curve["epoch"]) >= 2 and curve["epoch"][0] == 0 and curve["epoch"][-1] == variant["epochs"]
        assert variant["final_test"] == curve["test_accuracy"][-1] and 0 < variant["final_test"] <= 1
        assert variant["best_test"] == max(curve["test_accuracy"])
        assert variant["gap"] == pytest.approx(variant["final_train"] - variant["final_test"], abs=1e-4)
        assert variant["steps"] > 0 and variant["seconds"] > 0
        assert f" {variant['variant']} " in printed  # its row of the table
    assert record["sentence"].startswith(f"{first_ranked(record)} ranks first")
    assert record["sentence"].replace("\n", " ") in " ".join(printed.split())  # printed too
    picture = matplotlib.image.imread(png)
    assert picture.shape[:2] == (720, 1280) and picture[..., :3].std() > 0.05  # curves, not a blank page
    assert len(os.listdir(runs)) == len(names)  # one TensorBoard run per variant


def test_every_experiment_runs_quick_headless_and_says_what_its_own_table_shows(tmp_path, mnist):
    # one process runs them one after the other, through experiments.py's main() and its flags, as a
    # notebook's kernel does: ten starts of TensorFlow would cost the suite a minute. 3,000 training
    # images and one measure an epoch prove the same promises as --quick's 10,000-20,000 and four.
    others = [name for name in NAMES if name != "depth"]
    code = (f"import sys; sys.argv[0] = {SCRIPT!r}; import experiments\n"
            f"for name in {others!r}:\n"
            f"    experiments.main([name, '--quick', '--headless', '--train-images', '3000', '--tests-per-epoch', '1',\n"
            f"                      '--results', f'{tmp_path}/{{name}}.json',\n"
            f"                      '--save-png', f'{tmp_path}/{{name}}.png', '--tensorboard', f'{tmp_path}/{{name}}'])\n")
    done = run_python(["-c", code], cwd=TUTORIAL)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = re.split(r"^experiments\.py (?=[a-z0-9-]+: \d+ variants)", done.stdout, flags=re.M)[1:]
    assert [text.split(":")[0] for text in printed] == others
    for name, text in zip(others, printed):
        with open(tmp_path / f"{name}.json") as f:
            check_a_quick_run(name, json.load(f), text, tmp_path / f"{name}.png", tmp_path / name)


def test_depth_quick_finds_the_primers_decline_and_the_codelabs_cure(tmp_path, mnist):
    record, printed, png, runs = run_quick("depth", tmp_path)
    check_a_quick_run("depth", record, printed, png, runs)
    final = {variant["variant"]: variant["final_test"] for variant in record["variants"]}
    assert final["1 x 32 sigmoid, SGD"] > final["4 x 32 sigmoid, SGD"]  # the primer's finding, in a short run
    assert final["4 x 32 ReLU, Adam"] > final["4 x 32 sigmoid, SGD"]  # the cure
    assert "as the primer found, " in record["sentence"]
    assert "4 x 32 ReLU, Adam scored higher than 4 x 32 sigmoid, SGD (" in record["sentence"]
    # compare.py overlays the variants' runs as it overlays the lessons'
    import compare
    found = compare.find_runs(str(runs))
    assert len(found) == 8
    assert all(len(steps) == len(final_accuracies) >= 2 for _, steps, final_accuracies, _ in found.values())


# --- the sentence ------------------------------------------------------------------------------

def row(name, final_test, final_train=None, reached=None):
    final_train = final_test if final_train is None else final_train
    return {"variant": name, "final_test": final_test, "best_test": final_test, "final_train": final_train,
            "gap": round(final_train - final_test, 4), "epochs": 5, "steps": 100, "seconds": 1.0, "reached": reached}


def test_the_sentence_follows_the_numbers_agreeing_with_the_primer_or_not():
    from mnist_tutorial import experiment
    from mnist_tutorial.experiment import Finding

    findings = [Finding("1 layer", "4 layers"), Finding("1 layer", "4 layers", "gap"),
                Finding("1 layer", "4 layers", "reach")]
    agreeing = [row("1 layer", 0.89, 0.90, reached=1.5), row("4 layers", 0.11, 0.20, reached=None)]
    contradicting = [row("1 layer", 0.40, 0.60, reached=3.0), row("4 layers", 0.92, 0.93, reached=0.5)]
    said = experiment.sentence(agreeing, findings, reach=0.5)
    assert said.startswith("1 layer ranks first, at 89.00% on the test images; as the primer found, ")
    assert "1 layer scored higher than 4 layers (89.00% against 11.00%)" in said
    assert "1 layer overfitted less than 4 layers (a gap of 1.00 points against a gap of 9.00 points)" in said
    assert "1 layer learnt faster than 4 layers (50.00% after 1.50 epochs against 50.00% never reached)" in said
    assert "did not" not in said

    said = experiment.sentence(contradicting, findings, reach=0.5)
    assert said.startswith("4 layers ranks first, at 92.00% on the test images; the primer found that ")
    assert "as the primer found" not in said
    assert "the primer found that 1 layer scored higher than 4 layers, but here it did not (40.00% against 92.00%)" \
        in said
    assert "1 layer overfitted less than 4 layers, but here it did not" in said
    assert "1 layer learnt faster than 4 layers, but here it did not" in said

    # a tie is not a finding confirmed; the table ranks by final, then best test accuracy
    tied = [row("1 layer", 0.5), dict(row("4 layers", 0.5), best_test=0.6)]
    assert experiment.sentence(tied, findings[:1]).startswith("4 layers ranks first")
    assert "but here it did not" in experiment.sentence(tied, findings[:1])
    lines = experiment.table(agreeing, reach=0.5)
    assert lines[1].split()[:3] == ["1", "1", "layer"] and lines[2].split()[0] == "2"


def test_measurements_fall_on_the_last_step_of_every_run():
    from mnist_tutorial import lab_bench

    for epochs, steps_per_epoch, per_epoch in [(5, 468, 4), (1, 19, 4), (10, 2, 4), (20, 58, 4), (1, 313, 4)]:
        total = epochs * steps_per_epoch
        chunk = lab_bench.chunk_steps(total, steps_per_epoch / per_epoch)
        calls = lab_bench.steps_per_call(chunk)
        assert total % chunk == 0 and chunk % calls == 0 and calls <= 25
        assert chunk <= steps_per_epoch  # at least one measurement an epoch


def test_the_same_seed_gives_the_same_curves_and_another_seed_others(tmp_path, mnist):
    curves = []
    for seed in (3, 3, 4):
        done = run_python([SCRIPT, "l2", "--quick", "--headless", "--epochs", "1", "--train-images", "3000", "--seed", str(seed),
                           "--results", str(tmp_path / f"{len(curves)}.json")])
        assert done.returncode == 0, done.stderr[-2000:]
        with open(tmp_path / f"{len(curves)}.json") as f:
            curves.append([variant["curve"]["test_loss"] for variant in json.load(f)["variants"]])
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]


# --- the command line --------------------------------------------------------------------------

def test_help_lists_every_experiment_in_one_line_and_each_says_its_settings():
    done, experiment = run_in_one_process([(SCRIPT, ["--help"]), (SCRIPT, ["learning-rate", "--help"])])
    assert done.returncode == 0
    listing = done.stdout.split("  EXPERIMENT\n")[1].split("\n\n")[0]
    listed = re.findall(r"^    ([a-z0-9-]+)\s", listing, re.M)
    assert listed == NAMES
    done = experiment
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "--epochs N epochs of training (default: 10; the primer's: 500)" in text
    assert "Adam 0.01 (the primer's 90.00%)" in text


BAD_INPUT = [
    (["nonsense"], "invalid choice: 'nonsense'"),
    (["depth", "--epochs", "0"], "argument --epochs: '0' must be at least 1"),
    (["depth", "--results", "/no/such/folder/r.json"], "--results /no/such/folder/r.json: the folder /no/such/folder does not exist"),
]


@pytest.fixture(scope="module")
def refusals():
    return dict(zip([" ".join(flags) for flags, _ in BAD_INPUT], run_in_one_process([(SCRIPT, flags) for flags, _ in BAD_INPUT])))


@pytest.mark.parametrize("flags, message", BAD_INPUT)
def test_bad_input_is_one_line_and_a_non_zero_exit(flags, message, refusals):
    done = refusals[" ".join(flags)]
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_an_experiment_draws_its_curves_live_in_a_window(x_server, mnist, tmp_path):
    window = Window(x_server, "width", "--quick", "--epochs", "1", script="experiments.py")
    try:
        assert not any("ranks first" in line for line in window.lines)  # open while training
        deadline = time.time() + 120
        while not any("close the window to exit" in line for line in window.lines) and time.time() < deadline:
            time.sleep(0.5)
        assert any("close the window to exit" in line for line in window.lines), window.lines[-5:]

        def curves_drawn(picture):  # coloured lines over the two white plots
            region = picture[window.region(0.06, 0.98, 0.12, 0.78)]
            return ((region.max(axis=2).astype(int) - region.min(axis=2)) > 100).mean() > 0.002
        assert curves_drawn(window.shows(curves_drawn))
        # matplotlib's key to close a figure (xdotool may then complain that the window is gone)
        subprocess.run(["xdotool", "key", "--window", window.id, "q"], env={**os.environ, "DISPLAY": x_server},
                       capture_output=True)
        assert window.process.wait(timeout=30) == 0, window.process.stderr.read()[-2000:]
        assert any("ranks first" in line for line in window.lines)
    finally:
        window.close()


def test_ctrl_c_stops_an_experiment_with_one_line(mnist):
    # headless, where the lab bench has no picture: Ctrl-C between two of Keras's calls, one line
    process = subprocess.Popen([sys.executable, SCRIPT, "depth", "--headless"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=clean_env(),
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if re.match(r"1 x 32 sigmoid, SGD +epoch +0\.25 ", line):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert re.fullmatch(r"experiments\.py: interrupted in 1 x 32 sigmoid, SGD at epoch \d\.\d\d\n", stderr), stderr
