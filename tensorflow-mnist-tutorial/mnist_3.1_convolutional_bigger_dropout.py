"""3.1: 3.0 with bigger patches, more channels and dropout on the dense layer: about 99.2%.

3.0 has too few patches to describe every shape digits are made of, and its test loss climbs
while its accuracy stalls below 99%. A good way to size a network: make it a bit too big, then
stop it overfitting with dropout. Here the patches grow (6x6, 5x5, 4x4), the channels go from
4, 8, 12 to 6, 12, 24, and the 200 dense neurons get dropout (pkeep 0.75). The convolutional
layers get none, as the codelab explains: their weights are shared across the whole image, so
dropping single outputs there hardly constrains them. These are the codelab's own choices.

    X  [batch, 28, 28, 1]
     |  convolution 6x6, stride 1, ReLU    W1 [6, 6, 1, 6]    B1 [6]
    Y1 [batch, 28, 28, 6]
     |  convolution 5x5, stride 2, ReLU    W2 [5, 5, 6, 12]   B2 [12]
    Y2 [batch, 14, 14, 12]
     |  convolution 4x4, stride 2, ReLU    W3 [4, 4, 12, 24]  B3 [24]
    Y3 [batch, 7, 7, 24] -> reshape -> YY [batch, 7*7*24]
     |  fully connected + ReLU + dropout   W4 [1176, 200]     B4 [200]
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
pkeep = tf.placeholder(tf.float32)  # dropout: 0.75 training, 1 testing

K, L, M = 6, 12, 24  # output channels of the three convolutional layers
N = 200  # neurons in the fully connected layer

# A convolution's weights: [patch height, patch width, input channels, output channels].
W1 = tf.Variable(tf.truncated_normal([6, 6, 1, K], stddev=0.1))
B1 = tf.Variable(tf.ones([K]) / 10)  # one bias per output channel
W2 = tf.Variable(tf.truncated_normal([5, 5, K, L], stddev=0.1))
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
Y4d = tf.nn.dropout(Y4, rate=1 - pkeep)
Ylogits = tf.matmul(Y4d, W5) + B5
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
        train_data = {X: batch_X, Y_: batch_Y, step: i, pkeep: 0.75}  # drop a quarter of the neurons
        as_tested = {**train_data, pkeep: 1.0}  # the same batch, measured with every neuron
        if i % args.log_every == 0 or i == args.iterations:  # success on the batch about to be learnt?
            a, c, probabilities, lr = sess.run([accuracy, cross_entropy, Y, learning_rate], as_tested)
            show.training(i, a, c, batch_X, batch_Y, probabilities, lr)
        if i % args.test_every == 0 or i == args.iterations:  # success on digits it never learns from?
            test_data = {X: mnist.test.images, Y_: mnist.test.labels, pkeep: 1.0}  # every neuron at work
            a, c, probabilities = training.run_in_slices(sess, [accuracy, cross_entropy, Y], test_data,
                                                         args.test_batch_size)
            weights, biases = sess.run([allweights, allbiases])
            show.test(i, a, c, probabilities, weights, biases)
        if i < args.iterations:  # the last round only measures
            sess.run(train_step, feed_dict=train_data)  # the learning: one small step down the gradient
    show.finish(sess, X, Y, {pkeep: 1.0})  # summary and report; --save-model keeps it as tested
