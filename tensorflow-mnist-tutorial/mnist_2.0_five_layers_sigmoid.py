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
import training  # flags, data and training loop shared by every script: read it later
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

training.run(args, X=X, Y_=Y_, Y=Y, cross_entropy=cross_entropy, accuracy=accuracy,
             train_step=train_step, learning_rate=learning_rate,
             weights=[W1, W2, W3, W4, W5], biases=[B1, B2, B3, B4, B5])
