"""Promises of what every script shares before its lesson (data.py: the data's order; where_shown.py:
the display; interrupts.py: Ctrl-C) and of the graph scripts' training.py."""
import numpy as np

from mnist_tutorial import data, training, where_shown


def test_each_epoch_shows_every_training_image_once_in_a_new_order():
    batches = data.shuffled_batches(1000, 100, np.random.default_rng(0))
    first = np.concatenate([next(batches) for _ in range(10)])
    second = np.concatenate([next(batches) for _ in range(10)])
    assert sorted(first) == list(range(1000)) and sorted(second) == list(range(1000))
    assert not np.array_equal(first, second)


def test_a_batch_size_that_does_not_divide_the_set_loses_no_image():
    batches = [batch for batch, _ in zip(data.shuffled_batches(10, 4, np.random.default_rng(0)), range(5))]
    assert [len(batch) for batch in batches] == [4] * 5
    stream = np.concatenate(batches)  # 20 indices: two whole epochs, the third batch straddles them
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:]) == list(range(10))


def test_the_same_seed_gives_the_same_batches():
    a = data.shuffled_batches(500, 50, np.random.default_rng(5))
    b = data.shuffled_batches(500, 50, np.random.default_rng(5))
    for _ in range(25):
        np.testing.assert_array_equal(next(a), next(b))


def test_a_display_is_needed_on_linux(monkeypatch):
    monkeypatch.setattr(where_shown.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not where_shown.has_display()
    monkeypatch.setenv("DISPLAY", ":99")
    assert where_shown.has_display()


def test_importing_the_loop_leaves_keras_for_later_and_tf_keras_still_works():
    # Start-up time: TensorFlow would load Keras (and matplotlib) eagerly; the scripts use neither
    # at import, and a learner who reaches for tf.keras afterwards must still get it.
    import os
    import subprocess
    import sys
    code = ("import sys\nfrom mnist_tutorial import training\nimport tensorflow as tf\n"
            "print('keras.src' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n"
            "print(tf.keras.layers.Dense.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(training.__file__)),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "Dense"]


def test_ctrl_c_while_training_stops_at_the_next_step_not_inside_a_library():
    # Python raises KeyboardInterrupt wherever the signal finds the main thread. Between a library's
    # lock.acquire() and release() (TensorFlow's session lock, a Jupyter kernel's output) that leaves
    # the lock held, and the next caller waits forever: a frozen notebook. While the loop trains,
    # Ctrl-C only asks, the loop stops at the next step, and a second Ctrl-C stops at once.
    import os
    import signal
    import subprocess
    import sys
    code = """
import os, signal, threading
from mnist_tutorial import interrupts
def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10000): pass  # the handler runs by now
lock = threading.Lock()
with interrupts.StopBetweenSteps() as interrupt:
    lock.acquire()  # a library's critical section
    ctrl_c()
    lock.release()
    print("the step finished, lock held:", lock.locked())
    try:
        interrupt.check()
    except KeyboardInterrupt:
        print("stopped at the next step")
print("handler given back:", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
try:
    with interrupts.StopBetweenSteps():
        ctrl_c()
        ctrl_c()
        print("a second Ctrl-C was ignored")
except KeyboardInterrupt:
    print("the second Ctrl-C stopped at once")
try:
    with interrupts.StopBetweenSteps():
        ctrl_c()  # during the last step
    print("the last step's Ctrl-C was lost")
except KeyboardInterrupt:
    print("the last step's Ctrl-C stopped too")
signal.signal(signal.SIGINT, signal.SIG_IGN)  # nohup
with interrupts.StopBetweenSteps() as interrupt:
    ctrl_c()
    interrupt.check()
print("an ignored Ctrl-C stays ignored")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(training.__file__)),
                            capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "the step finished, lock held: False", "stopped at the next step", "handler given back: True",
        "the second Ctrl-C stopped at once", "the last step's Ctrl-C stopped too",
        "an ignored Ctrl-C stays ignored"]
