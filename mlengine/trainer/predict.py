"""Ask a local SavedModel what the digits in a JSON file are, as Vertex AI would.

    python -m trainer.predict --model-dir JOB_DIR/model --json-instances digits.json

The file is what gcloud sends: newline-delimited JSON, one instance per line (gcloud ai endpoints
predict --json-instances), or the body of a prediction request, {"instances": [...]} (its
--json-request). Each instance is {"image": 28 rows of 28 numbers in [0, 1]} or those rows alone.
"""
import argparse
import json
import sys

import numpy as np

from trainer.cli import ArgumentParser, import_quietly
from trainer.mnistdata import UserError


def read_instances(path):
    """The instances of a file as float32 [N, 28, 28]; a malformed one raises UserError naming it."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text file of JSON") from None
    try:  # a request body, or a bare list, on one line or many
        body = json.loads(text)
        if isinstance(body, dict) and "instances" in body or isinstance(body, list):
            instances = body["instances"] if isinstance(body, dict) else body
            if not isinstance(instances, list) or not instances:
                raise UserError(f'{path} must hold {{"instances": [...]}} with at least one instance')
            return np.stack([image(instance, f"{path}: instance {number}")
                             for number, instance in enumerate(instances)])
    except ValueError:
        pass  # not one JSON value: newline-delimited, as gcloud's --json-instances reads
    images = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            instance = json.loads(line)
        except ValueError as e:
            raise UserError(f"{path} line {number}: not JSON ({e.msg}); the file must be one instance "
                            f'per line, or {{"instances": [...]}}') from None
        images.append(image(instance, f"{path} line {number}"))
    if not images:
        raise UserError(f"{path} holds no instances")
    return np.stack(images)


def image(instance, where):
    """One instance as float32 [28, 28], or UserError saying what is wrong with it."""
    if isinstance(instance, dict):
        if set(instance) != {"image"}:
            raise UserError(f'{where} must have exactly one key, "image" '
                            f"(it has {', '.join(map(repr, instance)) or 'none'})")
        instance = instance["image"]
    try:
        pixels = np.asarray(instance, dtype=np.float32)
    except (TypeError, ValueError):
        raise UserError(f"{where} is not 28 rows of 28 numbers") from None
    if pixels.shape == (784,):
        pixels = pixels.reshape(28, 28)
    if pixels.shape != (28, 28):
        raise UserError(f"{where} has shape {list(pixels.shape)}, not [28, 28]")
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise UserError(f"{where} has pixel values outside [0, 1] (from {pixels.min():g} to "
                        f"{pixels.max():g}); divide 0-255 pixels by 255")
    return pixels


def predict(model_dir, images):
    """(classes [N], probabilities [N, 10]) from the SavedModel's serving signature."""
    tf = import_quietly("tensorflow")
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
                        help="instances, one JSON per line (gcloud's --json-instances), or a request "
                             "body {\"instances\": [...]}: digits.py writes either")
    args = parser.parse_args(argv)
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
