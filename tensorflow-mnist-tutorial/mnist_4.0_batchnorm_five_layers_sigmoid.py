"""4.0: batch normalisation brings 2.0's sigmoid network to about 98%, and fast.

2.0's sigmoids learned slowly: a sigmoid is flat away from zero, so once a layer's weighted sums
drift far from zero its gradients vanish. Batch normalisation keeps them near zero: for every
neuron, it subtracts the mean of its weighted sums over the batch and divides by their standard
deviation, then lets the network choose where to put them with two learned values per neuron, a
Scale and an Offset (which replaces the bias). Well-behaved inputs let every layer learn at once.
Also changed from 2.0, as in the original repository's 4.0: Adam instead of gradient descent, and
a learning rate of 0.03 decaying to 0.0001 (2.1's decay, ten times larger at first, which batch
norm keeps from blowing up). README_BATCHNORM.md explains more, and why testing uses averages.

    X  [batch, 28, 28, 1] -> reshape -> XX [batch, 784]
     |  fully connected, batch norm, sigmoid   W1 [784, 200]  S1, O1 [200]
    Y1 [batch, 200]
     |  fully connected, batch norm, sigmoid   W2 [200, 100]  S2, O2 [100]
    Y2 [batch, 100]
     |  fully connected, batch norm, sigmoid   W3 [100, 60]   S3, O3 [60]
    Y3 [batch, 60]
     |  fully connected, batch norm, sigmoid   W4 [60, 30]    S4, O4 [30]
    Y4 [batch, 30]
     |  fully connected + softmax              W5 [30, 10]    B5 [10]
    Y  [batch, 10]

Panels 4 and 5 show, for every neuron, its largest normalised input and its largest output over
the batch: with batch norm they stay in a narrow, steady range from the first steps.
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
S1 = tf.Variable(tf.ones([L]))  # batch norm's scale and offset, one of each per neuron
O1 = tf.Variable(tf.zeros([L]))
W2 = tf.Variable(tf.truncated_normal([L, M], stddev=0.1))
S2 = tf.Variable(tf.ones([M]))
O2 = tf.Variable(tf.zeros([M]))
W3 = tf.Variable(tf.truncated_normal([M, N], stddev=0.1))
S3 = tf.Variable(tf.ones([N]))
O3 = tf.Variable(tf.zeros([N]))
W4 = tf.Variable(tf.truncated_normal([N, O], stddev=0.1))
S4 = tf.Variable(tf.ones([O]))
O4 = tf.Variable(tf.zeros([O]))
W5 = tf.Variable(tf.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.zeros([10]))

moving_average_updates = []  # batch norm's bookkeeping, run with every training step


def batchnorm(Ylogits, Offset, Scale):
    """Normalise each neuron's weighted sums over the batch, then scale and shift them."""
    batch_mean, batch_variance = tf.nn.moments(Ylogits, axes=[0])  # per neuron, over the batch
    # At test time a digit's prediction must not depend on the other digits in its batch, so
    # testing uses averages of the batch statistics seen in training. Passing the step makes the
    # first averages forget their zero starting values quickly.
    averages = tf.train.ExponentialMovingAverage(0.999, step)
    moving_average_updates.append(averages.apply([batch_mean, batch_variance]))
    mean = tf.cond(is_test, lambda: averages.average(batch_mean), lambda: batch_mean)
    variance = tf.cond(is_test, lambda: averages.average(batch_variance), lambda: batch_variance)
    return tf.nn.batch_normalization(Ylogits, mean, variance, Offset, Scale, variance_epsilon=1e-5)


XX = tf.reshape(X, [-1, 784])
Y1l = batchnorm(tf.matmul(XX, W1), O1, S1)  # no bias: the offset takes its place
Y1 = tf.nn.sigmoid(Y1l)
Y2l = batchnorm(tf.matmul(Y1, W2), O2, S2)
Y2 = tf.nn.sigmoid(Y2l)
Y3l = batchnorm(tf.matmul(Y2, W3), O3, S3)
Y3 = tf.nn.sigmoid(Y3l)
Y4l = batchnorm(tf.matmul(Y3, W4), O4, S4)
Y4 = tf.nn.sigmoid(Y4l)
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
