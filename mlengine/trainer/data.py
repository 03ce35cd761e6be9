"""MNIST for the trainer: checked with the tutorial's IDX code, read by a tf.data pipeline.

The four IDX files (gzipped or not) sit in a local folder, in a Cloud Storage folder (gs://...),
or under /gcs/BUCKET/..., where Vertex AI mounts buckets. A local folder with none of them gets
them fetched and verified by mnistdata, as the tutorial does; a bucket must already hold them.
"""
import tensorflow.compat.v1 as tf

from trainer import mnistdata
from trainer.cli import is_remote
from trainer.mnistdata import UserError

IMAGE_BYTES = 28 * 28
IMAGE_HEADER, LABEL_HEADER = 16, 8  # bytes before the first image or label in an IDX file




def find_files(data_dir):
    """Paths of the four files in data_dir, checked for MNIST's structure; fetched when local."""
    if not is_remote(data_dir):
        mnistdata.load(data_dir, pixels_as_bytes=True)  # fetches when missing, checks every file
    found = {}
    for name in mnistdata.FILES:
        candidates = [f"{data_dir.rstrip('/')}/{name}{suffix}" for suffix in ("", ".gz")]
        try:
            found[name] = next((path for path in candidates if tf.io.gfile.exists(path)), None)
        except tf.errors.OpError as e:
            raise UserError(f"cannot read {data_dir}: {e.message}") from None
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise UserError(f"{data_dir} does not hold {', '.join(missing)} (gzipped or not): copy the four "
                        f"MNIST files there, e.g. gsutil cp tensorflow-mnist-tutorial/data/* {data_dir}")
    if is_remote(data_dir):
        check_remote(found)
    return found


def check_remote(found):
    """What mnistdata.load checks for a local folder: magic numbers, sizes, matching counts."""
    arrays = {}
    for name, path in found.items():
        try:
            with tf.io.gfile.GFile(path, "rb") as f:
                raw = f.read()
        except tf.errors.OpError as e:
            raise UserError(f"cannot read {path}: {e.message}") from None
        if path.endswith(".gz"):
            raw = mnistdata.gunzip(raw, path)
        arrays[name] = mnistdata.check_idx(raw, path, mnistdata.FILES[name][0])
    for images, labels in (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                           ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")):
        mnistdata.check_pair(found[images], arrays[images], found[labels], arrays[labels])


def idx_records(images_path, labels_path):
    """(image [28, 28, 1] float32 in [0, 1], label int32) pairs straight from two IDX files."""
    def records(path, size, header):
        compression = "GZIP" if path.endswith(".gz") else ""
        return tf.data.FixedLengthRecordDataset(path, size, header_bytes=header,
                                                compression_type=compression)

    def decode(image, label):
        image = tf.reshape(tf.cast(tf.io.decode_raw(image, tf.uint8), tf.float32) / 255.0, [28, 28, 1])
        label = tf.reshape(tf.cast(tf.io.decode_raw(label, tf.uint8), tf.int32), [])
        return image, label

    pairs = tf.data.Dataset.zip((records(images_path, IMAGE_BYTES, IMAGE_HEADER),
                                 records(labels_path, 1, LABEL_HEADER)))
    return pairs.map(decode, num_parallel_calls=tf.data.AUTOTUNE)


def training_batches(found, batch_size, seed):
    """Endless batches of training images, reshuffled every epoch."""
    dataset = idx_records(found["train-images-idx3-ubyte"], found["train-labels-idx1-ubyte"])
    dataset = dataset.cache().shuffle(60000, seed=seed, reshuffle_each_iteration=True).repeat()
    # batches are made ahead, on the CPU, while the accelerator runs the step before
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def test_batches(found, batch_size):
    """One pass over the test set; its iterator is initialised again for every evaluation."""
    dataset = idx_records(found["t10k-images-idx3-ubyte"], found["t10k-labels-idx1-ubyte"])
    return dataset.cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)
