"""The SavedModel that Vertex AI's prebuilt TensorFlow prediction containers serve.

Signature "serving_default": input "image", float32 [None, 28, 28], pixels in [0, 1]; outputs
"predictions", float32 [None, 10], the probability of each digit, and "classes", int64 [None].
"""
import os
import shutil
import uuid

import tensorflow.compat.v1 as tf

from trainer import data, model
from trainer.cli import is_remote

SIGNATURE = "serving_default"


def saved_model(checkpoint_dir, model_dir, hp):
    """Export the latest checkpoint's model into model_dir (local or gs://), replacing what is there.

    Locally the model is written beside model_dir and renamed into place, so model_dir never holds
    half a model; in a bucket, where renaming a folder is not atomic, it is written in place.
    """
    checkpoint = tf.train.latest_checkpoint(checkpoint_dir)
    if checkpoint is None:
        raise data.UserError(f"no checkpoint in {checkpoint_dir} to export")
    remote = is_remote(model_dir)
    target = model_dir if remote else f"{model_dir.rstrip(os.sep)}.partial-{uuid.uuid4().hex[:8]}"
    if remote and tf.io.gfile.exists(model_dir):
        tf.io.gfile.rmtree(model_dir)
    with tf.Graph().as_default(), tf.Session() as session:
        image = tf.placeholder(tf.float32, [None, 28, 28], name="image")
        logits = model.logits(tf.reshape(image, [-1, 28, 28, 1]), hp, training=False)
        predictions = tf.nn.softmax(logits, name="predictions")
        classes = tf.argmax(logits, 1, name="classes")
        tf.train.Saver().restore(session, checkpoint)  # the model's variables, batch norm's averages too
        builder = tf.saved_model.builder.SavedModelBuilder(target)
        signature = tf.saved_model.signature_def_utils.predict_signature_def(
            inputs={"image": image}, outputs={"predictions": predictions, "classes": classes})
        builder.add_meta_graph_and_variables(session, [tf.saved_model.tag_constants.SERVING],
                                             signature_def_map={SIGNATURE: signature})
        builder.save()
    if not remote:
        if os.path.isdir(model_dir):
            shutil.rmtree(model_dir)
        os.replace(target, model_dir)
