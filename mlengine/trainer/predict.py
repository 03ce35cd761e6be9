"""Ask a local SavedModel what the digits in a JSON instances file are, as Vertex AI would.

    python -m trainer.predict --model-dir JOB_DIR/model --json-instances digits.json

The file holds {"instances": [...]}, the body of a Vertex AI prediction request (or just the list);
each instance is {"image": 28 rows of 28 numbers in [0, 1]} or those rows alone.
"""
import argparse
import json
import os
import sys

import numpy as np

from trainer.mnistdata import UserError
from trainer.task import ArgumentParser


def read_instances(path):
    """The instances of a JSON file as float32 [N, 28, 28]; malformed ones raise UserError."""
    try:
        with open(path) as f:
            body = json.load(f)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise UserError(f"{path} is not JSON ({e})") from None
    instances = body.get("instances") if isinstance(body, dict) else body
    if not isinstance(instances, list) or not instances:
        raise UserError(f'{path} must hold {{"instances": [...]}} with at least one instance')
    images = []
    for number, instance in enumerate(instances):
        if isinstance(instance, dict):
            if set(instance) != {"image"}:
                raise UserError(f'{path}: instance {number} must have exactly one key, "image" '
                                f"(it has {', '.join(map(repr, instance)) or 'none'})")
            instance = instance["image"]
        try:
            image = np.asarray(instance, dtype=np.float32)
        except (TypeError, ValueError):
            raise UserError(f"{path}: instance {number} is not 28 rows of 28 numbers") from None
        if image.shape == (784,):
            image = image.reshape(28, 28)
        if image.shape != (28, 28):
            raise UserError(f"{path}: instance {number} has shape {list(image.shape)}, not [28, 28]")
        if not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 1:
            raise UserError(f"{path}: instance {number} has pixel values outside [0, 1] (from "
                            f"{image.min():g} to {image.max():g}); divide 0-255 pixels by 255")
        images.append(image)
    return np.stack(images)


def predict(model_dir, images):
    """(classes [N], probabilities [N, 10]) from the SavedModel's serving signature."""
    import tensorflow as tf
    if not tf.saved_model.contains_saved_model(model_dir):
        raise UserError(f"{model_dir} holds no SavedModel (train with trainer.task first)")
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    outputs = serve(image=tf.constant(images))
    return outputs["classes"].numpy(), outputs["predictions"].numpy()


def main(argv=None):
    parser = ArgumentParser(prog="python -m trainer.predict", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="folder of the exported SavedModel")
    parser.add_argument("--json-instances", required=True, metavar="FILE",
                        help="JSON file of instances, e.g. the digits.json that digits.py writes")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        images = read_instances(args.json_instances)
        classes, probabilities = predict(args.model_dir, images)
    except UserError as e:
        sys.exit(f"trainer.predict: error: {e}")
    print("instance  class  probability")
    for number, (digit, row) in enumerate(zip(classes, probabilities)):
        print(f"{number:8d}  {digit:5d}  {row[digit]:11.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
