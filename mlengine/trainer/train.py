"""The training run behind trainer.task: graph, MonitoredTrainingSession, hooks, export."""
import contextlib
import json
import math
import os
import re
import signal
import socket
import sys
import time

import tensorflow.compat.v1 as tf

from trainer import data, export, model
from trainer.cli import EXIT_TERMINATED, join

JOB_FILE = "job.json"  # in the checkpoints' folder: which job wrote them
NVIDIA_DRIVER_DIRS = ("/usr/local/nvidia/lib64", "/usr/local/nvidia/lib")  # where Vertex AI mounts the driver


def train(args, cluster):
    tf.disable_eager_execution()
    tf.get_logger().setLevel("ERROR")  # TensorFlow's deprecation notices about its v1 API
    print(f"trainer: {cluster.name()}; data {args.data_dir}; checkpoints {args.checkpoints_dir}; "
          f"summaries {args.logs_dir}; model {args.model_dir}", flush=True)
    print("hyperparameters: " + ", ".join(f"{name}={value}" for name, value in vars(args.hp).items()),
          flush=True)

    server = None
    if cluster.distributed:
        if cluster.job != "ps":
            wait_for_cluster(cluster)
        server = tf.distribute.Server(tf.train.ClusterSpec(cluster.spec), job_name=cluster.job,
                                      task_index=cluster.index, start=True)
        if cluster.job == "ps":
            serve_until_stopped(cluster)
            return 0
    if args.require_gpu and not tf.config.list_physical_devices("GPU"):
        raise data.UserError(f"--require-gpu: TensorFlow sees no GPU: {why_no_gpu()}")
    print(f"trainer: training on {device_in_use()}", flush=True)  # after the server: it must come first

    found = data.find_files(args.data_dir)
    if cluster.is_chief:  # the model's folder is made at the end, in a folder that must take it
        for directory in (args.checkpoints_dir, args.logs_dir, os.path.dirname(args.model_dir.rstrip("/")) or "."):
            check_writable(directory)
        args.checkpoints_dir = checkpoints_of_this_job(args.checkpoints_dir)

    tf.set_random_seed(args.seed)
    device = None
    if cluster.distributed:  # variables on the parameter servers, everything else on this task
        device = tf.train.replica_device_setter(worker_device=f"/job:{cluster.job}/task:{cluster.index}",
                                                cluster=tf.train.ClusterSpec(cluster.spec))
    with tf.device(device):
        # each task shuffles the training set its own way
        graph = build_graph(args, found, shuffle_seed=args.seed * 1000 + cluster.number)

    stop = SignalHook()
    hooks = [tf.train.StopAtStepHook(last_step=args.train_steps), stop, ProgressHook(graph, args, cluster)]
    config = tf.ConfigProto()
    if cluster.distributed:  # talk to the parameter servers, not to the other workers
        config.device_filters.extend(["/job:ps", f"/job:{cluster.job}/task:{cluster.index}"])
    if cluster.distributed and not cluster.is_chief:
        wait_for_chief(server, config, stop)
    with refused_writes_in_one_line(args):
        with tf.train.MonitoredTrainingSession(
                master=server.target if server else "", is_chief=cluster.is_chief,
                checkpoint_dir=args.checkpoints_dir, summary_dir=args.logs_dir, hooks=hooks,
                chief_only_hooks=[EvaluationHook(graph, args, stop)], save_checkpoint_steps=args.checkpoint_every,
                save_checkpoint_secs=None, save_summaries_steps=args.log_every, log_step_count_steps=None,
                config=config) as session:
            start = session.run(graph["global_step"])
            if start and cluster.is_chief:
                print(f"resuming from the checkpoint at step {start}", flush=True)
            while not session.should_stop():
                session.run(graph["train_op"])

    if stop.signalled:
        where = f"; checkpoint written to {args.checkpoints_dir}" if cluster.is_chief else ""
        print(f"trainer: stopped by SIGTERM after step {stop.step}{where}: run the job again with the "
              f"same directories to resume", flush=True)
        return EXIT_TERMINATED
    if cluster.is_chief and not args.no_export:
        with refused_writes_in_one_line(args):
            export.saved_model(args.checkpoints_dir, args.model_dir, args.hp)
        print(f"SavedModel exported to {args.model_dir}", flush=True)
    return 0


def serve_until_stopped(cluster):
    """A parameter server serves until Vertex AI stops it with the chief (SIGTERM). TensorFlow's
    server.join() would wait inside its C++ code, where no signal handler runs, so the wait is
    Python's own, in short sleeps: a signal that lands on one of TensorFlow's threads is handled by
    the main thread when its sleep ends, within half a second."""
    def stopped(signum, frame):
        print(f"parameter server {cluster.index}: stopped by SIGTERM", flush=True)
        os._exit(0)  # the server's threads are TensorFlow's: nothing of this process needs ending
    signal.signal(signal.SIGTERM, stopped)
    print(f"parameter server {cluster.index}: serving the shared variables", flush=True)
    while True:
        time.sleep(0.5)


def why_no_gpu():
    """The likely reason TensorFlow sees no GPU here, for the one line that stops a GPU job."""
    if not tf.test.is_built_with_cuda():
        return "this TensorFlow is built without CUDA (install tensorflow[and-cuda], as mlengine/Dockerfile does)"
    path = [folder for folder in os.environ.get("LD_LIBRARY_PATH", "").split(":") if folder]
    mounted = [folder for folder in NVIDIA_DRIVER_DIRS if os.path.exists(os.path.join(folder, "libcuda.so.1"))]
    if mounted and not set(mounted) & set(path):
        return (f"the NVIDIA driver is in {mounted[0]}, which is not on LD_LIBRARY_PATH (an image not "
                f"built from mlengine/Dockerfile must add it)")
    import ctypes.util
    if not mounted and not ctypes.util.find_library("cuda"):
        return ("no NVIDIA driver (libcuda.so.1) in this container: the machine has no GPU, or the job "
                "asked for none (acceleratorType and acceleratorCount in its config)")
    return "the NVIDIA driver is there but no GPU answered (TF_CPP_MIN_LOG_LEVEL=0 shows TensorFlow's own reason)"


def device_in_use():
    """What TensorFlow will train on here: the GPU it places the model on, or the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "the CPU (TensorFlow sees no GPU)"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    return f"GPU 0, {name}" + (f" ({len(gpus)} GPUs: this trainer uses one per machine)" if len(gpus) > 1 else "")


def wait_for_cluster(cluster):
    """Wait until every parameter server accepts connections, with Ctrl-C and SIGTERM still heard.

    TensorFlow's own wait for them holds the interpreter inside its C++ code, where no signal
    handler can run (a waiting worker once ignored SIGTERM for 13 minutes), so this waits first,
    in Python, knocking at their ports once a second.
    """
    def give_up(signum, frame):
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        print(f"trainer: stopped by {name} while waiting for the parameter servers "
              f"({', '.join(cluster.spec['ps'])}); nothing was written", file=sys.stderr, flush=True)
        sys.exit(128 + signum)

    handlers = {number: signal.signal(number, give_up) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        waiting = list(cluster.spec["ps"])
        told = False
        while waiting:
            host, _, port = waiting[0].rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                waiting.pop(0)
            except OSError:
                if not told:
                    print(f"{cluster.name()}: waiting for the parameter servers ({', '.join(waiting)})", flush=True)
                    told = True
                time.sleep(1)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def wait_for_chief(server, config, stop):
    """Wait, polling every second, until the chief has initialised or restored the variables.

    MonitoredTrainingSession would wait too, but polls only every 30 seconds, which is most of a
    short job.
    """
    uninitialised = tf.report_uninitialized_variables()
    with tf.Session(server.target, config=config) as session:
        if len(session.run(uninitialised)):
            print("waiting for the chief to initialise the variables", flush=True)
        while len(session.run(uninitialised)) and not stop.signalled:
            time.sleep(1)


def checkpoints_of_this_job(directory):
    """The folder where this job's checkpoints are, or go: never another job's.

    Vertex AI names every job (CLOUD_ML_JOB_ID; CLOUD_ML_TRIAL_ID too for a tuning trial) but gives
    each trial the folder <base>/<trial>/checkpoints, and trial numbers start at 1 in every tuning
    job: a second tuning job with the same output folder would find the first one's checkpoints and
    "resume" them (training nothing, or failing on a network of another shape). So the first
    checkpoint of a job is preceded by job.json, naming it. A restart of the same job finds its own
    name and resumes; another job trains afresh in a folder of its own inside. Run locally (no
    CLOUD_ML_JOB_ID), a job resumes whatever the folder holds, as before.
    """
    job = os.environ.get("CLOUD_ML_JOB_ID")
    if not job:
        return directory
    trial = os.environ.get("CLOUD_ML_TRIAL_ID")
    owner = f"job {job}" + (f" trial {trial}" if trial else "")
    marker = join(directory, JOB_FILE)
    written_by = None
    if tf.io.gfile.exists(marker):
        with tf.io.gfile.GFile(marker) as f:
            written_by = json.loads(f.read() or "{}").get("owner")
    if tf.train.latest_checkpoint(directory) is None:
        if written_by != owner:
            tf.io.gfile.makedirs(directory)
            with tf.io.gfile.GFile(marker, "w") as f:
                f.write(json.dumps({"owner": owner}) + "\n")
        return directory
    if written_by == owner:
        return directory
    own = join(directory, re.sub(r"[^A-Za-z0-9]+", "-", owner))
    print(f"trainer: {directory} holds the checkpoints of {written_by or 'another job'}, not of this one "
          f"({owner}): this job's checkpoints go to {own}", flush=True)
    return checkpoints_of_this_job(own)


def check_writable(directory):
    """Fail now, in one line, rather than at the first checkpoint."""
    probe = join(directory, f".write-test-{os.getpid()}")
    try:
        tf.io.gfile.makedirs(directory)
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("ok")
        tf.io.gfile.remove(probe)
    except tf.errors.OpError as e:
        raise data.UserError(f"cannot write to {directory}: {e.message}") from None


@contextlib.contextmanager
def refused_writes_in_one_line(args):
    """TensorFlow's error about a file in one of the job's folders (a full disk, a bucket that is
    gone) as one line; other errors keep their traceback. The checkpoints already written stay."""
    try:
        yield
    except tf.errors.OpError as e:
        # a graph's error names the file in a line of its own, after where the operation was made
        lines = [line.strip() for line in (e.message or str(e)).splitlines() if not line.strip().startswith("File ")]
        for directory in (args.checkpoints_dir, args.logs_dir, args.model_dir):
            for line in lines:
                if directory in line:  # "PATH; reason" names a temporary file: the reason is what matters
                    path, _, reason = line.rpartition("; ")
                    raise data.UserError(f"cannot write to {directory}: {reason if directory in path else line}") from None
        raise
    except OSError as e:  # the export's own renames, on a local disk
        raise data.UserError(f"cannot write {e.filename or args.model_dir}: {e.strerror or e}") from None


def build_graph(args, found, shuffle_seed):
    hp = args.hp
    global_step = tf.train.get_or_create_global_step()
    images, labels = tf.data.make_one_shot_iterator(
        data.training_batches(found, hp.batch_size, shuffle_seed)).get_next()
    logits = model.logits(images, hp, training=True, step=global_step)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels), tf.float32))
    learning_rate = hp.lr_min + tf.train.exponential_decay(hp.lr0, global_step, hp.lr_decay_steps, 1 / math.e)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):  # batch norm's averages
        train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
    tf.summary.scalar("loss/training", loss)
    tf.summary.scalar("accuracy/training", accuracy)
    tf.summary.scalar("learning_rate", learning_rate)

    test = tf.data.make_initializable_iterator(data.test_batches(found, 1000))
    test_images, test_labels = test.get_next()
    test_logits = model.logits(test_images, hp, training=False)
    correct = tf.equal(tf.argmax(test_logits, 1, output_type=tf.int32), test_labels)
    test_sums = {
        "correct": tf.reduce_sum(tf.cast(correct, tf.float32)),
        "loss": tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=test_labels,
                                                                             logits=test_logits)),
        "count": tf.cast(tf.shape(test_labels)[0], tf.float32),
    }
    return dict(global_step=global_step, train_op=train_op, loss=loss, accuracy=accuracy, learning_rate=learning_rate,
                test_init=test.initializer, test_sums=test_sums)


class SignalHook(tf.train.SessionRunHook):
    """SIGTERM (Vertex AI's notice of preemption) becomes a clean stop after the current step; the
    session's close then writes a checkpoint of that step (CheckpointSaverHook.end does)."""

    def __init__(self):
        self.signalled, self.step = False, None
        signal.signal(signal.SIGTERM, self.on_signal)

    def on_signal(self, signum, frame):
        self.signalled = True

    def before_run(self, run_context):
        return tf.train.SessionRunArgs(tf.train.get_global_step())

    def after_run(self, run_context, run_values):
        self.step = run_values.results + 1
        if self.signalled:
            run_context.request_stop()


class ProgressHook(tf.train.SessionRunHook):
    """A line every --log-every steps: loss and accuracy on the batch, learning rate, speed.

    With several workers the global step advances by more than one between this worker's runs,
    so a line is due whenever it crosses a multiple of --log-every.
    """

    def __init__(self, graph, args, cluster):
        self.graph, self.every = graph, args.log_every
        self.prefix = f"{cluster.name()}: " if cluster.distributed else ""
        self.distributed = cluster.distributed
        self.last, self.own_steps, self.next_step = None, 0, None

    def before_run(self, run_context):
        # the batch's loss and accuracy only when a line may be due: other steps fetch the step alone
        fetches = {"step": self.graph["global_step"]}
        if self.last is None or self.distributed or self.next_step // self.every > self.last[0] // self.every:
            fetches.update(loss=self.graph["loss"], accuracy=self.graph["accuracy"], rate=self.graph["learning_rate"])
        return tf.train.SessionRunArgs(fetches)

    def after_run(self, run_context, run_values):
        values = run_values.results
        step = values["step"] + 1  # the global step once this run's training step is counted
        self.own_steps, self.next_step = self.own_steps + 1, step + 1
        if "loss" in values and (self.last is None or step // self.every > self.last[0] // self.every):
            now = time.perf_counter()
            speed = f"  {(step - self.last[0]) / (now - self.last[1]):.2f} steps/s" if self.last else ""
            print(f"{self.prefix}step {step:6d}  training: loss {values['loss']:.4f}  accuracy "
                  f"{values['accuracy']:.4f}  lr {values['rate']:.6f}{speed}", flush=True)
            self.last = (step, now)

    def end(self, session):
        if self.distributed:
            print(f"{self.prefix}{self.own_steps} of the job's training steps were this task's", flush=True)


class EvaluationHook(tf.train.SessionRunHook):
    """On the chief: accuracy and loss on all test images every --eval-every steps and at the end,
    printed, written as summaries and reported to Vertex AI's hyperparameter tuning."""

    def __init__(self, graph, args, stop):
        self.graph, self.args, self.stop = graph, args, stop
        self.last_evaluated = None

    def begin(self):
        self.writer = tf.summary.FileWriterCache.get(self.args.logs_dir)
        self.tuner = hypertune()

    def before_run(self, run_context):
        return tf.train.SessionRunArgs(self.graph["global_step"])

    def after_run(self, run_context, run_values):
        step, every = run_values.results + 1, self.args.eval_every
        if self.last_evaluated is None:  # the first step of this run, perhaps a resumed one
            self.last_evaluated = step - 1
        due = step // every > self.last_evaluated // every  # crossed a multiple of every
        if due and step < self.args.train_steps and not self.stop.signalled:
            self.evaluate(run_context.session, step)

    def end(self, session):
        step = session.run(self.graph["global_step"])
        if step != self.last_evaluated and not self.stop.signalled:
            self.evaluate(session, step)

    def evaluate(self, session, step):
        session.run(self.graph["test_init"])
        totals = dict.fromkeys(self.graph["test_sums"], 0.0)
        while True:
            try:
                values = session.run(self.graph["test_sums"])
            except tf.errors.OutOfRangeError:
                break
            for name, value in values.items():
                totals[name] += value
        accuracy, loss = totals["correct"] / totals["count"], totals["loss"] / totals["count"]
        print(f"step {step:6d}  test: accuracy {accuracy:.4f}  loss {loss:.4f} "
              f"({int(totals['count'])} images)", flush=True)
        self.writer.add_summary(tf.Summary(value=[
            tf.Summary.Value(tag="accuracy/test", simple_value=accuracy),
            tf.Summary.Value(tag="loss/test", simple_value=loss)]), step)
        self.writer.flush()
        if self.tuner:
            self.tuner.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag="accuracy", metric_value=accuracy, global_step=int(step))
        self.last_evaluated = step


def hypertune():
    """The reporter for Vertex AI's hyperparameter tuning (package cloudml-hypertune), if installed."""
    try:
        import hypertune as package
    except ImportError:
        return None
    return package.HyperTune()
