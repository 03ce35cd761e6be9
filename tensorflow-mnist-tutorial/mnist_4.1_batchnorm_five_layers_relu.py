"""4.1: batch normalisation on 2.1's ReLU network: about 98.5%, and steadier.

4.0 with ReLU instead of sigmoid. Batch normalisation keeps every neuron's weighted sums centred
and of unit spread, so no layer sits in a dead or exploding regime, whatever the learning rate's
early size. A ReLU does not care about the scale of its input (scaling its input scales its
output, and the next layer's weights can undo that), so the Scale goes; the Offset stays, in place
of the bias. README_BATCHNORM.md explains more.

    X  [batch, 28, 28, 1] -> reshape -> XX [batch, 784]
     |  fully connected, batch norm, ReLU      W1 [784, 200]  O1 [200]
    Y1 [batch, 200]
     |  fully connected, batch norm, ReLU      W2 [200, 100]  O2 [100]
    Y2 [batch, 100]
     |  fully connected, batch norm, ReLU      W3 [100, 60]   O3 [60]
    Y3 [batch, 60]
     |  fully connected, batch norm, ReLU      W4 [60, 30]    O4 [30]
    Y4 [batch, 30]
     |  fully connected + softmax              W5 [30, 10]    B5 [10]
    Y  [batch, 10]

Panels 4 and 5 show, for every neuron, its largest normalised input and its largest output over
the batch: with batch norm they stay in a steady range, and no neuron dies (stuck at 0).
"""
import math

from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=10000)

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])
step = tf.placeholder(tf.int32)
is_test = tf.placeholder(tf.bool)  # batch norm: False in training, True in testing

L, M, N, O = 200, 100, 60, 30

W1 = tf.Variable(tf.truncated_normal([784, L], stddev=0.1))
O1 = tf.Variable(tf.ones([L]) / 10)  # batch norm's offset, one per neuron; small and positive for ReLU
W2 = tf.Variable(tf.truncated_normal([L, M], stddev=0.1))
O2 = tf.Variable(tf.ones([M]) / 10)
W3 = tf.Variable(tf.truncated_normal([M, N], stddev=0.1))
O3 = tf.Variable(tf.ones([N]) / 10)
W4 = tf.Variable(tf.truncated_normal([N, O], stddev=0.1))
O4 = tf.Variable(tf.ones([O]) / 10)
W5 = tf.Variable(tf.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.zeros([10]))

moving_average_updates = []  # batch norm's bookkeeping, run with every training step


def batchnorm(Ylogits, Offset):
    """Normalise each neuron's weighted sums over the batch, then shift them by the offset."""
    batch_mean, batch_variance = tf.nn.moments(Ylogits, axes=[0])  # per neuron, over the batch
    # At test time a digit's prediction must not depend on the other digits in its batch, so
    # testing uses averages of the batch statistics seen in training. Passing the step makes the
    # first averages forget their zero starting values quickly.
    averages = tf.train.ExponentialMovingAverage(0.999, step)
    moving_average_updates.append(averages.apply([batch_mean, batch_variance]))
    mean = tf.cond(is_test, lambda: averages.average(batch_mean), lambda: batch_mean)
    variance = tf.cond(is_test, lambda: averages.average(batch_variance), lambda: batch_variance)
    return tf.nn.batch_normalization(Ylogits, mean, variance, Offset, None, variance_epsilon=1e-5)


XX = tf.reshape(X, [-1, 784])
Y1l = batchnorm(tf.matmul(XX, W1), O1)  # no bias: the offset takes its place
Y1 = tf.nn.relu(Y1l)
Y2l = batchnorm(tf.matmul(Y1, W2), O2)
Y2 = tf.nn.relu(Y2l)
Y3l = batchnorm(tf.matmul(Y2, W3), O3)
Y3 = tf.nn.relu(Y3l)
Y4l = batchnorm(tf.matmul(Y3, W4), O4)
Y4 = tf.nn.relu(Y4l)
Ylogits = tf.matmul(Y4, W5) + B5
Y = tf.nn.softmax(Ylogits)

cross_entropy = tf.nn.softmax_cross_entropy_with_logits_v2(logits=Ylogits, labels=Y_)
cross_entropy = tf.reduce_mean(cross_entropy) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

# Batch norm tolerates a much larger learning rate: 0.03 decaying to 0.0001.
learning_rate = 0.0001 + tf.train.exponential_decay(0.03, step, 1000, 1 / math.e)
with tf.control_dependencies(moving_average_updates):  # update the averages at every step
    train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)

# Panels 4 and 5: for each neuron, its largest value over the batch.
normalised_max = tf.concat([tf.reduce_max(Yl, axis=0) for Yl in (Y1l, Y2l, Y3l, Y4l)], 0)
activation_max = tf.concat([tf.reduce_max(Yn, axis=0) for Yn in (Y1, Y2, Y3, Y4)], 0)

# The run. Up to here nothing was computed: the lines above only describe a graph. A Session runs
# it, with real images fed into the placeholders through feed_dict.
mnist = training.load_mnist(args)  # mnist.train.next_batch(100): the next 100 images and labels
show = training.Show(args, mnist, panels=("Normalised sums, batch max", "Activations, batch max"))
with tf.Session(config=args.session_config) as sess:
    sess.run(tf.global_variables_initializer())  # the weights and offsets take their starting values
    for i in show.steps():  # 0, 1, ..., --iterations; Ctrl-C or closing the window ends the loop
        batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
        train_data = {X: batch_X, Y_: batch_Y, step: i, is_test: False}  # the batch's own statistics
        as_tested = {**train_data, is_test: True}  # the same batch, measured with the moving averages
        if i % args.log_every == 0 or i == args.iterations:  # success on the batch about to be learnt?
            a, c, probabilities, lr = sess.run([accuracy, cross_entropy, Y, learning_rate], as_tested)
            show.training(i, a, c, batch_X, batch_Y, probabilities, lr)
        if i % args.test_every == 0 or i == args.iterations:  # success on digits it never learns from?
            test_data = {X: mnist.test.images, Y_: mnist.test.labels, is_test: True}
            a, c, probabilities = training.run_in_slices(sess, [accuracy, cross_entropy, Y], test_data,
                                                         args.test_batch_size)
            normalised, activations = sess.run([normalised_max, activation_max], as_tested)
            show.test(i, a, c, probabilities, normalised, activations)
        if i < args.iterations:  # the last round only measures
            sess.run(train_step, feed_dict=train_data)  # a step down the gradient; the averages follow
    show.finish(sess, X, Y, {is_test: True})  # summary and report; --save-model keeps it as tested
