"""The network: the tutorial's batch-normalised convolutional network (mnist_4.2), as a function.

    images [batch, 28, 28, 1]
     |  convolution 6x6, stride 1, batch norm, ReLU    conv1/W [6, 6, 1, conv1]
     |  convolution 5x5, stride 2, batch norm, ReLU    conv2/W [5, 5, conv1, conv2]
     |  convolution 4x4, stride 2, batch norm, ReLU    conv3/W [4, 4, conv2, conv3]
     |  reshape to [batch, 7*7*conv3]
     |  fully connected, batch norm, ReLU, dropout     dense/W [7*7*conv3, dense]
     |  fully connected                                softmax/W [dense, 10], softmax/B [10]
    logits [batch, 10]

The training tower and the evaluation or serving tower are built by two calls that share the
variables (tf.AUTO_REUSE); they differ in batch normalisation (batch statistics and updates of the
moving averages in training, the moving averages otherwise) and in dropout (training only).
"""
import tensorflow.compat.v1 as tf


def logits(images, hp, training, step=None):
    """The model's logits for images [batch, 28, 28, 1] in [0, 1]; hp holds the hyperparameters.

    In training, step is the global step (it warms up the moving averages) and the updates of the
    moving averages are added to tf.GraphKeys.UPDATE_OPS: run them with every training step.
    """
    with tf.variable_scope("mnist", reuse=tf.AUTO_REUSE):
        x = images
        layers = [("conv1", 6, hp.conv1, 1), ("conv2", 5, hp.conv2, 2), ("conv3", 4, hp.conv3, 2)]
        for name, patch, channels, stride in layers:
            with tf.variable_scope(name):
                W = weights("W", [patch, patch, int(x.shape[-1]), channels])
                x = tf.nn.conv2d(x, W, strides=[1, stride, stride, 1], padding="SAME")
                x = tf.nn.relu(batch_norm(x, hp, training, step, axes=[0, 1, 2]))
        x = tf.reshape(x, [-1, 7 * 7 * hp.conv3])
        with tf.variable_scope("dense"):
            W = weights("W", [7 * 7 * hp.conv3, hp.dense])
            x = tf.nn.relu(batch_norm(tf.matmul(x, W), hp, training, step, axes=[0]))
            if training:
                x = tf.nn.dropout(x, rate=1 - hp.pkeep)
        with tf.variable_scope("softmax"):
            W = weights("W", [hp.dense, 10])
            B = tf.get_variable("B", [10], initializer=tf.constant_initializer(0.1))
            return tf.matmul(x, W) + B


def weights(name, shape):
    return tf.get_variable(name, shape, initializer=tf.truncated_normal_initializer(stddev=0.1))


def batch_norm(x, hp, training, step, axes):
    """Normalise each channel to mean 0 and variance 1, then shift it by a learned offset.

    The offset replaces the layer's bias; there is no learned scale because a ReLU follows.
    """
    channels = int(x.shape[-1])
    offset = tf.get_variable("offset", [channels], initializer=tf.constant_initializer(0.01))
    moving_mean = tf.get_variable("moving_mean", [channels], initializer=tf.zeros_initializer(),
                                  trainable=False)
    moving_variance = tf.get_variable("moving_variance", [channels], initializer=tf.ones_initializer(),
                                      trainable=False)
    if training:
        mean, variance = tf.nn.moments(x, axes)
        # Early on, (1 + step) / (10 + step) < bn_decay: the averages forget their initial values fast.
        step = tf.cast(step, tf.float32)
        rate = 1.0 - tf.minimum(hp.bn_decay, (1.0 + step) / (10.0 + step))
        tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, moving_mean.assign_sub((moving_mean - mean) * rate))
        tf.add_to_collection(tf.GraphKeys.UPDATE_OPS,
                             moving_variance.assign_sub((moving_variance - variance) * rate))
    else:
        mean, variance = moving_mean, moving_variance
    return tf.nn.batch_normalization(x, mean, variance, offset, None, variance_epsilon=1e-5)
