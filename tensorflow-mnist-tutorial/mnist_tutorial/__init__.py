"""The machinery behind the codelab's scripts, one module per job:

    mnistdata      reading, fetching and checking MNIST (numpy only; the cloud trainer ships it)
    data           the data as a loop draws it: shuffled batches, the held-out images
    command_line   the flags every script shares, and nothing else
    startup        TensorFlow imported quietly, and the one line a script ends with
    interrupts     Ctrl-C between two training steps
    show           Show: what a training loop hands over, and everything shown of it, made of
                   panels (the run's picture), progress (the lines), record (every test pass)
                   and run_files (TensorBoard summaries, --results, the files asked for)
    visualisation  the six-panel picture, drawn by six_panels, digits (montages) and mistakes
    where_shown    where a picture is shown: Screen, and the Picture it shows;  movie: the mp4
    diagnosis      what the curves say, and the mistakes
    training       graph scripts: a Session's loop;  keras_training: the Keras twins
    live_panels    LivePanels: the six panels for anyone's Keras fit
    lab_bench      the primers' experiments, trained side by side: experiment (what one is, its
                   table and sentence) and overlay (their curves, a Picture)
    savedmodel     the trained network as a SavedModel;  lessons: the numbered scripts

For your own Keras model, one line:

    from mnist_tutorial import LivePanels
    model.fit(x, y, validation_data=(x_test, y_test), callbacks=[LivePanels()])
"""

__all__ = ["LivePanels"]


def __getattr__(name):
    # LivePanels imports TensorFlow and Keras; `import mnist_tutorial.mnistdata` alone must not
    if name == "LivePanels":
        from .live_panels import LivePanels
        return LivePanels
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
