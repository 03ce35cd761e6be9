"""Does a trained network recognise more validation digits when batch norm's averages are measured
again after training, over every training digit, with dropout off as it is in testing?

    python3 benchmarks/validation/batchnorm_measured_again.py MODEL_DIR [MODEL_DIR ...] [--validation 10000]

MODEL_DIR is a batch-norm network (4.x, 5.x) saved with --save-model by a script trained with
--validation N: it never saw the last N training images, which are measured here. In training,
batch norm averages the mean and variance of each channel over the last thousand or so batches,
with dropout on; in testing dropout is off, which changes the spread of what the layers after a
dropout receive. Here the weights stay as they are: one pass over the training images the network
learnt from (batches of 100, un-augmented, dropout off) measures each layer's mean and variance
again, batch by batch as training does, and their averages replace the saved ones. The figures
with the saved averages must be the saved model's own: the script checks it.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tensorflow-mnist-tutorial"))
from mnist_tutorial import mnistdata  # noqa: E402
from mnist_tutorial import training  # noqa: E402,F401  (imports TensorFlow without its start-up chatter, as draw.py does)
import tensorflow.compat.v1 as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

from copies_at_test_time import networks_and_validation_set, probabilities  # noqa: E402

AVERAGE = "network/{}/Squeeze{}/ExponentialMovingAverage"  # the saved averages: mean "", variance "_1"


class Network:
    """A saved batch-norm network whose batch norm can run on its batch's statistics (as in
    training) or on averages given here (as in testing), dropout off either way."""

    def __init__(self, directory):
        saved = saved_model_pb2.SavedModel()
        with open(os.path.join(directory, "saved_model.pb"), "rb") as f:
            saved.ParseFromString(f.read())
        graph_def = saved.meta_graphs[0].graph_def
        constants = {node.name: node for node in graph_def.node if node.op == "Const"}
        self.layers = [name for name in (f"moments_{k}" if k else "moments" for k in range(20))
                       if AVERAGE.format(name, "") in constants]
        if not self.layers:
            raise mnistdata.UserError(f"{directory} has no batch norm averages to measure again")
        saved = [(tf.make_ndarray(constants[AVERAGE.format(layer, "")].attr["value"].tensor),
                  tf.make_ndarray(constants[AVERAGE.format(layer, "_1")].attr["value"].tensor)) for layer in self.layers]
        # the testing values savedmodel.save fixed: is_test is the one True among them (pkeep is fixed at 1)
        is_test = [name for name, node in constants.items() if "/" not in name and node.attr["dtype"].type == tf.bool]
        if len(is_test) != 1:
            raise mnistdata.UserError(f"{directory} has no single is_test switch for its batch norm")
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.is_test = tf.placeholder_with_default(True, [])
            self.averages = [(tf.placeholder_with_default(mean, mean.shape),
                              tf.placeholder_with_default(variance, variance.shape)) for mean, variance in saved]
            input_map = {is_test[0] + ":0": self.is_test}
            for layer, (mean, variance) in zip(self.layers, self.averages):
                input_map[AVERAGE.format(layer, "") + ":0"] = mean
                input_map[AVERAGE.format(layer, "_1") + ":0"] = variance
            tf.import_graph_def(graph_def, input_map=input_map, name="")
            self.image = self.graph.get_tensor_by_name("image:0")
            self.predictions = self.graph.get_tensor_by_name("predictions:0")
            self.batch_statistics = [(self.graph.get_tensor_by_name(f"network/{layer}/Squeeze:0"),
                                      self.graph.get_tensor_by_name(f"network/{layer}/Squeeze_1:0"))
                                     for layer in self.layers]
        self.session = tf.Session(graph=self.graph)

    def predict(self, images, averages=None):
        feed = {self.image: images}
        for (mean, variance), (new_mean, new_variance) in zip(self.averages, averages or []):
            feed[mean], feed[variance] = new_mean, new_variance
        return self.session.run(self.predictions, feed)

    def measure_averages(self, images, batch_size=100):
        """Each layer's batch mean and variance, batch by batch as in training, averaged."""
        batches = [self.session.run(self.batch_statistics, {self.image: images[start:start + batch_size],
                                                            self.is_test: False})
                   for start in range(0, len(images) - batch_size + 1, batch_size)]
        return [(np.mean([batch[layer][0] for batch in batches], axis=0),
                 np.mean([batch[layer][1] for batch in batches], axis=0)) for layer in range(len(self.layers))]


def main():
    models, predictors, validation, labels, learnt_images = networks_and_validation_set(__doc__, "+")
    try:
        networks = [Network(model) for model in models]
    except mnistdata.UserError as e:
        sys.exit(f"error: {e}")
    learnt = learnt_images()
    total = {"saved": 0, "again": 0}
    for model, predict, network in zip(models, predictors, networks):
        saved = probabilities(network.predict, validation)
        if not np.array_equal(saved.argmax(1), probabilities(predict, validation).argmax(1)):
            sys.exit(f"error: {model}: rebuilt with its saved averages, the network does not answer as the saved model")
        averages = network.measure_averages(learnt)
        again = probabilities(lambda batch: network.predict(batch, averages), validation)
        errors = {"saved": int((saved.argmax(1) != labels).sum()), "again": int((again.argmax(1) != labels).sum())}
        for key in total:
            total[key] += errors[key]
        print(f"{model}: saved averages {1 - errors['saved'] / len(labels):.4f} ({errors['saved']} errors); "
              f"measured again {1 - errors['again'] / len(labels):.4f} ({errors['again']} errors); "
              f"{errors['saved'] - errors['again']:+d} images")
    print(f"in all: {total['saved']} errors with the saved averages, {total['again']} measured again; "
          f"{total['saved'] - total['again']:+d} images")


if __name__ == "__main__":
    main()
