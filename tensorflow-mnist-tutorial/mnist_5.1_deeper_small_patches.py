"""5.1: 5.0 with a deeper network of small 3x3 patches, and half the weights.

5.0 keeps most of its 708,000 weights in one dense layer (3136 x 200), where memorising happens.
Here two 3x3 convolutions in a row see a 5x5 area, as one 5x5 convolution would, with fewer
weights and one more ReLU; a 5x5 convolution of stride 2 then halves the image, and dropout
follows. Twice; then a 4x4 convolution without padding turns the last 4x4 image into 128
numbers, and 128 x 10 weights read the digit from them: 325,000 weights in eight layers, the first
seven batch-normalised. Dropout (pkeep 0.6) now follows the two halving convolutions and the 128
numbers, not the dense layer that is gone: unlike 3.1's few channels, each of their 32 or 64
channels sums up a whole region. The learning rate starts at Adam's usual 0.001 and shrinks by
5% every epoch (600 steps).

    X  [batch, 28, 28, 1]   in training: shifted, turned and zoomed at random, as in 5.0
    Y1 [batch, 26, 26, 32]  convolution 3x3, no padding          W1 [3, 3, 1, 32]    O1 [32]
    Y2 [batch, 24, 24, 32]  convolution 3x3, no padding          W2 [3, 3, 32, 32]   O2 [32]
    Y3 [batch, 12, 12, 32]  convolution 5x5, stride 2, dropout   W3 [5, 5, 32, 32]   O3 [32]
    Y4 [batch, 10, 10, 64]  convolution 3x3, no padding          W4 [3, 3, 32, 64]   O4 [64]
    Y5 [batch, 8, 8, 64]    convolution 3x3, no padding          W5 [3, 3, 64, 64]   O5 [64]
    Y6 [batch, 4, 4, 64]    convolution 5x5, stride 2, dropout   W6 [5, 5, 64, 64]   O6 [64]
    Y7 [batch, 1, 1, 128]   convolution 4x4, no padding          W7 [4, 4, 64, 128]  O7 [128]
    YY [batch, 128] -> dropout -> fully connected                W8 [128, 10]        B8 [10]
    Ylogits [batch, 10] -> softmax -> Y [batch, 10]
Every convolution is followed by batch norm (with its offset O) and ReLU. Panels 4 and 5 show,
for every channel and every one of the 128 numbers, its largest output over the batch.
"""
import math

from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=30000, test_every=500)  # 61 test passes, not 301

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])
step = tf.placeholder(tf.int32)
is_test = tf.placeholder(tf.bool)  # batch norm: False in training, True in testing
pkeep = tf.placeholder(tf.float32)  # dropout: 0.6 training, 1 testing

W1 = tf.Variable(tf.truncated_normal([3, 3, 1, 32], stddev=0.1))
O1 = tf.Variable(tf.ones([32]) / 100)  # batch norm's offset, one per channel, in place of the bias
W2 = tf.Variable(tf.truncated_normal([3, 3, 32, 32], stddev=0.1))
O2 = tf.Variable(tf.ones([32]) / 100)
W3 = tf.Variable(tf.truncated_normal([5, 5, 32, 32], stddev=0.1))
O3 = tf.Variable(tf.ones([32]) / 100)
W4 = tf.Variable(tf.truncated_normal([3, 3, 32, 64], stddev=0.1))
O4 = tf.Variable(tf.ones([64]) / 100)
W5 = tf.Variable(tf.truncated_normal([3, 3, 64, 64], stddev=0.1))
O5 = tf.Variable(tf.ones([64]) / 100)
W6 = tf.Variable(tf.truncated_normal([5, 5, 64, 64], stddev=0.1))
O6 = tf.Variable(tf.ones([64]) / 100)
W7 = tf.Variable(tf.truncated_normal([4, 4, 64, 128], stddev=0.1))
O7 = tf.Variable(tf.ones([128]) / 100)
W8 = tf.Variable(tf.truncated_normal([128, 10], stddev=0.1))
B8 = tf.Variable(tf.ones([10]) / 10)

moving_average_updates = []  # batch norm's bookkeeping, run with every training step


def augment(images):
    """Each image moved by up to 2 pixels, turned by up to 10 degrees and zoomed by up to 10%."""
    count = tf.shape(images)[0]
    angle = tf.random.uniform([count], -10.0, 10.0) * math.pi / 180
    zoom = tf.random.uniform([count], 0.9, 1.1)
    shift_x, shift_y = tf.random.uniform([count], -2.0, 2.0), tf.random.uniform([count], -2.0, 2.0)
    # For every pixel (x, y) of the new image, the transform gives the point of the original it is
    # read from (blending the four nearest pixels): turned and zoomed around the centre, then
    # moved. Points outside the original read as blank paper (0).
    cos, sin, centre = tf.cos(angle) / zoom, tf.sin(angle) / zoom, 13.5
    transforms = tf.stack([cos, sin, centre - cos * centre - sin * centre - shift_x,
                           -sin, cos, centre + sin * centre - cos * centre - shift_y,
                           tf.zeros([count]), tf.zeros([count])], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=images, transforms=transforms, output_shape=[28, 28],
                                                 fill_value=0.0, interpolation="BILINEAR")


# The loop runs this on every training batch and feeds what comes out to X; test images are
# fed as they are.
augmented = augment(X)


def batchnorm(Ylogits, Offset, convolutional=False):
    """Normalise each neuron (each channel, for a convolution) over the batch, then shift it."""
    # A convolution's channel has one mean and variance over the batch, height and width.
    axes = [0, 1, 2] if convolutional else [0]
    batch_mean, batch_variance = tf.nn.moments(Ylogits, axes)
    # At test time a digit's prediction must not depend on the other digits in its batch, so
    # testing uses averages of the batch statistics seen in training.
    averages = tf.train.ExponentialMovingAverage(0.999, step)
    moving_average_updates.append(averages.apply([batch_mean, batch_variance]))
    mean = tf.cond(is_test, lambda: averages.average(batch_mean), lambda: batch_mean)
    variance = tf.cond(is_test, lambda: averages.average(batch_variance), lambda: batch_variance)
    return tf.nn.batch_normalization(Ylogits, mean, variance, Offset, None, variance_epsilon=1e-5)


def convolution(Y, W, O, stride, padding):
    """Convolution, batch norm (with the offset O), ReLU."""
    Ylogits = tf.nn.conv2d(Y, W, strides=[1, stride, stride, 1], padding=padding)
    return tf.nn.relu(batchnorm(Ylogits, O, convolutional=True))


# "VALID": no padding, the image shrinks by the patch size minus one; "SAME" with stride 2 halves it.
Y1 = convolution(X, W1, O1, 1, "VALID")
Y2 = convolution(Y1, W2, O2, 1, "VALID")
Y3 = tf.nn.dropout(convolution(Y2, W3, O3, 2, "SAME"), rate=1 - pkeep)
Y4 = convolution(Y3, W4, O4, 1, "VALID")
Y5 = convolution(Y4, W5, O5, 1, "VALID")
Y6 = tf.nn.dropout(convolution(Y5, W6, O6, 2, "SAME"), rate=1 - pkeep)
Y7 = convolution(Y6, W7, O7, 1, "VALID")

YY = tf.reshape(Y7, [-1, 128])
Ylogits = tf.matmul(tf.nn.dropout(YY, rate=1 - pkeep), W8) + B8
Y = tf.nn.softmax(Ylogits)

cross_entropy = tf.nn.softmax_cross_entropy_with_logits_v2(logits=Ylogits, labels=Y_)
cross_entropy = tf.reduce_mean(cross_entropy) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

learning_rate = tf.train.exponential_decay(0.001, step, 600, 0.95)  # 5% less every epoch
with tf.control_dependencies(moving_average_updates):  # update the averages at every step
    train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)

# Panels 4 and 5: for each channel or neuron, its largest output over the batch.
conv_max = tf.concat([tf.reduce_max(Yc, axis=[0, 1, 2]) for Yc in (Y1, Y2, Y3, Y4, Y5, Y6)], 0)
dense_max = tf.reduce_max(YY, axis=0)

# The run. Up to here nothing was computed: the lines above only describe a graph. A Session runs
# it, with real images fed into the placeholders through feed_dict.
mnist = training.load_mnist(args)  # mnist.train.next_batch(100): the next 100 images and labels
show = training.Show(args, mnist, panels=("Conv activations, batch max", "Dense activations, batch max"))
with tf.Session(config=args.session_config) as sess:
    sess.run(tf.global_variables_initializer())  # the weights and offsets take their starting values
    for i in show.steps():  # 0, 1, ..., --iterations; Ctrl-C or closing the window ends the loop
        batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
        batch_X = sess.run(augmented, {X: batch_X})  # shifted, turned and zoomed: new digits every step
        train_data = {X: batch_X, Y_: batch_Y, step: i, is_test: False, pkeep: 0.6}
        as_tested = {**train_data, is_test: True, pkeep: 1.0}  # the same batch, measured as a test is
        if i % args.log_every == 0 or i == args.iterations:  # success on the batch about to be learnt?
            a, c, probabilities, lr = sess.run([accuracy, cross_entropy, Y, learning_rate], as_tested)
            show.training(i, a, c, batch_X, batch_Y, probabilities, lr)
        if i % args.test_every == 0 or i == args.iterations:  # success on digits it never learns from?
            test_data = {X: mnist.test.images, Y_: mnist.test.labels, is_test: True, pkeep: 1.0}
            a, c, probabilities = training.run_in_slices(sess, [accuracy, cross_entropy, Y], test_data,
                                                         args.test_batch_size)
            conv, dense = sess.run([conv_max, dense_max], as_tested)
            show.test(i, a, c, probabilities, conv, dense)
        if i < args.iterations:  # the last round only measures
            sess.run(train_step, feed_dict=train_data)  # a step down the gradient; the averages follow
    show.finish(sess, X, Y, {is_test: True, pkeep: 1.0})  # summary and report; --save-model keeps it as tested
