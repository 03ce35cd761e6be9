"""1.0 in Keras: the same ten softmax neurons, the same training, about 92%; read it beside
mnist_1.0_softmax.py, line for line:

    tf.placeholder X, Y_                -> keras.Input (the images), and the labels that come
                                           with each batch of the dataset (tf.data)
    tf.Variable W, b                    -> the weights of a Dense layer (its kernel and bias)
    Y = softmax(matmul(XX, W) + b)      -> Flatten, then Dense(10, activation="softmax")
    cross_entropy, minimize             -> compile(optimizer=..., loss=...)
    sess.run(train_step, feed_dict)     -> fit: the loop, the feeding and the steps are Keras's
    sess.run([accuracy, ...]) now and   -> show.callback(): Keras calls it between steps, and it
    then, show.training, show.test         measures as the graph script does, for the same picture

    X  [batch, 28, 28, 1]   the images
     |  Flatten: one row of 784 pixels per image
    XX [batch, 784]
     |  Dense: matmul W [784, 10], add b [10]   one weight per pixel and digit
     |  softmax
    Y  [batch, 10]          the probability of each digit, compared with the labels [batch, 10]
"""
from mnist_tutorial import keras_training  # flags, data and pictures shared by every twin: read it later
import keras
from keras import layers

args = keras_training.setup(__doc__, iterations=2000)

# The model: a weighted sum of the pixels, plus a bias, through softmax. Starting all the weights
# and biases at zero, as the graph script does, is fine for a single layer.
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),  # X: the batch size is left open, as None in a placeholder
    layers.Flatten(),  # XX
    layers.Dense(10, activation="softmax", kernel_initializer="zeros", bias_initializer="zeros"),  # W, b -> Y
])

# Training: plain gradient descent on the cross-entropy, as 1.0 (learning rate 0.003 on a loss
# summed over the batch of 100). compile builds what minimize() built: the gradient and the step.
learning_rate = 0.003
model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras_training.cross_entropy,
              steps_per_execution=args.steps_per_execution)

# The run: fit feeds the batches and takes the steps; the callback shows them.
mnist = keras_training.load_mnist(args)  # the graph scripts' MNIST
batches = keras_training.Batches(mnist, args)  # tf.data: 1.0's batches, in 1.0's order
show = keras_training.Show(args, mnist, model, batches)  # the progress lines, the six panels, the report
model.fit(batches.dataset, steps_per_epoch=args.iterations, shuffle=False, callbacks=[show.callback()], verbose=0)
show.finish(model)  # summary and report; --save-model keeps it as tested
