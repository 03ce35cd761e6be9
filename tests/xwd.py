"""Read the screenshots `xwd -root` takes of an X server (24-bit TrueColor) as numpy RGB arrays."""
import struct

import numpy as np


def read_xwd(data):
    fields = struct.unpack(">25I", data[:100])
    header_size, _, _, depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
    if depth != 24 or bits_per_pixel not in (24, 32):
        raise ValueError(f"expected a 24-bit screen stored in 24- or 32-bit pixels, got {depth}/{bits_per_pixel}")
    size = bits_per_pixel // 8
    start = header_size + 12 * ncolors
    rows = np.frombuffer(data, dtype=np.uint8, count=height * bytes_per_line, offset=start)
    pixels = rows.reshape(height, bytes_per_line)[:, :width * size].reshape(height, width, size)
    if byte_order == 0:  # least significant byte first: B, G, R (then X)
        return pixels[..., [2, 1, 0]]
    return pixels[..., [size - 3, size - 2, size - 1]]  # (X,) R, G, B
