"""A trained network as one folder you can keep: save it at the end of training (a graph script's
Session with save(), a Keras model with save_keras()), load it to ask it about digits (draw.py,
and the cloud trainer's `python -m trainer.predict`).

The folder is a TensorFlow SavedModel with the cloud trainer's signature ("serving_default"):
input "image", float32 [None, 28, 28], pixels in [0, 1]; outputs "predictions", float32
[None, 10], the probability of each digit, and "classes", int64 [None]. The weights are frozen
into it as constants; a Keras model's layers answer as they test, and a graph's placeholders
that only training needs (dropout's pkeep, batch norm's is_test, the step) are fixed at their
testing values, so it computes what the test passes computed.
"""
import contextlib
import os
import shutil
import uuid

import tensorflow.compat.v1 as tf
from tensorflow.python.framework import convert_to_constants

from . import mnistdata
from .mnistdata import UserError

SIGNATURE = "serving_default"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def check_target(directory):
    """A folder --save-model may write: new (its missing parents are made when it is saved), empty,
    or a model saved before (replaced)."""
    existing = os.path.dirname(os.path.abspath(directory))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError(f"{existing} is a file, not a folder")
    mnistdata.check_writable(existing)
    if os.path.exists(directory) and not is_saved_model(directory) and (
            not os.path.isdir(directory) or os.listdir(directory)):
        raise UserError(f"{directory} exists and is not a saved model: give a new folder's name")


def is_saved_model(directory):
    return any(os.path.isfile(os.path.join(directory, name)) for name in SAVED_MODEL_FILES)


def save(session, directory, X, Y, fixed):
    """Write the network computing Y from X into directory, replacing any model there.

    fixed maps the other placeholders Y depends on to their testing values. The model is written
    beside the folder and renamed into place, so the folder never holds half a model. When the file
    system refuses (a full disk, a read-only one), that is a UserError naming the folder.
    """
    with tensorflow_notices_hidden():
        try:
            write(session, directory, X, Y, fixed)
        except OSError as e:
            raise UserError(f"cannot write {directory}: {e.strerror or e}") from e
        except tf.errors.OpError as e:  # TensorFlow's own file writes
            raise UserError(f"cannot write {directory}: {e.message.splitlines()[0]}") from e


def save_keras(model, directory):
    """Write a Keras model (images [N, 28, 28, 1] to probabilities) into directory as save() does:
    the same signature, the weights frozen in, its layers answering as they test (training=False:
    no dropout, batch norm's averages). The same UserError when the file system refuses."""
    import tensorflow

    answers = tensorflow.function(lambda image: model(tensorflow.reshape(image, [-1, 28, 28, 1]), training=False))
    network = answers.get_concrete_function(tensorflow.TensorSpec([None, 28, 28], tensorflow.float32))
    frozen = convert_to_constants.convert_variables_to_constants_v2(network)
    with tensorflow_notices_hidden():
        try:
            write_frozen(frozen.graph.as_graph_def(), directory, lambda image: {frozen.inputs[0].name: image},
                         frozen.outputs[0].name)
        except OSError as e:
            raise UserError(f"cannot write {directory}: {e.strerror or e}") from e
        except tf.errors.OpError as e:
            raise UserError(f"cannot write {directory}: {e.message.splitlines()[0]}") from e


@contextlib.contextmanager
def tensorflow_notices_hidden():
    """No notices that the functions used here belong to TensorFlow 1's API: the lessons use it."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def write(session, directory, X, Y, fixed):
    # TensorFlow 1's graph_util.convert_variables_to_constants leaves the variables that batch
    # norm's tf.cond branches read (functions in the graph's library) unfrozen; this one does not
    frozen = convert_to_constants.convert_variables_to_constants_from_session_graph(
        session, session.graph.as_graph_def(), [Y.op.name])
    repair_functions(frozen)
    needed = {node.name for node in frozen.node if node.op == "Placeholder"}

    def inputs(image):
        feeds = {X.name: tf.reshape(image, [-1, 28, 28, 1])}
        feeds.update({placeholder.name: tf.constant(value, dtype=placeholder.dtype)
                      for placeholder, value in fixed.items() if placeholder.op.name in needed})
        left = needed - {name.split(":")[0] for name in feeds}
        if left:
            raise UserError(f"cannot save the model: it needs a value for {', '.join(sorted(left))}")
        return feeds

    write_frozen(frozen, directory, inputs, Y.name)


def write_frozen(frozen, directory, inputs, output):
    """A SavedModel of the frozen graph: its output named tensor from image [None, 28, 28], fed to
    it through inputs(image), a map of the frozen graph's inputs; written beside directory, then
    renamed into place."""
    directory = os.path.abspath(directory)
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    partial = f"{directory}.partial-{uuid.uuid4().hex[:8]}"
    try:
        with tf.Graph().as_default() as graph, tf.Session(graph=graph) as serving:
            image = tf.placeholder(tf.float32, [None, 28, 28], name="image")
            probabilities, = tf.import_graph_def(frozen, input_map=inputs(image), return_elements=[output],
                                                 name="network")
            predictions = tf.identity(probabilities, name="predictions")
            classes = tf.argmax(predictions, 1, name="classes")
            builder = tf.saved_model.builder.SavedModelBuilder(partial)
            signature = tf.saved_model.signature_def_utils.predict_signature_def(
                inputs={"image": image}, outputs={"predictions": predictions, "classes": classes})
            builder.add_meta_graph_and_variables(serving, [tf.saved_model.tag_constants.SERVING],
                                                 signature_def_map={SIGNATURE: signature})
            builder.save()
        replace(partial, directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def repair_functions(graph_def):
    """Make a frozen graph's functions (batch norm's tf.cond branches) loadable by TensorFlow 2.

    Freezing turns a branch's ReadVariableOp into an Identity of the constant but still names its
    output "value", ReadVariableOp's name for it, where an Identity's is "output"; and it leaves
    the unfrozen originals of the branches, and their gradients, in the library.
    """
    for function in graph_def.library.function:
        renamed = {f"{node.name}:value:": f"{node.name}:output:" for node in function.node_def
                   if node.op == "Identity"}
        fix = lambda name: next((name.replace(old, new, 1) for old, new in renamed.items()  # noqa: E731
                                 if name.startswith(old)), name)
        for key, value in function.ret.items():
            function.ret[key] = fix(value)
        for node in function.node_def:
            node.input[:] = [fix(name) for name in node.input]
    library = {function.signature.name: function for function in graph_def.library.function}

    def called(nodes):
        for node in nodes:
            for value in node.attr.values():
                yield from ([value.func.name] if value.HasField("func") else []) + [f.name for f in value.list.func]

    used, waiting = set(), list(called(graph_def.node))
    while waiting:
        name = waiting.pop()
        if name in library and name not in used:
            used.add(name)
            waiting.extend(called(library[name].node_def))
    kept = [library[name] for name in library if name in used]
    del graph_def.library.function[:]
    graph_def.library.function.extend(kept)


def replace(new, directory):
    """Rename the folder new to directory, moving what was there out of the way first."""
    old = None
    if os.path.exists(directory):
        old = f"{directory}.old-{uuid.uuid4().hex[:8]}"
        os.replace(directory, old)
    os.replace(new, directory)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def load(directory):
    """A function from images [N, 28, 28] in [0, 1] to probabilities [N, 10], from a saved model.

    A missing folder, or one that is not a model with this signature, raises UserError.
    """
    if not os.path.isdir(directory):
        raise UserError(f"no folder {directory} (train a script with --save-model {directory} first)")
    if not is_saved_model(directory):
        raise UserError(f"{directory} holds no saved model (train a script with --save-model {directory})")
    graph = tf.Graph()
    session = tf.Session(graph=graph)
    try:
        with graph.as_default(), tensorflow_notices_hidden():
            meta = tf.saved_model.loader.load(session, [tf.saved_model.tag_constants.SERVING], directory)
    except Exception as e:  # a damaged or foreign file: TensorFlow's errors have no common type
        raise UserError(f"cannot load the model in {directory}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    signature = meta.signature_def.get(SIGNATURE)
    shape = lambda info: [d.size for d in info.tensor_shape.dim]  # noqa: E731
    if (signature is None or "image" not in signature.inputs or "predictions" not in signature.outputs
            or shape(signature.inputs["image"])[1:] != [28, 28] or shape(signature.outputs["predictions"])[1:] != [10]):
        raise UserError(f"{directory} is not a digit model: its signature must take image [None, 28, 28] "
                        f"and give predictions [None, 10]")
    image, predictions = signature.inputs["image"].name, signature.outputs["predictions"].name
    return lambda images: session.run(predictions, {image: images})
