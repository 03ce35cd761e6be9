"""5.0: 4.2 trained on digits shifted, turned and zoomed at random: new digits at every step.

4.2 learns the 60,000 training digits almost by heart and then stops improving on new ones. For
handwriting, more data can be made: a digit moved by a pixel or two, turned a few degrees or
written a little larger is still the same digit. So before every training step each image of the
batch is moved by up to 2 pixels each way, turned by up to 10 degrees and zoomed by up to 10%,
anew each time it is seen: in 30,000 steps (50 epochs) the network never sees the same image
twice. Much larger changes would make some digits ambiguous. Test images are not touched. The
network is 4.2's; its learning rate decays 2.5 times more slowly, for the 3 times longer
training, and the test set is measured every 500 steps rather than every 100.

    X  [batch, 28, 28, 1]   in training: each batch shifted, turned and zoomed (augmented) first
     |  convolution 6x6, stride 1, batch norm, ReLU    W1 [6, 6, 1, 24]    O1 [24]
    Y1 [batch, 28, 28, 24]
     |  convolution 5x5, stride 2, batch norm, ReLU    W2 [5, 5, 24, 48]   O2 [48]
    Y2 [batch, 14, 14, 48]
     |  convolution 4x4, stride 2, batch norm, ReLU    W3 [4, 4, 48, 64]   O3 [64]
    Y3 [batch, 7, 7, 64] -> reshape -> YY [batch, 7*7*64]
     |  fully connected, batch norm, ReLU, dropout     W4 [3136, 200]      O4 [200]
    Y4 [batch, 200]
     |  fully connected                                W5 [200, 10]        B5 [10]
    Ylogits [batch, 10] -> softmax -> Y [batch, 10]
Panels 4 and 5 show each channel's and each dense neuron's largest output over the batch.
"""
import math

from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=30000, test_every=500)  # 61 test passes, not 301

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])
step = tf.placeholder(tf.int32)
is_test = tf.placeholder(tf.bool)  # batch norm: False in training, True in testing
pkeep = tf.placeholder(tf.float32)  # dropout: 0.5 training, 1 testing

K, L, M = 24, 48, 64  # output channels of the three convolutional layers
N = 200  # neurons in the fully connected layer

W1 = tf.Variable(tf.truncated_normal([6, 6, 1, K], stddev=0.1))
O1 = tf.Variable(tf.ones([K]) / 100)  # batch norm's offset, one per channel, in place of the bias
W2 = tf.Variable(tf.truncated_normal([5, 5, K, L], stddev=0.1))
O2 = tf.Variable(tf.ones([L]) / 100)
W3 = tf.Variable(tf.truncated_normal([4, 4, L, M], stddev=0.1))
O3 = tf.Variable(tf.ones([M]) / 100)
W4 = tf.Variable(tf.truncated_normal([7 * 7 * M, N], stddev=0.1))
O4 = tf.Variable(tf.ones([N]) / 100)
W5 = tf.Variable(tf.truncated_normal([N, 10], stddev=0.1))
B5 = tf.Variable(tf.ones([10]) / 10)

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


Y1 = tf.nn.relu(batchnorm(tf.nn.conv2d(X, W1, strides=[1, 1, 1, 1], padding="SAME"), O1, convolutional=True))
Y2 = tf.nn.relu(batchnorm(tf.nn.conv2d(Y1, W2, strides=[1, 2, 2, 1], padding="SAME"), O2, convolutional=True))
Y3 = tf.nn.relu(batchnorm(tf.nn.conv2d(Y2, W3, strides=[1, 2, 2, 1], padding="SAME"), O3, convolutional=True))

YY = tf.reshape(Y3, [-1, 7 * 7 * M])
Y4 = tf.nn.relu(batchnorm(tf.matmul(YY, W4), O4))
Y4d = tf.nn.dropout(Y4, rate=1 - pkeep)
Ylogits = tf.matmul(Y4d, W5) + B5
Y = tf.nn.softmax(Ylogits)

cross_entropy = tf.nn.softmax_cross_entropy_with_logits_v2(logits=Ylogits, labels=Y_)
cross_entropy = tf.reduce_mean(cross_entropy) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

learning_rate = 0.0001 + tf.train.exponential_decay(0.02, step, 4000, 1 / math.e)  # 30,000 steps
with tf.control_dependencies(moving_average_updates):  # update the averages at every step
    train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)

# Panels 4 and 5: for each channel or neuron, its largest output over the batch.
conv_max = tf.concat([tf.reduce_max(Yc, axis=[0, 1, 2]) for Yc in (Y1, Y2, Y3)], 0)
dense_max = tf.reduce_max(Y4, axis=0)

# The run. Up to here nothing was computed: the lines above only describe a graph. A Session runs
# it, with real images fed into the placeholders through feed_dict.
mnist = training.load_mnist(args)  # mnist.train.next_batch(100): the next 100 images and labels
show = training.Show(args, mnist, panels=("Conv activations, batch max", "Dense activations, batch max"))
with tf.Session(config=args.session_config) as sess:
    sess.run(tf.global_variables_initializer())  # the weights and offsets take their starting values
    for i in show.steps():  # 0, 1, ..., --iterations; Ctrl-C or closing the window ends the loop
        batch_X, batch_Y = mnist.train.next_batch(args.batch_size)
        batch_X = sess.run(augmented, {X: batch_X})  # shifted, turned and zoomed: new digits every step
        train_data = {X: batch_X, Y_: batch_Y, step: i, is_test: False, pkeep: 0.5}
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
