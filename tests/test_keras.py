"""Promises of the Keras twins (keras_*.py) and the TensorFlow 2 loop (tf2_2.2_*.py): the graph
twin's network and training in today's TensorFlow, with the same flags, picture and files."""
import ast
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from mnist_tutorial import savedmodel
from conftest import ROOT, TUTORIAL, Window, clean_env, ctrl_c_at_step_20, ink, run_in_one_process, run_python
from kernel import Kernel

TWINS = {"1.0": "keras_1.0_softmax.py", "2.2": "keras_2.2_five_layers_relu_lrdecay_dropout.py",
         "3.1": "keras_3.1_convolutional_bigger_dropout.py", "4.2": "keras_4.2_batchnorm_convolutional.py",
         "tf2 2.2": "tf2_2.2_five_layers_relu_lrdecay_dropout.py"}
GRAPH_TWINS = {"keras_1.0_softmax.py": "mnist_1.0_softmax.py",
               "keras_2.2_five_layers_relu_lrdecay_dropout.py": "mnist_2.2_five_layers_relu_lrdecay_dropout.py",
               "keras_3.1_convolutional_bigger_dropout.py": "mnist_3.1_convolutional_bigger_dropout.py",
               "keras_4.2_batchnorm_convolutional.py": "mnist_4.2_batchnorm_convolutional.py",
               "tf2_2.2_five_layers_relu_lrdecay_dropout.py": "mnist_2.2_five_layers_relu_lrdecay_dropout.py"}
# after 200 steps, what the codelab's curves reach by then, with room for the seed
SENSIBLE = {"1.0": 0.85, "2.2": 0.90, "3.1": 0.90, "4.2": 0.95, "tf2 2.2": 0.90}


def trained(script, tmp_path, *flags):
    """The script run headless with --results; its figures, and its output."""
    results = tmp_path / "results.json"
    run = run_python([os.path.join(TUTORIAL, script), "--headless", "--results", str(results), *flags])
    assert run.returncode == 0, run.stderr[-3000:]
    with open(results) as f:
        return json.load(f), run


def test_the_twins_are_the_tutorials_files_beside_their_graph_twins():
    assert sorted(GRAPH_TWINS) == sorted(TWINS.values())
    for twin, graph in GRAPH_TWINS.items():
        assert os.path.exists(os.path.join(TUTORIAL, twin)) and os.path.exists(os.path.join(TUTORIAL, graph))


@pytest.mark.parametrize("version", list(TWINS))
def test_each_twin_trains_headless_and_writes_its_picture_results_and_a_model_the_pad_reads(version, tmp_path,
                                                                                          mnist):
    png, model = tmp_path / "panels.png", tmp_path / "model"
    figures, run = trained(TWINS[version], tmp_path, "--iterations", "200", "--save-png", str(png),
                           "--save-model", str(model))
    assert figures["steps"] == 200 and [t["step"] for t in figures["tests"]] == [0, 100, 200]
    assert figures["final_accuracy"] > SENSIBLE[version], figures["final_accuracy"]
    assert re.search(r"^step    200  epoch   0\.33 .* test:     accuracy 0\.\d{4}", run.stdout, re.M)
    assert png.stat().st_size > 50_000 and run.stderr == ""
    # the drawing pad's loader reads the model, and it scores what the last test pass measured
    answers = savedmodel.load(str(model))
    probabilities = answers(mnist.test_images.reshape(-1, 28, 28).astype(np.float32) / 255.0)
    assert np.mean(np.argmax(probabilities, 1) == mnist.test_labels) == pytest.approx(figures["final_accuracy"],
                                                                                    abs=1e-4)


def test_keras_1_0_is_1_0_number_for_number(tmp_path):
    # one layer starting at zero, the same batches in the same order, the same gradient descent: the
    # twin must reproduce the graph script's every test pass, not just land near it
    keras_figures, _ = trained("keras_1.0_softmax.py", tmp_path, "--iterations", "300", "--seed", "4")
    graph_figures, _ = trained("mnist_1.0_softmax.py", tmp_path, "--iterations", "300", "--seed", "4")
    assert [t["accuracy"] for t in keras_figures["tests"]] == [t["accuracy"] for t in graph_figures["tests"]]
    np.testing.assert_allclose([t["loss"] for t in keras_figures["tests"]],
                               [t["loss"] for t in graph_figures["tests"]], rtol=1e-3)


def test_fit_and_the_tf_function_loop_train_2_2_alike(tmp_path):
    # the same layers, seeds, batches and optimizer: Keras's fit and the loop of one's own give the
    # same network, step for step
    fit, _ = trained(TWINS["2.2"], tmp_path, "--iterations", "200")
    loop, _ = trained(TWINS["tf2 2.2"], tmp_path, "--iterations", "200")
    assert [t["accuracy"] for t in fit["tests"]] == [t["accuracy"] for t in loop["tests"]]


def test_steps_per_execution_changes_the_pace_of_the_picture_not_the_training(tmp_path):
    one, lines_one = trained(TWINS["2.2"], tmp_path, "--iterations", "100", "--steps-per-execution", "1")
    twenty, lines_twenty = trained(TWINS["2.2"], tmp_path, "--iterations", "100")  # 20: --log-every's
    assert one["tests"] == twenty["tests"]
    progress = lambda run: [line for line in run.stdout.splitlines() if line.startswith("step ")]  # noqa: E731
    assert progress(lines_one) == progress(lines_twenty)


def test_the_twins_take_the_graph_scripts_flags():
    scripts = [*GRAPH_TWINS, *GRAPH_TWINS.values()]
    helps = run_in_one_process([(os.path.join(TUTORIAL, script), ["--help"]) for script in scripts])
    flags = {script: set(re.findall(r"^  (--[a-z-]+)", help.stdout, re.M)) for script, help in zip(scripts, helps)}
    for twin, graph in GRAPH_TWINS.items():
        assert flags[twin] == flags[graph] | {"--steps-per-execution"}, twin
    # a twin's --help alone, in a process of its own, is the same
    twin = next(iter(GRAPH_TWINS))
    assert run_python([os.path.join(TUTORIAL, twin), "--help"]).stdout == helps[0].stdout
    bad = run_python([os.path.join(TUTORIAL, TWINS["2.2"]), "--iterations", "none"])
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_no_twin_imports_tensorflow_1_and_the_loop_differentiates_inside_a_tf_function():
    for twin in GRAPH_TWINS:
        with open(os.path.join(TUTORIAL, twin)) as f:
            tree = ast.parse(f.read())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in imported if "compat" in name], (twin, imported)
    with open(os.path.join(TUTORIAL, TWINS["tf2 2.2"])) as f:
        tree = ast.parse(f.read())
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                 and any(ast.unparse(decorator) == "tf.function" for decorator in node.decorator_list)]
    assert functions, "no @tf.function"
    inside = {ast.unparse(node) for function in functions for node in ast.walk(function)}
    assert "tf.GradientTape()" in inside and any(text.startswith("optimizer.apply_gradients(") for text in inside)
    # and the loop calls it as the graph script calls sess.run(train_step, ...): once a step
    loop = next(node for node in tree.body if isinstance(node, ast.For))
    assert "train_step(batch_X, batch_Y)" in ast.unparse(loop)


def test_tensorboard_runs_of_a_twin_are_read_as_a_graph_scripts_are(tmp_path):
    logs = tmp_path / "logs"
    trained(TWINS["2.2"], tmp_path, "--iterations", "100", "--tensorboard", str(logs))
    trained("mnist_2.2_five_layers_relu_lrdecay_dropout.py", tmp_path, "--iterations", "100", "--tensorboard",
            str(logs))
    picture = tmp_path / "compare.png"
    compared = run_python([os.path.join(TUTORIAL, "compare.py"), str(logs), "--output", str(picture)])
    assert compared.returncode == 0, compared.stderr
    assert compared.stdout.startswith("compare.py: 2 runs drawn"), compared.stdout
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    for run in os.listdir(logs):
        events = EventAccumulator(str(logs / run)).Reload()
        assert {"accuracy/test", "loss/test", "accuracy/training"} <= set(events.Tags()["scalars"]), run
        assert {"weights", "biases"} <= set(events.Tags()["histograms"]), run


def test_ctrl_c_stops_fit_between_steps_with_one_line(mnist):
    returncode, stderr = ctrl_c_at_step_20(TWINS["3.1"])
    assert returncode == 1
    assert re.fullmatch(r"keras_3\.1_convolutional_bigger_dropout\.py: interrupted at step \d+\n", stderr), stderr


def test_a_twin_in_a_real_window_answers_keys_and_pauses(x_server, mnist):
    window = Window(x_server, "--iterations", "100000", script=TWINS["2.2"])
    try:
        deadline = time.time() + 60
        while not any("test:" in line for line in window.lines) and time.time() < deadline:
            time.sleep(0.2)
        top_right = window.region(0.77, 0.93, 0.12, 0.38)  # inside the training digits
        top_left = window.region(0.07, 0.29, 0.12, 0.38)  # inside the accuracy plot
        everything = window.shows(lambda picture: ink(picture[top_right]) > 0.05 and ink(picture[top_left]) < 0.05)
        assert ink(everything[top_right]) > 0.05 and ink(everything[top_left]) < 0.05  # the batch it trains on
        window.key("9")  # training and test digits side by side: digits now fill the left half
        assert ink(window.shows(lambda picture: ink(picture[top_left]) > 0.05)[top_left]) > 0.05
        window.key("1")  # the accuracy curve alone
        one = window.shows(lambda picture: ink(picture[top_right]) < 0.02 and ink(picture[top_left]) < 0.02)
        assert ink(one[top_right]) < 0.02 and ink(one[top_left]) < 0.02

        window.key("space")  # pause: fit takes no step while the window waits
        paused_at = window.stands_still()
        time.sleep(2.0)
        assert window.steps()[-1] == paused_at
        window.key("space")
        deadline = time.time() + 30
        while window.steps()[-1] == paused_at and time.time() < deadline:
            time.sleep(0.2)
        assert window.steps()[-1] > paused_at
        window.process.send_signal(signal.SIGINT)
        assert window.process.wait(timeout=30) == 1
        last = window.process.stderr.read().strip().splitlines()[-1]
        assert re.fullmatch(r"keras_2\.2_five_layers_relu_lrdecay_dropout\.py: interrupted at step \d+", last), last
    finally:
        window.close()


def test_a_twin_in_a_notebook_sends_its_picture_while_it_trains(mnist):
    kernel = Kernel(ROOT, clean_env())
    try:
        cell = kernel.run(f"%run tensorflow-mnist-tutorial/{TWINS['2.2']} --iterations 3000")
        assert cell.reply["status"] == "ok" and not cell.errors(), cell.text()
        pictures = cell.pictures()
        updates = [picture for picture in pictures if picture[0] == "update_display_data"]
        assert len(updates) >= 3, f"{len(updates)} updates"  # the same picture, redrawn as fit trains
        assert not np.array_equal(updates[0][2], updates[-1][2])
        text = cell.text()
        assert "final test accuracy" in text and not re.search(r"^step ", text, re.M)  # the bar, not lines
    finally:
        kernel.close()


def test_a_twin_runs_after_a_graph_script_in_the_same_kernel_and_the_other_way_round(mnist):
    # a notebook's kernel runs the chapters one after another: the graph scripts switch TensorFlow
    # to graph mode for good, and a twin after them must still train eagerly, to its own numbers
    code = """
import runpy, sys
for name in ("mnist_1.0_softmax.py", "keras_2.2_five_layers_relu_lrdecay_dropout.py", "mnist_1.0_softmax.py",
             "tf2_2.2_five_layers_relu_lrdecay_dropout.py"):
    sys.argv = [name, "--headless", "--iterations", "50"]
    runpy.run_path(name, run_name="__main__")
"""
    together = subprocess.run([sys.executable, "-c", code], cwd=TUTORIAL, env=clean_env(), capture_output=True,
                              text=True, timeout=300)
    assert together.returncode == 0, together.stderr[-2000:]
    finals = re.findall(r"^final test accuracy (0\.\d{4})", together.stdout, re.M)
    alone = [re.search(r"^final test accuracy (0\.\d{4})", run_python(
        [os.path.join(TUTORIAL, name), "--headless", "--iterations", "50"]).stdout, re.M).group(1)
        for name in ("mnist_1.0_softmax.py", TWINS["2.2"])]
    assert finals == [alone[0], alone[1], alone[0], alone[1]], (finals, alone)


def test_the_twins_batches_are_the_graph_scripts_and_come_without_tf_datas_autotuning(mnist):
    # tf.data's autotuning thread wakes at intervals growing to a minute, and the iterator fit drops at
    # its end waited for it: a twin sat idle for 40 s after its last step in about one run in three.
    # In a process of its own, eager as a twin is (the graph scripts' tests leave this one in graph mode).
    checked = run_python(["-c", textwrap.dedent("""
        from types import SimpleNamespace
        import numpy as np
        from mnist_tutorial import data, keras_training
        args = SimpleNamespace(data_dir=None, validation=0, batch_size=100, iterations=3,
                               rng=np.random.default_rng(0))
        batches = keras_training.Batches(data.load_mnist(args), args)
        assert batches.dataset.options().autotune.enabled is False
        steps = 0
        for step, (images, labels) in enumerate(batches.dataset):
            expected_images, expected_labels = batches.at(step)  # the picture shows what fit trains on
            np.testing.assert_allclose(images.numpy(), expected_images, atol=1e-6)
            np.testing.assert_array_equal(labels.numpy(), expected_labels)
            steps += 1
        print("steps", steps)
        """)])
    assert checked.returncode == 0 and checked.stdout == "steps 3\n", checked.stderr[-3000:]
