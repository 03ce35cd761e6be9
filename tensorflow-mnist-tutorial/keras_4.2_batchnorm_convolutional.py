"""4.2 in Keras: 3.1 with batch normalisation and wider convolutions: about 99.5%; read it beside
mnist_4.2_batchnorm_convolutional.py:

    tf.placeholder X, Y_                -> keras.Input, and the labels of each batch (tf.data)
    tf.Variable W1..W4 (no bias), O1..O4 -> Conv2D and Dense layers with use_bias=False, each followed
                                           by a BatchNormalization layer holding the offset O
    batchnorm(): tf.nn.moments, the     -> BatchNormalization: the batch's mean and variance while
        moving averages, tf.cond              training, its averages of them when testing
    the is_test feed: False or True     -> the training flag Keras passes: fit trains on the batch's
    the pkeep feed: 0.5 or 1.0             statistics with dropout (training=True); the measures
                                           use the averages, without dropout (training=False)
    the averages' updates with the step -> done by the layer in every training step, at the pace
                                           of the optimizer's step count
    the step fed for the learning rate  -> a LearningRateSchedule: Keras gives it the step count
    tf.reduce_max(Y1, ...) for panels   -> a second Model over the same layers, giving Y1..Y4
    sess.run(train_step, feed_dict)     -> fit, with show.callback() between steps for the picture

    X  [batch, 28, 28, 1]
     |  Conv2D 6x6, stride 1, batch norm, ReLU    W1 [6, 6, 1, 24]    O1 [24]
    Y1 [batch, 28, 28, 24]
     |  Conv2D 5x5, stride 2, batch norm, ReLU    W2 [5, 5, 24, 48]   O2 [48]
    Y2 [batch, 14, 14, 48]
     |  Conv2D 4x4, stride 2, batch norm, ReLU    W3 [4, 4, 48, 64]   O3 [64]
    Y3 [batch, 7, 7, 64] -> Flatten -> YY [batch, 7*7*64]
     |  Dense, batch norm, ReLU, Dropout          W4 [3136, 200]      O4 [200]
    Y4 [batch, 200]
     |  Dense + softmax                           W5 [200, 10]        B5 [10]
    Y  [batch, 10]

Panels 4 and 5 show each channel's and each dense neuron's largest output over the batch.
"""
from mnist_tutorial import keras_training  # flags, data and pictures shared by every twin: read it later
import keras
import numpy as np
from keras import layers

args = keras_training.setup(__doc__, iterations=10000)

K, L, M = 24, 48, 64  # output channels of the three convolutional layers
N = 200  # neurons in the fully connected layer
pkeep = 0.5  # the probability that a neuron of the dense layer is kept while training

W = keras.initializers.TruncatedNormal(stddev=0.1)
B = keras.initializers.Constant(0.1)

# 0.0001 + 0.02 * (1/e)^(step/1600), as the original repository's 4.2. The optimizer comes first:
# batch norm's averages follow its step count.
learning_rate = keras_training.LearningRateDecay(start=0.02, floor=0.0001, time_constant=1600)
optimizer = keras.optimizers.Adam(learning_rate, epsilon=1e-8)


def batchnorm():
    """Normalise each neuron (each channel, for a convolution) over the batch, then shift it by
    its offset, which starts at 0.01; no scale, as the graph script's."""
    return keras_training.BatchNormalization(optimizer, offset=0.01)


def conv(channels, patch, stride):
    """A convolution without bias: batch norm's offset takes its place. "same" padding: stride 1
    keeps 28x28, stride 2 gives 14x14."""
    return layers.Conv2D(channels, patch, strides=stride, padding="same", use_bias=False, kernel_initializer=W)


# The functional API: each layer's output has the name the sketch gives it, and panels 4 and 5 read
# Y1 to Y4.
X = keras.Input(shape=(28, 28, 1))
Y1 = layers.ReLU()(batchnorm()(conv(K, 6, 1)(X)))
Y2 = layers.ReLU()(batchnorm()(conv(L, 5, 2)(Y1)))
Y3 = layers.ReLU()(batchnorm()(conv(M, 4, 2)(Y2)))
YY = layers.Flatten()(Y3)
Y4 = layers.ReLU()(batchnorm()(layers.Dense(N, use_bias=False, kernel_initializer=W)(YY)))
Y4d = layers.Dropout(rate=1 - pkeep)(Y4)
Y = layers.Dense(10, activation="softmax", kernel_initializer=W, bias_initializer=B)(Y4d)
model = keras.Model(X, Y)

model.compile(optimizer=optimizer, loss=keras_training.cross_entropy, steps_per_execution=args.steps_per_execution)

# Panels 4 and 5: for each channel or neuron, its largest output over the batch, as tested.
activations = keras.Model(X, [Y1, Y2, Y3, Y4])


def batch_max(images):
    Y1, Y2, Y3, Y4 = (np.asarray(Yn) for Yn in activations(images, training=False))
    conv_max = np.concatenate([Yc.max(axis=(0, 1, 2)) for Yc in (Y1, Y2, Y3)])
    return conv_max, Y4.max(axis=0)


# The run: fit feeds the batches and takes the steps; the callback shows them.
mnist = keras_training.load_mnist(args)  # the graph scripts' MNIST
batches = keras_training.Batches(mnist, args)  # tf.data: 4.2's batches, in 4.2's order
show = keras_training.Show(args, mnist, model, batches, spread=batch_max,
                           panels=("Conv activations, batch max", "Dense activations, batch max"))
model.fit(batches.dataset, steps_per_epoch=args.iterations, shuffle=False, callbacks=[show.callback()], verbose=0)
show.finish(model)  # summary and report; --save-model keeps it as tested: the averages, every neuron
