"""The montages of digits in the picture: recognised ones as they are, misrecognised ones on red
with the true label bottom-left and the network's answer bottom-right.

Any image size works, grey or colour: MNIST's 28x28 digits, Fashion-MNIST, CIFAR-10's 32x32x3.
Grey images are drawn dark on white, as the codelab draws its digits; colour images as they are,
in a red frame when misrecognised. Labels are drawn in a 5x7 pixel font, up to two digits.
"""
import numpy as np

# A 5x7 pixel font for the labels of misrecognised digits.
GLYPHS = {
    0: [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    1: ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    2: [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    3: ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
    4: ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    5: ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    6: ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
    7: ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    8: [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    9: [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
}
GLYPH_MASKS = {d: np.array([[c == "#" for c in row] for row in rows]) for d, rows in GLYPHS.items()}
WRONG_BACKGROUND = np.array([1.0, 0.55, 0.55])
LABEL_COLOUR = np.array([0.35, 0.0, 0.0])


def as_cells(images):
    """Images [N, H, W], [N, H, W, 1] or [N, H, W, 3] (or MNIST's rows of 784) as [N, H, W, C]."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim == 3:
        images = images[..., None]
    return images


def label_mask(label, width):
    """The label's digits in the 5x7 font, as a mask [7, width]; None if it does not fit."""
    text = str(int(label))
    needed = 6 * len(text) - 1
    if needed > width:
        return None
    mask = np.zeros((7, needed), dtype=bool)
    for place, character in enumerate(text):
        mask[:, 6 * place:6 * place + 5] = GLYPH_MASKS[int(character)]
    return mask


def digit_grid(images, labels, predictions, columns):
    """A montage: images (see as_cells) with pixels in [0, 1]; labels and predictions [N] ints.

    Returns an RGB image [rows * H, columns * W, 3]; unused cells stay white.
    """
    cells = as_cells(images)
    count, height, width, channels = cells.shape
    rows = max(1, -(-count // columns))
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    wrong = labels != predictions
    if channels == 1:  # ink darkens the background: white, or red when misrecognised
        background = np.where(wrong[:, None, None, None], WRONG_BACKGROUND, 1.0)
        cells = background * (1.0 - cells)
    else:
        cells = np.clip(cells[..., :3], 0.0, 1.0).copy()
        frame = max(1, min(height, width) // 14)
        for i in np.flatnonzero(wrong):
            for part in (cells[i, :frame], cells[i, -frame:], cells[i, :, :frame], cells[i, :, -frame:]):
                part[...] = WRONG_BACKGROUND
    if height >= 9:
        for i in np.flatnonzero(wrong):
            true, said = label_mask(labels[i], width // 2 - 1), label_mask(predictions[i], width // 2 - 1)
            if true is not None:
                cells[i, height - 8:height - 1, 1:1 + true.shape[1]][true] = LABEL_COLOUR
            if said is not None:
                cells[i, height - 8:height - 1, width - 1 - said.shape[1]:width - 1][said] = LABEL_COLOUR
    grid = np.ones((rows * columns, height, width, 3), dtype=np.float32)
    grid[:count] = cells
    return grid.reshape(rows, columns, height, width, 3).swapaxes(1, 2).reshape(rows * height, columns * width, 3)


def wrong_first(labels, predictions):
    """Indices that put misrecognised digits first, each group in its original order."""
    return np.argsort(np.asarray(labels) == np.asarray(predictions), kind="stable")
