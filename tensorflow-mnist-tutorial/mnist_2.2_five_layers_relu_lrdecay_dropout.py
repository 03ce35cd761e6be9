"""2.2: 2.1 with dropout on every hidden layer, which brings the test loss back under control.

After a few thousand steps 2.1's training loss keeps falling while its test loss climbs again:
the network starts to learn the training images by heart (overfitting). Dropout switches off a
random quarter of the neurons at every training step (pkeep = 0.75), so no neuron can rely on any
other; the survivors' outputs are scaled up by 1/pkeep so the next layer sees the same average.
At test time every neuron works (pkeep = 1).

    X  [batch, 28, 28, 1] -> reshape -> XX [batch, 784]
     |  fully connected + ReLU + dropout  W1 [784, 200]  B1 [200]
    Y1 [batch, 200]
     |  fully connected + ReLU + dropout  W2 [200, 100]  B2 [100]
    Y2 [batch, 100]
     |  fully connected + ReLU + dropout  W3 [100, 60]   B3 [60]
    Y3 [batch, 60]
     |  fully connected + ReLU + dropout  W4 [60, 30]    B4 [30]
    Y4 [batch, 30]
     |  fully connected                  W5 [30, 10]    B5 [10]
    Ylogits [batch, 10] -> softmax -> Y [batch, 10]
"""
import math

import training  # flags, data and training loop shared by every script: read it later
import tensorflow.compat.v1 as tf

args = training.setup(__doc__, iterations=10000)

X = tf.placeholder(tf.float32, [None, 28, 28, 1])
Y_ = tf.placeholder(tf.float32, [None, 10])
step = tf.placeholder(tf.int32)  # the training step, fed at every run: the learning rate depends on it
pkeep = tf.placeholder(tf.float32)  # the probability that a neuron is kept: 0.75 training, 1 testing

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
Y1d = tf.nn.dropout(Y1, rate=1 - pkeep)  # zeroes a random 25%, scales the rest by 1/0.75
Y2 = tf.nn.relu(tf.matmul(Y1d, W2) + B2)
Y2d = tf.nn.dropout(Y2, rate=1 - pkeep)
Y3 = tf.nn.relu(tf.matmul(Y2d, W3) + B3)
Y3d = tf.nn.dropout(Y3, rate=1 - pkeep)
Y4 = tf.nn.relu(tf.matmul(Y3d, W4) + B4)
Y4d = tf.nn.dropout(Y4, rate=1 - pkeep)
Ylogits = tf.matmul(Y4d, W5) + B5  # the weighted sums before softmax are called logits
Y = tf.nn.softmax(Ylogits)

cross_entropy = tf.nn.softmax_cross_entropy_with_logits_v2(logits=Ylogits, labels=Y_)
cross_entropy = tf.reduce_mean(cross_entropy) * 100.0

is_correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
accuracy = tf.reduce_mean(tf.cast(is_correct, tf.float32))

# 0.0001 + 0.003 * (1/e)^(step/2000): 0.003 at the start, 0.0001 in the end.
learning_rate = 0.0001 + tf.train.exponential_decay(0.003, step, 2000, 1 / math.e)
train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)

training.run(args, X=X, Y_=Y_, Y=Y, cross_entropy=cross_entropy, accuracy=accuracy,
             train_step=train_step, step=step, learning_rate=learning_rate,
             training_feed={pkeep: 0.75}, testing_feed={pkeep: 1.0},
             weights=[W1, W2, W3, W4, W5], biases=[B1, B2, B3, B4, B5])
