"""What a run leaves for programs to read: TensorBoard summaries in a run folder of their own
(--tensorboard), and the run's figures as JSON (--results)."""
import json
import os
import re
import sys
import time

import numpy as np
import tensorflow
import tensorflow.compat.v1 as tf

from .mnistdata import UserError, atomic_file


class Summaries:
    """--tensorboard: the printed numbers as scalars, the values of panels 4 and 5 as histograms.

    The histograms are TensorBoard's own, made by TensorFlow from the numbers the loop hands over,
    in a session of their own: the script's graph and its Session are not touched.
    """

    def __init__(self, directory, tags=()):
        """tags: the histograms' names; none, scalars only."""
        self.session = None
        if tensorflow.executing_eagerly():  # Keras and tf.function loops: TensorFlow 2's writer
            self.writer, self.eager_writer = None, tensorflow.summary.create_file_writer(directory)
        else:  # a graph script's: with the graph, for TensorBoard's graph tab
            self.writer = tf.summary.FileWriter(directory, tf.get_default_graph())
        if not tags:
            return
        with tf.Graph().as_default() as graph:
            self.values = [tf.placeholder(tf.float32, [None]) for _ in tags]
            self.histogram_op = tf.summary.merge([tf.summary.histogram(tag, values)
                                                  for tag, values in zip(tags, self.values)])
        self.session = tf.Session(graph=graph)

    def scalars(self, step, values):
        values = [tf.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()]
        self.add(tf.Summary(value=values).SerializeToString(), step)

    def histograms(self, step, arrays):
        feed = {placeholder: np.ravel(array) for placeholder, array in zip(self.values, arrays)}
        self.add(self.session.run(self.histogram_op, feed), step)

    def add(self, summary, step):
        """One serialised Summary: the same records whichever writer, so compare.py reads both."""
        if self.writer:
            self.writer.add_summary(summary, step)
        else:
            with self.eager_writer.as_default():
                tensorflow.summary.experimental.write_raw_pb(summary, step=step)

    def close(self):
        if self.writer:
            self.writer.close()
        else:
            self.eager_writer.close()
        if self.session:
            self.session.close()


def run_folder(args, what=None):
    """This run's own folder in --tensorboard DIR: script (or what, the lab bench's experiment
    and variant), seed and start time, e.g. DIR/mnist_2.1_five_layers_relu_lrdecay-seed0-20261203-075300.
    TensorBoard shows each folder as a run; two runs in one folder would mix their steps into one curve."""
    script = what or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    name = f"{script}-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, number = os.path.join(args.tensorboard, name), 1
    while os.path.exists(folder):  # the same script and seed started twice in one second
        number += 1
        folder = os.path.join(args.tensorboard, f"{name}-{number}")
    return folder


def tag_name(title):
    """A TensorBoard tag from a panel title: "Conv activations, batch max" -> conv_activations_batch_max."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def write_json(path, figures):
    """--results FILE.json: figures (a dict) as JSON, written whole or not at all."""
    with atomic_file(path) as f:
        f.write(json.dumps(figures, indent=1).encode())


class Files:
    """The files a run was asked for, written at its end. One that the file system refuses (a full
    disk) is said in one line at once, and the others are written all the same: an hour of training
    is not lost to one picture. unwritten: what was refused."""

    def __init__(self, title):
        self.title, self.unwritten = title, []

    def write(self, output):
        """output(), which writes one file; its result, or None where the file system refused."""
        try:
            return output()
        except UserError as e:
            print(f"{self.title}: error: {e}", file=sys.stderr, flush=True)
            self.unwritten.append(str(e))

    def save_model(self, save, folder, asked, draw_script):
        """save(folder), the trained network as a folder (--save-model, or the live window's drawing
        pad); folder, or None where there is none. asked: --save-model, said in a line."""
        if folder:
            save(folder)
            if asked:
                print(f"model saved to {folder}: python3 {os.path.relpath(draw_script)} --model "
                      f"{folder} to draw digits for it", flush=True)
        return folder
