"""1.0: one layer of ten softmax neurons recognises about 92% of handwritten digits.

Each neuron takes a weighted sum of all 784 pixels, adds its bias, and softmax turns the ten
sums into probabilities. Training nudges the weights and biases down the gradient of the loss.

    X  [batch, 28, 28, 1]   the images
     |  reshape: one row of 784 pixels per image
    XX [batch, 784]
     |  matmul W [784, 10], add b [10]        one weight per pixel and digit
     |  softmax
    Y  [batch, 10]          the probability of each digit, compared with Y_ [batch, 10]
"""
from mnist_tutorial import training  # flags, data and pictures shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=2000)

# Placeholders are filled with real data at every step: a batch of images and their labels.
# None stands for the batch size, known only when the data arrives.
X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])  # correct answers, one-hot: 7 is [0,0,0,0,0,0,0,1,0,0]

# Variables are what training learns. Starting them all at zero is fine for a single layer.
W = tf.Variable(tf.zeros([784, 10]))
b = tf.Variable(tf.zeros([10]))

# The model: a weighted sum of the pixels, plus a bias, through softmax.
# -1 in reshape means "work out this dimension yourself": it will be the batch size.
XX = tf.reshape(X, [-1, 784])
Y = tf.nn.softmax(tf.matmul(XX, W) + b)

# The loss: cross-entropy between the correct answers Y_ and the predictions Y, averaged over the
# batch and scaled by 100 (the sum over a batch of 100) so test and training losses read alike.
cross_entropy = -tf.reduce_mean(tf.reduce_sum(Y_ * tf.log(Y), axis=1)) * 100.0

# The share of the batch recognised: is the most probable digit the correct one?
is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

# Training: TensorFlow derives the gradient of the loss with respect to W and b, and every run of
# train_step moves them a small step (the learning rate) against it.
learning_rate = 0.003
train_step = tf.train.GradientDescentOptimizer(learning_rate).minimize(cross_entropy)

# Panels 4 and 5 show the spread of all the weights and of all the biases as training goes on.
allweights = tf.reshape(W, [-1])
allbiases = tf.reshape(b, [-1])

# The run. Up to here nothing was computed: the lines above only describe a graph. A Session runs
# it, with real images fed into the placeholders through feed_dict.
mnist = training.load_mnist(args)  # mnist.train.next_batch(100): the next 100 images and labels
show = training.Show(args, mnist)  # the progress lines, the six panels, the report at the end
with tf.Session(config=args.session_config) as sess:
    sess.run(tf.global_variables_initializer())  # W and b take their starting values
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
