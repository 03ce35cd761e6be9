"""Promises of benchmarks/harness.py and results.py: a run's figures come from the script's
--results file and from watching the script from outside, and RESULTS.md judges the last step
on seeds that chose nothing; and of benchmarks/validation/'s harnesses: they measure the images a script held out; and of
benchmarks/interrupts.py: its verdicts on an interrupted kernel."""
import json
import os
import random
import re
import sys

import pytest

from mnist_tutorial import lessons
from conftest import ROOT, TUTORIAL, clean_env, run_in_one_process, run_python

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import harness  # noqa: E402
import results  # noqa: E402


def test_a_run_is_measured_from_its_results_file_and_from_outside(mnist):
    record = harness.run_once(lessons.named("1.0"), 3, ["--iterations", "300"])
    assert record["steps"] == 300 and 0.85 <= record["final_accuracy"] <= record["best_accuracy"] <= 1
    assert record["best_step"] in (0, 100, 200, 300)
    # outside the script: start-up before the first progress line, the whole run, the test passes
    assert 0 < record["startup_s"] < record["wall_s"]
    assert 0 < record["training_s"] < record["wall_s"]
    # kept as measured: four test passes of 1.0 take hundredths of a second on a fast machine
    assert record["times"]["test passes"] is not None, "no test pass was timed"
    assert 0 < record["times"]["test passes"] < record["training_s"]
    assert record["peak_mb"] > 100 and record["reached_99"] is None  # 1.0 never reaches 99%
    assert record["command"] == "python3 tensorflow-mnist-tutorial/mnist_1.0_softmax.py --headless --seed 3 --iterations 300"


def test_a_failed_run_is_reported_with_the_scripts_last_words(mnist):
    with pytest.raises(RuntimeError, match=r"mnist_1.0_softmax.py seed 0 failed \(2\): .*--iterations"):
        harness.run_once(lessons.named("1.0"), 0, ["--iterations", "0"])


def test_line_timing_reads_the_progress_lines():
    lines = ["mnist_x.py: 200 steps\n",
             "step      0  epoch   0.00  training: accuracy 0.1000  loss  230.0000\n",
             "step      0  epoch   0.00  test:     accuracy 0.1100  loss  229.0000\n",
             "step    100  epoch   0.17  training: accuracy 0.9900  loss    3.0000\n",
             "step    100  epoch   0.17  test:     accuracy 0.9912  loss    2.5000\n"]
    timing = harness.line_timing(lines, [1.0, 2.5, 3.0, 5.0, 6.5])
    assert timing == {"startup_s": 2.5, "test_passes_s": 2.0, "reached_99": {"step": 100, "seconds": 4.0}}


def test_line_timing_keeps_what_it_measured_however_small():
    # a fast machine: two test passes of 1.0 take 12 and 19 ms, the first line comes after 0.73 s
    lines = ["step      0  epoch   0.00  training: accuracy 0.1000  loss  230.0000\n",
             "step      0  epoch   0.00  test:     accuracy 0.1100  loss  229.0000\n",
             "step    100  epoch   0.17  training: accuracy 0.9100  loss   30.0000\n",
             "step    100  epoch   0.17  test:     accuracy 0.9000  loss   31.0000\n"]
    timing = harness.line_timing(lines, [0.731, 0.743, 0.935, 0.954])
    assert timing["test_passes_s"] == pytest.approx(0.031) and timing["startup_s"] == 0.731
    # no training line before a test line: no test pass was timed, which is not "it took 0 s"
    assert harness.line_timing(lines[1:2], [0.8])["test_passes_s"] is None


def fake_run(script, seed, final):
    return {"script": script, "seed": seed, "extra": [], "machine": "M", "final_accuracy": final,
            "best_accuracy": final, "best_step": 30000, "steps": 30000, "training_s": 2400.0,
            "images_per_s": 1250.0, "startup_s": 3.0, "wall_s": 2405.0, "peak_mb": 1200,
            "times": {"test passes": 150.0}, "reached_99": {"step": 2000, "seconds": 150.0},
            "command": f"python3 tensorflow-mnist-tutorial/{script} --headless --seed {seed}"}


@pytest.mark.parametrize("fresh, verdict", [((0.9971, 0.9970, 0.9969), "met"),
                                            ((0.9969, 0.9968, 0.9975), "**missed**")])
def test_the_last_step_is_judged_on_its_fresh_seeds_beside_the_ones_that_chose_it(fresh, verdict, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(results, "RESULTS", str(tmp_path / "RESULTS.md"))
    monkeypatch.setattr(results, "HERE", str(tmp_path))
    last = lessons.named("5.2")
    runs = [fake_run(last, seed, final) for seed, final in zip((0, 1, 2), (0.9974, 0.9972, 0.9968))]
    runs += [fake_run(last, seed, final) for seed, final in zip((3, 4, 5), fresh)]
    results.write_results(runs, "2.21.0")
    text = (tmp_path / "RESULTS.md").read_text()
    main_row = next(line for line in text.splitlines() if line.startswith(f"| {last} |"))
    assert "| 3 | 0.9972 (0.9968) |" in main_row and "on fresh seeds (below)" in main_row
    fresh_rows = [line for line in text.splitlines() if line.startswith(("| 0, 1, 2 (", "| 3, 4, 5 ("))]
    assert fresh_rows[0].startswith("| 0, 1, 2 (used while choosing) | A | 0.9972 (0.9968) | 28 |")
    median = sorted(fresh)[1]
    assert fresh_rows[1].startswith(f"| 3, 4, 5 (fresh) | A | {median:.4f} ({min(fresh):.4f}) |")
    assert fresh_rows[1].endswith(f"| >= 0.997 {verdict} |")
    assert text.count(f"`python3 tensorflow-mnist-tutorial/{last} --headless --seed") == 6  # every run listed


def test_until_every_fresh_seed_has_run_the_target_is_not_judged(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", str(tmp_path / "RESULTS.md"))
    monkeypatch.setattr(results, "HERE", str(tmp_path))
    last = lessons.named("5.2")
    results.write_results([fake_run(last, 0, 0.9972), fake_run(last, 3, 0.9990)], "2.21.0")
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| 1 of 3 seeds measured |" in text and ">= 0.997 met" not in text


harnesses = os.path.join(ROOT, "benchmarks", "validation")


def trained_on_50000_images(version, tmp_path):
    """A network of the script version trained 100 steps with --validation 10000, saved; and the
    final validation accuracy its --results file records."""
    model, figures = tmp_path / "model", tmp_path / "results.json"
    trained = run_python([os.path.join(TUTORIAL, lessons.named(version)), "--headless", "--iterations", "100",
                          "--validation", "10000", "--save-model", str(model), "--results", str(figures)])
    assert trained.returncode == 0, trained.stderr[-2000:]
    with open(figures) as f:
        measured = json.load(f)
    assert measured["held_out"] == "validation"
    return model, measured["final_accuracy"]


def test_the_validation_harnesses_measure_the_images_the_script_held_out(mnist, tmp_path):
    # benchmarks/validation/: what chose the 5.x steps. A network trained with --validation 10000
    # must score there exactly what its script's last validation pass measured, alone and averaged
    # with itself (which rights nothing: every error is shared).
    model, final_accuracy = trained_on_50000_images("1.0", tmp_path)
    accuracy, errors = f"{final_accuracy:.4f}", round(10000 * (1 - final_accuracy))

    copies, averaged, missing, no_batch_norm = run_in_one_process([
        (os.path.join(harnesses, "copies_at_test_time.py"), [str(model)]),
        (os.path.join(harnesses, "networks_averaged.py"), [str(model), str(model)]),
        (os.path.join(harnesses, "networks_averaged.py"), [str(model), str(tmp_path / "nope")]),
        (os.path.join(harnesses, "batchnorm_measured_again.py"), [str(model)])])
    assert copies.returncode == 0, copies.stderr[-2000:]
    assert f"copy moved +0 right, +0 down: {accuracy} ({errors} errors)" in copies.stdout
    assert f"one copy: {accuracy} ({errors} errors)" in copies.stdout

    assert averaged.returncode == 0, averaged.stderr[-2000:]
    assert averaged.stdout.splitlines()[1:] == [
        f"{model} alone: {accuracy} ({errors} errors)",
        f"wrong in every network: {errors} images, of which the average gets 0 right",
        f"2 networks averaged: {accuracy} ({errors} errors); +0 images against the best alone, "
        "+0.0 against the mean of them alone"]

    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "no folder" in missing.stderr

    assert no_batch_norm.returncode == 1
    assert no_batch_norm.stderr.strip().splitlines() == [f"error: {model} has no batch norm averages to measure again"]


def test_batch_norms_averages_measured_again_start_from_the_saved_network(mnist, tmp_path):
    # the harness rebuilds a saved batch-norm network; with its saved averages it must score what
    # the script measured, and only then measure them again, over the 50,000 images it learnt from
    model, accuracy = trained_on_50000_images("4.1", tmp_path)
    errors = round(10000 * (1 - accuracy))
    again = run_python([os.path.join(harnesses, "batchnorm_measured_again.py"), str(model)])
    assert again.returncode == 0, again.stderr[-2000:]
    line = re.fullmatch(rf"{re.escape(str(model))}: saved averages {accuracy:.4f} \({errors} errors\); "
                        r"measured again (0\.\d{4}) \((\d+) errors\); ([+-]\d+) images", again.stdout.splitlines()[0])
    assert line, again.stdout
    assert int(line.group(3)) == errors - int(line.group(2)) and line.group(1) == f"{1 - int(line.group(2)) / 10000:.4f}"


def test_the_interrupt_benchmark_tells_a_clean_stop_from_a_lost_interrupt(mnist, monkeypatch):
    # benchmarks/interrupts.py counted the one lost interrupt that the fix in training.py took away;
    # its verdicts must stay true: a real interrupt that stops training is "clean", one the kernel
    # never receives (here: swallowed before it is sent) is "lost" once training runs on for 20 s.
    import interrupts  # here, not above: it needs jupyter_client, which the rest of this file does not
    from kernel import Kernel
    kernel = Kernel(ROOT, clean_env())
    try:
        assert interrupts.one_try(kernel, random.Random(0)) == "clean"
        sent = []
        real_interrupt = kernel.interrupt
        monkeypatch.setattr(kernel, "interrupt", lambda: sent.append(1) if not sent else real_interrupt())
        assert interrupts.one_try(kernel, random.Random(0)) == "lost"
        assert len(sent) == 1  # swallowed once, then really sent, and the cell ended
    finally:
        kernel.close()
