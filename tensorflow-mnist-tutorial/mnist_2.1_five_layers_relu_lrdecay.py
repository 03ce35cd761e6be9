"""2.1: 2.0's five layers with ReLU, Adam and a decaying learning rate reach about 98%.

Four changes from 2.0, each a cure for a problem of deep networks:
  - ReLU instead of sigmoid: its gradient does not fade away through the layers. Biases start at
    0.1 so that every neuron begins in ReLU's active range.
  - Adam instead of plain gradient descent: momentum carries it over flat regions and saddle points.
  - The learning rate decays from 0.003 to 0.0001: fast at first, then fine steps that stop the
    test accuracy from jumping around.
  - softmax_cross_entropy_with_logits: computes softmax and log together, so log(0) cannot
    turn the loss into NaN.

    X  [batch, 28, 28, 1] -> reshape -> XX [batch, 784]
     |  fully connected + ReLU         W1 [784, 200]  B1 [200]
    Y1 [batch, 200]
     |  fully connected + ReLU         W2 [200, 100]  B2 [100]
    Y2 [batch, 100]
     |  fully connected + ReLU         W3 [100, 60]   B3 [60]
    Y3 [batch, 60]
     |  fully connected + ReLU         W4 [60, 30]    B4 [30]
    Y4 [batch, 30]
     |  fully connected                W5 [30, 10]    B5 [10]
    Ylogits [batch, 10] -> softmax -> Y [batch, 10]
"""
import math

from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=10000)

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])
step = tf.placeholder(tf.int32)  # the training step, fed at every run: the learning rate depends on it

L, M, N, O = 200, 100, 60, 30

W1 = tf.Variable(tf.truncated_normal([784, L], stddev=0.1))
B1 = tf.Variable(tf.ones([L]) / 10)
W2 = tf.Variable(tf.truncated_normal([L, M], stddev=0.1))
B2 = tf.Variable(tf.ones([M]) / 10)
W3 = tf.Variable(tf.truncated_normal([M, N], stddev=0.1))
B3 = tf.Variable(tf.ones([N]) / 10)
W4 = tf.Variable(tf.truncated_normal([N, O], stddev=0.1))
B4 = tf.Variable(tf.ones([O]) / 10)
W5 = tf.Variable(tf.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.ones([10]) / 10)

XX = tf.reshape(X, [-1, 784])
Y1 = tf.nn.relu(tf.matmul(XX, W1) + B1)
Y2 = tf.nn.relu(tf.matmul(Y1, W2) + B2)
Y3 = tf.nn.relu(tf.matmul(Y2, W3) + B3)
Y4 = tf.nn.relu(tf.matmul(Y3, W4) + B4)
Ylogits = tf.matmul(Y4, W5) + B5  # the weighted sums before softmax are called logits
Y = tf.nn.softmax(Ylogits)

cross_entropy = tf.nn.softmax_cross_entropy_with_logits_v2(logits=Ylogits, labels=Y_)
cross_entropy = tf.reduce_mean(cross_entropy) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

# 0.0001 + 0.003 * (1/e)^(step/2000): 0.003 at the start, 0.0001 in the end.
learning_rate = 0.0001 + tf.train.exponential_decay(0.003, step, 2000, 1 / math.e)
train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)

# Panels 4 and 5 show the spread of all the weights and of all the biases as training goes on.
allweights = tf.concat([tf.reshape(W, [-1]) for W in (W1, W2, W3, W4, W5)], 0)
allbiases = tf.concat([tf.reshape(B, [-1]) for B in (B1, B2, B3, B4, B5)], 0)

# The run. Up to here nothing was computed: the lines above only describe a graph. A Session runs
# it, with real images fed into the placeholders through feed_dict.
mnist = training.load_mnist(args)  # mnist.train.next_batch(100): the next 100 images and labels
show = training.Show(args, mnist)  # the progress lines, the six panels, the report at the end
with tf.Session(config=args.session_config) as sess:
    sess.run(tf.global_variables_initializer())  # the weights and biases take their starting values
    for i in show.steps():  # 0, 1, ..., --iterations; Ctrl-C or closing the window ends the loop
        batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
        train_data = {X: batch_X, Y_: batch_Y, step: i}  # the step sets the learning rate
        if i % args.log_every == 0 or i == args.iterations:  # success on the batch about to be learnt?
            a, c, probabilities, lr = sess.run([accuracy, cross_entropy, Y, learning_rate], train_data)
            show.training(i, a, c, batch_X, batch_Y, probabilities, lr)
        if i % args.test_every == 0 or i == args.iterations:  # success on digits it never learns from?
            test_data = {X: mnist.test.images, Y_: mnist.test.labels}
            a, c, probabilities = training.run_in_slices(sess, [accuracy, cross_entropy, Y], test_data,
                                                         args.test_batch_size)
            weights, biases = sess.run([allweights, allbiases])
            show.test(i, a, c, probabilities, weights, biases)
        if i < args.iterations:  # the last round only measures
            sess.run(train_step, feed_dict=train_data)  # the learning: one small step down the gradient
    show.finish(sess, X, Y)  # summary and report; --save-model keeps it as tested
