"""The report of a network's mistakes as a picture: the confusion matrix, and the digits it was
surest of and got wrong (diagnosis.Report). The window's key M shows it in place of the panels, a
notebook shows it below them, and --save-report writes it alone."""
import numpy as np

from .digits import LABEL_COLOUR, digit_grid
from .mnistdata import atomic_file
from .where_shown import DPI, FIGURE_INCHES


def draw_report(matrix_ax, mistakes_ax, report, held_out="test"):
    """The confusion matrix of a diagnosis.Report, and the digits it was surest of and got wrong."""
    matrix = report.matrix
    off = np.where(np.eye(10, dtype=bool), 0, matrix)
    matrix_ax.clear()
    matrix_ax.imshow(off, cmap="Reds", vmin=0, vmax=max(off.max(), 1))
    classes = len(matrix)
    for true in range(classes):
        for said in range(classes):
            count = matrix[true, said]
            if count and classes <= 20:  # the counts, where they are legible
                matrix_ax.text(said, true, str(count), ha="center", va="center", fontsize=7,
                               color="white" if true != said and count > off.max() / 2 else "black")
    matrix_ax.set_xticks(range(0, classes, max(1, classes // 20)))
    matrix_ax.set_yticks(range(0, classes, max(1, classes // 20)))
    matrix_ax.set_xlabel("the network's answer", fontsize=9)
    matrix_ax.set_ylabel("the true digit", fontsize=9)
    matrix_ax.set_title(f"Confusion matrix of the {matrix.sum():,} {held_out} digits: {np.trace(matrix):,} on the "
                        f"diagonal ({report.accuracy:.2%})", fontsize=10)
    matrix_ax.tick_params(labelsize=8)
    mistakes_ax.clear()
    columns = 8
    if report.mistakes:
        images, labels, said, certainty = zip(*report.mistakes)
        grid = digit_grid(np.array(images), np.array(labels), np.array(said), columns)
        mistakes_ax.imshow(grid, interpolation="nearest")
        for index, probability in enumerate(certainty):
            row, column = divmod(index, columns)
            mistakes_ax.text((column + 0.5) * grid.shape[1] / columns, row * len(grid) / -(-len(said) // columns) + 1,
                             f"{probability:.0%}", ha="center", va="top",
                             fontsize=6.5, color=LABEL_COLOUR)
    mistakes_ax.set_xticks([])
    mistakes_ax.set_yticks([])
    mistakes_ax.set_title(f"The {len(report.mistakes)} mistakes it was surest of, surest first\n(true digit "
                          f"bottom left, its answer bottom right, how sure it was on top)", fontsize=10)


def report_axes(figure):
    """The two axes of the report, on figure: the matrix and the mistakes."""
    from matplotlib.gridspec import GridSpec
    grid = GridSpec(1, 2, width_ratios=(1, 1.3), left=0.05, right=0.98, bottom=0.07, top=0.88, wspace=0.15)
    return [figure.add_subplot(grid[i]) for i in range(2)]


def report_figure(report, held_out="test"):
    """The report alone, off-screen: for --save-report and the notebook."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    draw_report(*report_axes(figure), report, held_out)
    return figure


def save_report(report, held_out, path):
    """--save-report FILE.png: the report alone as a PNG file."""
    with atomic_file(path) as f:
        report_figure(report, held_out).savefig(f, format="png", dpi=DPI)
