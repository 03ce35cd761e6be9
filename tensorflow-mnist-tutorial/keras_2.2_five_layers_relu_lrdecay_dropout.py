"""2.2 in Keras: five layers, ReLU, Adam, a decaying learning rate and dropout; read it beside
mnist_2.2_five_layers_relu_lrdecay_dropout.py:

    tf.placeholder X, Y_                -> keras.Input, and the labels of each batch (tf.data)
    tf.Variable W1..W5, B1..B5          -> the kernels and biases of five Dense layers
    tf.nn.relu(tf.matmul(..) + B)       -> Dense(..., activation="relu")
    tf.nn.dropout(Y, rate=1 - pkeep)    -> Dropout(rate=1 - pkeep) after each hidden layer
    the pkeep feed: 0.75 or 1.0         -> the training flag Keras passes: fit trains with dropout
                                           (training=True), the measures run without it
    the step fed for the learning rate  -> a LearningRateSchedule: Keras gives it the step count
    AdamOptimizer(..).minimize(loss)    -> compile(optimizer=Adam(...), loss=...)
    sess.run(train_step, feed_dict)     -> fit, with show.callback() between steps for the picture

    X  [batch, 28, 28, 1] -> Flatten -> XX [batch, 784]
     |  Dense + ReLU + Dropout     W1 [784, 200]  B1 [200]
    Y1 [batch, 200]
     |  Dense + ReLU + Dropout     W2 [200, 100]  B2 [100]
    Y2 [batch, 100]
     |  Dense + ReLU + Dropout     W3 [100, 60]   B3 [60]
    Y3 [batch, 60]
     |  Dense + ReLU + Dropout     W4 [60, 30]    B4 [30]
    Y4 [batch, 30]
     |  Dense + softmax            W5 [30, 10]    B5 [10]
    Y  [batch, 10]
"""
from mnist_tutorial import keras_training  # flags, data and pictures shared by every twin: read it later
import keras
from keras import layers

args = keras_training.setup(__doc__, iterations=10000)

L, M, N, O = 200, 100, 60, 30
pkeep = 0.75  # the probability that a neuron is kept while training

# As in the graph script: weights from a normal distribution cut at two standard deviations
# (0.1), biases at 0.1 so that every ReLU starts switched on.
W = keras.initializers.TruncatedNormal(stddev=0.1)
B = keras.initializers.Constant(0.1)

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),  # X
    layers.Flatten(),  # XX
    layers.Dense(L, activation="relu", kernel_initializer=W, bias_initializer=B),  # W1, B1 -> Y1
    layers.Dropout(rate=1 - pkeep),  # zeroes a random 25% while training, scales the rest by 1/0.75
    layers.Dense(M, activation="relu", kernel_initializer=W, bias_initializer=B),  # W2, B2 -> Y2
    layers.Dropout(rate=1 - pkeep),
    layers.Dense(N, activation="relu", kernel_initializer=W, bias_initializer=B),  # W3, B3 -> Y3
    layers.Dropout(rate=1 - pkeep),
    layers.Dense(O, activation="relu", kernel_initializer=W, bias_initializer=B),  # W4, B4 -> Y4
    layers.Dropout(rate=1 - pkeep),
    layers.Dense(10, activation="softmax", kernel_initializer=W, bias_initializer=B),  # W5, B5 -> Y
])

# 0.0001 + 0.003 * (1/e)^(step/2000): 0.003 at the start, 0.0001 in the end. Adam with
# TensorFlow 1's epsilon (1e-8; Keras's own is 1e-7).
learning_rate = keras_training.LearningRateDecay(start=0.003, floor=0.0001, time_constant=2000)
model.compile(optimizer=keras.optimizers.Adam(learning_rate, epsilon=1e-8), loss=keras_training.cross_entropy,
              steps_per_execution=args.steps_per_execution)

# The run: fit feeds the batches and takes the steps; the callback shows them.
mnist = keras_training.load_mnist(args)  # the graph scripts' MNIST
batches = keras_training.Batches(mnist, args)  # tf.data: 2.2's batches, in 2.2's order
show = keras_training.Show(args, mnist, model, batches)  # the progress lines, the six panels, the report
model.fit(batches.dataset, steps_per_epoch=args.iterations, shuffle=False, callbacks=[show.callback()], verbose=0)
show.finish(model)  # summary and report; --save-model keeps it as tested, every neuron at work
