"""3.0: convolutions in place of 2.2's first dense layers see shapes, not just pixels: nearly 99%.

Flattening an image into 784 pixels throws away which pixels are neighbours. A convolutional
neuron looks at a small patch only, and every neuron of a channel shares the same weights as the
patch slides over the image: it becomes a detector for one small shape, wherever it is. Sliding
with a stride of 2 halves the width and height, which replaces max-pooling. Each layer has about
half the neurons of the one before: 28x28x4 = 3136, 14x14x8 = 1568, 7x7x12 = 588, then 200.
As the codelab asks, 2.2's dropout is left out (3.1 brings it back); 2.1's learning-rate decay,
Adam and the rest of the training stay.

    X  [batch, 28, 28, 1]
     |  convolution 5x5, stride 1, ReLU    W1 [5, 5, 1, 4]    B1 [4]
    Y1 [batch, 28, 28, 4]
     |  convolution 4x4, stride 2, ReLU    W2 [4, 4, 4, 8]    B2 [8]
    Y2 [batch, 14, 14, 8]
     |  convolution 4x4, stride 2, ReLU    W3 [4, 4, 8, 12]   B3 [12]
    Y3 [batch, 7, 7, 12] -> reshape -> YY [batch, 7*7*12]
     |  fully connected + ReLU             W4 [588, 200]      B4 [200]
    Y4 [batch, 200]
     |  fully connected                    W5 [200, 10]       B5 [10]
    Ylogits [batch, 10] -> softmax -> Y [batch, 10]
"""
import math

from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=10000)

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])
step = tf.placeholder(tf.int32)

K, L, M = 4, 8, 12  # output channels of the three convolutional layers
N = 200  # neurons in the fully connected layer

# A convolution's weights: [patch height, patch width, input channels, output channels].
W1 = tf.Variable(tf.truncated_normal([5, 5, 1, K], stddev=0.1))
B1 = tf.Variable(tf.ones([K]) / 10)  # one bias per output channel
W2 = tf.Variable(tf.truncated_normal([4, 4, K, L], stddev=0.1))
B2 = tf.Variable(tf.ones([L]) / 10)
W3 = tf.Variable(tf.truncated_normal([4, 4, L, M], stddev=0.1))
B3 = tf.Variable(tf.ones([M]) / 10)
W4 = tf.Variable(tf.truncated_normal([7 * 7 * M, N], stddev=0.1))
B4 = tf.Variable(tf.ones([N]) / 10)
W5 = tf.Variable(tf.truncated_normal([N, 10], stddev=0.1))
B5 = tf.Variable(tf.ones([10]) / 10)

# strides=[1, s, s, 1]: move the patch s pixels at a time across height and width. SAME padding
# extends the image's blank border so that stride 1 keeps 28x28 and stride 2 gives 14x14.
Y1 = tf.nn.relu(tf.nn.conv2d(X, W1, strides=[1, 1, 1, 1], padding="SAME") + B1)
Y2 = tf.nn.relu(tf.nn.conv2d(Y1, W2, strides=[1, 2, 2, 1], padding="SAME") + B2)
Y3 = tf.nn.relu(tf.nn.conv2d(Y2, W3, strides=[1, 2, 2, 1], padding="SAME") + B3)

YY = tf.reshape(Y3, [-1, 7 * 7 * M])  # every output of the last convolution feeds every neuron
Y4 = tf.nn.relu(tf.matmul(YY, W4) + B4)
Ylogits = tf.matmul(Y4, W5) + B5
Y = tf.nn.softmax(Ylogits)

cross_entropy = tf.nn.softmax_cross_entropy_with_logits_v2(logits=Ylogits, labels=Y_)
cross_entropy = tf.reduce_mean(cross_entropy) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

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
