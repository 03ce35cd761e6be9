"""3.1 in Keras: three convolutional layers, then a dense layer with dropout: about 99.2%; read it
beside mnist_3.1_convolutional_bigger_dropout.py:

    tf.placeholder X, Y_                -> keras.Input, and the labels of each batch (tf.data)
    tf.Variable W1..W5, B1..B5          -> the kernels and biases of three Conv2D and two Dense layers
    tf.nn.relu(tf.nn.conv2d(Y, W,       -> Conv2D(channels, patch, strides=s, padding="same",
        strides=[1, s, s, 1],                    activation="relu")
        padding="SAME") + B)
    tf.reshape(Y3, [-1, 7 * 7 * M])     -> Flatten
    tf.nn.dropout(Y4, rate=1 - pkeep)   -> Dropout(rate=1 - pkeep) after the dense layer
    the pkeep feed: 0.75 or 1.0         -> the training flag Keras passes: fit trains with dropout
                                           (training=True), the measures run without it
    the step fed for the learning rate  -> a LearningRateSchedule: Keras gives it the step count
    AdamOptimizer(..).minimize(loss)    -> compile(optimizer=Adam(...), loss=...)
    sess.run(train_step, feed_dict)     -> fit, with show.callback() between steps for the picture

    X  [batch, 28, 28, 1]
     |  Conv2D 6x6, stride 1, ReLU     W1 [6, 6, 1, 6]    B1 [6]
    Y1 [batch, 28, 28, 6]
     |  Conv2D 5x5, stride 2, ReLU     W2 [5, 5, 6, 12]   B2 [12]
    Y2 [batch, 14, 14, 12]
     |  Conv2D 4x4, stride 2, ReLU     W3 [4, 4, 12, 24]  B3 [24]
    Y3 [batch, 7, 7, 24] -> Flatten -> YY [batch, 7*7*24]
     |  Dense + ReLU + Dropout         W4 [1176, 200]     B4 [200]
    Y4 [batch, 200]
     |  Dense + softmax                W5 [200, 10]       B5 [10]
    Y  [batch, 10]
"""
from mnist_tutorial import keras_training  # flags, data and pictures shared by every twin: read it later
import keras
from keras import layers

args = keras_training.setup(__doc__, iterations=10000)

K, L, M = 6, 12, 24  # output channels of the three convolutional layers
N = 200  # neurons in the fully connected layer
pkeep = 0.75  # the probability that a neuron of the dense layer is kept while training

# As in the graph script: weights from a normal distribution cut at two standard deviations
# (0.1), biases at 0.1 so that every ReLU starts switched on.
W = keras.initializers.TruncatedNormal(stddev=0.1)
B = keras.initializers.Constant(0.1)

# strides=s: move the patch s pixels at a time; "same" padding extends the image's blank border so
# that stride 1 keeps 28x28 and stride 2 gives 14x14.
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),  # X
    layers.Conv2D(K, 6, strides=1, padding="same", activation="relu", kernel_initializer=W, bias_initializer=B),  # Y1
    layers.Conv2D(L, 5, strides=2, padding="same", activation="relu", kernel_initializer=W, bias_initializer=B),  # Y2
    layers.Conv2D(M, 4, strides=2, padding="same", activation="relu", kernel_initializer=W, bias_initializer=B),  # Y3
    layers.Flatten(),  # YY: every output of the last convolution feeds every neuron
    layers.Dense(N, activation="relu", kernel_initializer=W, bias_initializer=B),  # W4, B4 -> Y4
    layers.Dropout(rate=1 - pkeep),  # only here: the convolutions' weights are shared, dropout hardly helps them
    layers.Dense(10, activation="softmax", kernel_initializer=W, bias_initializer=B),  # W5, B5 -> Y
])

# 0.0001 + 0.003 * (1/e)^(step/2000): 0.003 at the start, 0.0001 in the end. Adam with
# TensorFlow 1's epsilon (1e-8; Keras's own is 1e-7).
learning_rate = keras_training.LearningRateDecay(start=0.003, floor=0.0001, time_constant=2000)
model.compile(optimizer=keras.optimizers.Adam(learning_rate, epsilon=1e-8), loss=keras_training.cross_entropy,
              steps_per_execution=args.steps_per_execution)

# The run: fit feeds the batches and takes the steps; the callback shows them.
mnist = keras_training.load_mnist(args)  # the graph scripts' MNIST
batches = keras_training.Batches(mnist, args)  # tf.data: 3.1's batches, in 3.1's order
show = keras_training.Show(args, mnist, model, batches)  # the progress lines, the six panels, the report
model.fit(batches.dataset, steps_per_epoch=args.iterations, shuffle=False, callbacks=[show.callback()], verbose=0)
show.finish(model)  # summary and report; --save-model keeps it as tested, every neuron at work
