"""2.0: 1.0's one layer becomes five fully connected layers with sigmoid activations: about 97%.

Each hidden layer computes weighted sums of the previous layer's outputs and squashes them with a
sigmoid; only the last layer uses softmax. More layers means more weights, which must start at
small random values: if they all started equal, every neuron of a layer would learn the same thing.

    X  [batch, 28, 28, 1] -> reshape -> XX [batch, 784]
     |  fully connected + sigmoid      W1 [784, 200]  B1 [200]
    Y1 [batch, 200]
     |  fully connected + sigmoid      W2 [200, 100]  B2 [100]
    Y2 [batch, 100]
     |  fully connected + sigmoid      W3 [100, 60]   B3 [60]
    Y3 [batch, 60]
     |  fully connected + sigmoid      W4 [60, 30]    B4 [30]
    Y4 [batch, 30]
     |  fully connected + softmax      W5 [30, 10]    B5 [10]
    Y  [batch, 10]
"""
from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=10000)

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])

# Layer sizes shrink from 784 pixels to 10 digits.
L, M, N, O = 200, 100, 60, 30

# Weights start as small random values: truncated_normal draws from a normal distribution and
# redraws anything beyond two standard deviations.
W1 = tf.Variable(tf.truncated_normal([784, L], stddev=0.1))
B1 = tf.Variable(tf.zeros([L]))
W2 = tf.Variable(tf.truncated_normal([L, M], stddev=0.1))
B2 = tf.Variable(tf.zeros([M]))
W3 = tf.Variable(tf.truncated_normal([M, N], stddev=0.1))
B3 = tf.Variable(tf.zeros([N]))
W4 = tf.Variable(tf.truncated_normal([N, O], stddev=0.1))
B4 = tf.Variable(tf.zeros([O]))
W5 = tf.Variable(tf.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.zeros([10]))

XX = tf.reshape(X, [-1, 784])
Y1 = tf.nn.sigmoid(tf.matmul(XX, W1) + B1)
Y2 = tf.nn.sigmoid(tf.matmul(Y1, W2) + B2)
Y3 = tf.nn.sigmoid(tf.matmul(Y2, W3) + B3)
Y4 = tf.nn.sigmoid(tf.matmul(Y3, W4) + B4)
Y = tf.nn.softmax(tf.matmul(Y4, W5) + B5)

cross_entropy = -tf.reduce_mean(tf.reduce_sum(Y_ * tf.log(Y), axis=1)) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

# Sigmoids pass back only a fraction of the gradient through each layer, so plain gradient descent
# needs a larger step here than in 1.0. Even so, watch the first thousand steps barely move: 2.1
# fixes that.
learning_rate = 0.01
train_step = tf.train.GradientDescentOptimizer(learning_rate).minimize(cross_entropy)

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
        train_data = {X: batch_X, Y_: batch_Y}
        if i % args.log_every == 0 or i == args.iterations:  # success on the batch about to be learnt?
            a, c, probabilities = sess.run([accuracy, cross_entropy, Y], train_data)
            show.training(i, a, c, batch_X, batch_Y, probabilities, learning_rate)
        if i % args.test_every == 0 or i == args.iterations:  # success on digits it never learns from?
            test_data = {X: mnist.test.images, Y_: mnist.test.labels}
            a, c, probabilities = training.run_in_slices(sess, [accuracy, cross_entropy, Y], test_data,
                                                         args.test_batch_size)
            weights, biases = sess.run([allweights, allbiases])
            show.test(i, a, c, probabilities, weights, biases)
        if i < args.iterations:  # the last round only measures
            sess.run(train_step, feed_dict=train_data)  # the learning: one small step down the gradient
    show.finish(sess, X, Y)  # summary and report; --save-model keeps it as tested
