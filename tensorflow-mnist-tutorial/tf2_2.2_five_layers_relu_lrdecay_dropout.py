"""2.2 in TensorFlow 2's own loop: the Keras layers of keras_2.2, trained by a tf.function that
takes a tf.GradientTape's gradient and applies it, one call per step, as the graph script runs
sess.run(train_step, feed_dict=...). Read it beside mnist_2.2_five_layers_relu_lrdecay_dropout.py:

    tf.placeholder X, Y_, pkeep, step   -> the arguments of train_step(), and training=True
    tf.Variable W1..W5, B1..B5          -> the kernels and biases of five Dense layers
    optimizer.minimize(cross_entropy)   -> inside train_step: the tape records the forward pass,
                                           tape.gradient differentiates the loss, and
                                           optimizer.apply_gradients takes the step
    the step fed for the learning rate  -> a LearningRateSchedule, given the optimizer's step count
    tf.Session and sess.run             -> nothing: TensorFlow 2 runs what it is given at once;
                                           @tf.function traces train_step into a graph once and
                                           runs that graph at every call, as fast as a Session
    sess.run(train_step, feed_dict)     -> train_step(batch_X, batch_Y)
    sess.run([accuracy, ...], as_tested) -> show.measure_batch(): the model called with training=False

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
import tensorflow as tf
from keras import layers

args = keras_training.setup(__doc__, iterations=10000)

L, M, N, O = 200, 100, 60, 30
pkeep = 0.75  # the probability that a neuron is kept while training

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

# 0.0001 + 0.003 * (1/e)^(step/2000), and Adam with TensorFlow 1's epsilon, as in 2.2.
learning_rate = keras_training.LearningRateDecay(start=0.003, floor=0.0001, time_constant=2000)
optimizer = keras.optimizers.Adam(learning_rate, epsilon=1e-8)


@tf.function  # traced into a graph at the first call, then run as one
def train_step(batch_X, batch_Y):
    with tf.GradientTape() as tape:  # records the computation, to differentiate it afterwards
        Y = model(batch_X, training=True)  # dropout on
        cross_entropy = tf.reduce_mean(keras_training.cross_entropy(batch_Y, Y))
    gradients = tape.gradient(cross_entropy, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # and the step count + 1


# The run: the graph script's loop, with train_step() in place of sess.run(train_step, ...).
mnist = keras_training.load_mnist(args)  # mnist.train.next_batch(100): the next 100 images and labels
show = keras_training.Show(args, mnist, model, optimizer=optimizer)  # the lines, the panels, the report
for i in show.steps():  # 0, 1, ..., --iterations; Ctrl-C or closing the window ends the loop
    batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
    if i % args.log_every == 0 or i == args.iterations:  # success on the batch about to be learnt?
        show.measure_batch(i, batch_X, batch_Y)  # every neuron at work, as the graph's as_tested
    if i % args.test_every == 0 or i == args.iterations:  # success on digits it never learns from?
        show.measure_test(i, batch_X)  # the test images, --test-batch-size at a time
    if i < args.iterations:  # the last round only measures
        train_step(batch_X, batch_Y)  # the learning: one small step down the gradient
show.finish(model)  # summary and report; --save-model keeps it as tested
