"""Train the batch-normalised convolutional MNIST network, locally or as a Vertex AI custom job.

    python -m trainer.task --data-dir DIR --job-dir DIR [--train-steps N] [--hp-...]

Checkpoints go to $AIP_CHECKPOINT_DIR (else JOB_DIR/checkpoints), TensorBoard summaries to
$AIP_TENSORBOARD_LOG_DIR (else JOB_DIR/logs) and the SavedModel to $AIP_MODEL_DIR (else
JOB_DIR/model): Vertex AI sets those variables when the job has a base output directory. A job
started again with the same directories resumes from its last checkpoint; SIGTERM (preemption)
writes a checkpoint before the process exits. With TF_CONFIG naming a cluster (chief, workers,
parameter servers), every task runs this same command and they train one model together.
"""
import argparse
import json
import os
import signal
import sys

from trainer.cli import EXIT_TERMINATED, ArgumentParser, import_quietly, join, number, say_on_stderr
from trainer.mnistdata import UserError


def parse_args(argv=None):
    parser = ArgumentParser(prog="python -m trainer.task", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR"), metavar="DIR",
                        help="folder with the four MNIST IDX files: local, gs://BUCKET/... or "
                             "/gcs/BUCKET/...; a local folder without them gets them fetched "
                             "(default: $MNIST_DATA_DIR)")
    parser.add_argument("--job-dir", metavar="DIR",
                        help="where checkpoints, summaries and the model go unless the AIP_* "
                             "variables say otherwise (local or gs://)")
    parser.add_argument("--train-steps", type=number(int, 1), default=10000, metavar="N",
                        help="training steps of the whole job, counted by the shared global step "
                             "(default: %(default)s)")
    parser.add_argument("--eval-every", type=number(int, 1), default=500, metavar="N",
                        help="steps between evaluations on the 10,000 test images; one more at "
                             "the end (default: %(default)s)")
    parser.add_argument("--checkpoint-every", type=number(int, 1), default=500, metavar="N",
                        help="steps between checkpoints (default: %(default)s)")
    parser.add_argument("--log-every", type=number(int, 1), default=100, metavar="N",
                        help="steps between progress lines and summaries (default: %(default)s)")
    parser.add_argument("--seed", type=number(int, 0), default=0, metavar="N",
                        help="seeds the initial weights, shuffling and dropout (default: %(default)s)")
    parser.add_argument("--no-export", action="store_true", help="do not export a SavedModel at the end")
    parser.add_argument("--require-gpu", action="store_true",
                        help="stop before training, in one line saying why, when TensorFlow sees no GPU "
                             "(the GPU configs pass it; parameter servers ignore it)")
    hp = parser.add_argument_group("hyperparameters (tunable: Vertex AI passes --hp-NAME=VALUE)")
    hp.add_argument("--hp-batch-size", type=number(int, 1), default=100, metavar="N",
                    help="training images per step and worker (default: %(default)s)")
    hp.add_argument("--hp-lr0", type=number(float, 1e-6, 1.0), default=0.02, metavar="X",
                    help="learning rate at step 0, decaying exponentially (default: %(default)s)")
    hp.add_argument("--hp-lr-min", type=number(float, 0.0, 1.0), default=0.0001, metavar="X",
                    help="learning rate it decays to (default: %(default)s)")
    hp.add_argument("--hp-lr-decay-steps", type=number(float, 1.0), default=1600, metavar="N",
                    help="steps over which the decaying part shrinks by a factor e (default: %(default)s)")
    hp.add_argument("--hp-pkeep", type=number(float, 0.05, 1.0), default=0.5, metavar="X",
                    help="dropout on the dense layer: share of its outputs kept (default: %(default)s)")
    hp.add_argument("--hp-conv1", type=number(int, 1), default=24, metavar="N",
                    help="channels of the first convolution (default: %(default)s)")
    hp.add_argument("--hp-conv2", type=number(int, 1), default=48, metavar="N",
                    help="channels of the second convolution (default: %(default)s)")
    hp.add_argument("--hp-conv3", type=number(int, 1), default=64, metavar="N",
                    help="channels of the third convolution (default: %(default)s)")
    hp.add_argument("--hp-dense", type=number(int, 1), default=200, metavar="N",
                    help="neurons of the dense layer (default: %(default)s)")
    hp.add_argument("--hp-bn-decay", type=number(float, 0.0, 0.99999), default=0.999, metavar="X",
                    help="decay of batch norm's moving averages (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir is required (or set MNIST_DATA_DIR)")
    dirs = {"checkpoints": "AIP_CHECKPOINT_DIR", "logs": "AIP_TENSORBOARD_LOG_DIR", "model": "AIP_MODEL_DIR"}
    for name, variable in dirs.items():
        value = os.environ.get(variable) or (args.job_dir and join(args.job_dir, name))
        if not value:
            parser.error(f"--job-dir is required unless {', '.join(dirs.values())} are set")
        setattr(args, f"{name}_dir", value)
    args.hp = argparse.Namespace(**{name[3:]: value for name, value in vars(args).items()
                                    if name.startswith("hp_")})
    return args


class Cluster:
    """This process's part in the job, from TF_CONFIG; a single local task when it names no cluster."""

    def __init__(self, environ=os.environ):
        try:
            config = json.loads(environ.get("TF_CONFIG") or "{}")
            spec = {job: list(tasks) for job, tasks in (config.get("cluster") or {}).items()}
            task = config.get("task")
            if spec and not task:
                raise UserError("TF_CONFIG names a cluster but not this process's task "
                                "(\"task\": {\"type\": ..., \"index\": ...})")
            task = task or {}
            self.job, self.index = task.get("type", "chief"), int(task.get("index", 0))
        except (ValueError, TypeError, AttributeError) as e:
            raise UserError(f"TF_CONFIG is not valid JSON of the form {{\"cluster\": ..., \"task\": ...}} ({e})")
        if self.job == "evaluator":
            raise UserError("TF_CONFIG: this trainer has no evaluator task (the chief evaluates every "
                            "--eval-every steps): leave Vertex AI's fourth worker pool empty")
        if spec and (self.job not in spec or not 0 <= self.index < len(spec[self.job])):
            raise UserError(f"TF_CONFIG: task {self.job} {self.index} is not in its cluster ("
                            + ", ".join(f"{len(tasks)} {job}" for job, tasks in spec.items()) + ")")
        self.spec = {job: tasks for job, tasks in spec.items() if job != "evaluator"}
        self.distributed = sum(len(tasks) for tasks in self.spec.values()) > 1
        if self.distributed:
            if "ps" not in self.spec:
                raise UserError("TF_CONFIG: a cluster of several tasks needs at least one parameter "
                                "server (ps) to hold the shared variables")
        if not self.distributed:
            self.is_chief = True
        elif "chief" in self.spec or "master" in self.spec:
            self.is_chief = self.job in ("chief", "master")
        else:  # a cluster of workers only: the first one leads
            self.is_chief = self.job == "worker" and self.index == 0
        # a different number for every task, to give each its own shuffling of the training set
        self.number = 0 if self.job in ("chief", "master") else self.index + 1

    def name(self):
        return f"{self.job} {self.index}" if self.distributed else "single process"


def import_training():
    """trainer.train, and with it TensorFlow, imported quietly; one line if TensorFlow is missing."""
    try:
        return import_quietly("trainer.train")
    except ImportError as e:
        raise UserError(f"{e}: install TensorFlow (python3 -m pip install 'tensorflow>=2.21,<2.22'), "
                        f"or run the trainer in its container (mlengine/Dockerfile)") from None


def stopped_while_starting(signum, frame):
    """SIGTERM before training has begun (TensorFlow still importing, the graph being built): end
    now. The process is a container's process 1, which the kernel gives no default for SIGTERM:
    without a handler it would be ignored until Vertex AI kills it."""
    say_on_stderr("trainer: stopped by SIGTERM before training began")
    raise SystemExit(EXIT_TERMINATED)


def main(argv=None):
    signal.signal(signal.SIGTERM, stopped_while_starting)  # the training loop puts its own in place
    args = parse_args(argv)
    try:
        cluster = Cluster()
        train = import_training()
        return train.train(args, cluster)
    except UserError as e:
        sys.exit(f"trainer: error: {e}")
    except KeyboardInterrupt:
        sys.exit("trainer: interrupted")


if __name__ == "__main__":
    sys.exit(main())
