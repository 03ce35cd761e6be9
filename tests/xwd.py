"""Read the screenshots `xwd -root` takes of an X server (24-bit TrueColor) as numpy RGB arrays."""
import struct

import numpy as np


def read_xwd(data):
    fields = struct.unpack(">25I", data[:100])
    header_size, _, _, depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
    if depth != 24 or bits_per_pixel != 32:
        raise ValueError(f"expected a 24-bit screen stored in 32-bit pixels, got {depth}/{bits_per_pixel}")
    start = header_size + 12 * ncolors
    rows = np.frombuffer(data, dtype=np.uint8, count=height * bytes_per_line, offset=start)
    pixels = rows.reshape(height, bytes_per_line)[:, :width * 4].reshape(height, width, 4)
    return pixels[..., [2, 1, 0]] if byte_order == 0 else pixels[..., [1, 2, 3]]  # BGRX or XRGB
