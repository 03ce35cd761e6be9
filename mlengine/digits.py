"""Write real MNIST test digits as a Vertex AI prediction request, in either of gcloud's forms.

    python3 digits.py [--count 10] [--first 0] [--data-dir DIR] [--output digits.json]
                      [--format request|instances]

--format request (the default) writes the body of a request, {"instances": [...]}: send it with
`gcloud ai endpoints predict ENDPOINT --json-request=digits.json`. --format instances writes one
instance per line, for `--json-instances=FILE`. `python -m trainer.predict --json-instances FILE`
reads both. It prints the true labels so that you can compare them with the predictions.
"""
import argparse
import json
import os
import sys

from trainer import mnistdata
from trainer.cli import MAX_REQUEST, ArgumentParser


def main(argv=None):
    parser = ArgumentParser(prog="digits.py", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10, help="how many digits (default: %(default)s)")
    parser.add_argument("--first", type=int, default=0,
                        help="index of the first test digit (default: %(default)s)")
    parser.add_argument("--data-dir", default=os.environ.get(mnistdata.DATA_DIR_VARIABLE),
                        help="folder of the MNIST files, fetched there if missing "
                             "(default: $MNIST_DATA_DIR, else the tutorial's data folder)")
    parser.add_argument("--output", default="digits.json", help="file to write (default: %(default)s)")
    parser.add_argument("--format", choices=["request", "instances"], default="request",
                        help="request: {\"instances\": [...]} for --json-request; instances: one per "
                             "line, for --json-instances (default: %(default)s)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir
    if not data_dir:  # the tutorial's own data folder, created if the tutorial has not fetched yet
        data_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "tensorflow-mnist-tutorial", "data")
        os.makedirs(data_dir, exist_ok=True)
    try:
        if not 1 <= args.count <= 10000 or not 0 <= args.first <= 10000 - args.count:
            raise mnistdata.UserError(f"--first {args.first} --count {args.count} is not a range of "
                                      f"the 10,000 test digits")
        mnist = mnistdata.load(data_dir, one_hot=False)
        chosen = slice(args.first, args.first + args.count)
        images, labels = mnist.test_images[chosen, :, :, 0], mnist.test_labels[chosen]
        instances = [{"image": [[round(float(v), 4) for v in row] for row in image]} for image in images]
        if args.format == "request":
            text = json.dumps({"instances": instances}) + "\n"
        else:
            text = "".join(json.dumps(instance) + "\n" for instance in instances)
        body = len(json.dumps({"instances": instances}))  # what gcloud sends, in either format
        if body > MAX_REQUEST:
            fits = int(args.count * MAX_REQUEST / body)
            raise mnistdata.UserError(f"--count {args.count} makes a request of {body:,} bytes, over the "
                                      f"{MAX_REQUEST:,} a Vertex AI prediction takes: ask for {fits} digits "
                                      f"or fewer at a time (--first moves along the test set)")
        with mnistdata.atomic_file(args.output) as f:
            f.write(text.encode())
    except mnistdata.UserError as e:
        sys.exit(f"digits.py: error: {e}")
    except OSError as e:
        sys.exit(f"digits.py: error: cannot write {args.output}: {e.strerror}")
    print(f"{args.output}: test digits {args.first} to {args.first + args.count - 1}, labels "
          + " ".join(str(label) for label in labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
