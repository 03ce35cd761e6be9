"""--save-movie and save_movie=: the picture's frames into an H.264 mp4, written under a temporary
name and renamed into place only once ffmpeg has written all of it."""
import os
import tempfile

import numpy as np

from .mnistdata import UserError, current_umask
from .where_shown import DPI, FIGURE_INCHES


class MovieWriter:
    """Frames into an H.264 mp4 through the ffmpeg that the imageio-ffmpeg wheel ships."""

    def __init__(self, path, fps):
        import imageio_ffmpeg

        self.path, self.fps = path, fps
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.temporary = tempfile.mkstemp(dir=directory, prefix=".partial-", suffix=".mp4")
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror or e}") from e
        os.close(fd)
        width, height = FIGURE_INCHES[0] * DPI, FIGURE_INCHES[1] * DPI
        self.size = (int(width), int(height))
        self.writer = imageio_ffmpeg.write_frames(
            self.temporary, self.size, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            quality=None, bitrate=None, output_params=["-crf", "23", "-preset", "veryfast"],
            macro_block_size=8, ffmpeg_log_level="error")
        self.writer.send(None)
        self.frames, self.failed = 0, False

    def add(self, rgb):
        """One more frame; if ffmpeg has stopped (a full disk), training goes on and close() says so."""
        if self.failed:
            return
        width, height = self.size
        frame = np.full((height, width, 3), 255, dtype=np.uint8)  # a resized window: crop or pad
        h, w = min(height, rgb.shape[0]), min(width, rgb.shape[1])
        frame[:h, :w] = rgb[:h, :w]
        try:
            self.writer.send(frame.tobytes())
        except (OSError, StopIteration):
            self.failed = True
            return
        self.frames += 1

    def close(self):
        """Rename the movie into place once ffmpeg has written every frame; otherwise a UserError.

        ffmpeg's exit status does not reach us through imageio-ffmpeg, so the file is read back:
        a movie cut short by a full disk has no index and cannot be read."""
        import imageio_ffmpeg

        try:
            self.writer.close()
            try:
                frames, _ = imageio_ffmpeg.count_frames_and_secs(self.temporary)
            except (RuntimeError, OSError):
                frames = None
            if self.failed or frames != self.frames:
                raise UserError(f"cannot write {self.path}: ffmpeg could not finish it (is the disk full?)")
            os.chmod(self.temporary, 0o666 & ~current_umask())  # mkstemp makes it private
            os.replace(self.temporary, self.path)
        except OSError as e:
            raise UserError(f"cannot write {self.path}: {e.strerror or e}") from e
        finally:
            if os.path.exists(self.temporary):
                os.unlink(self.temporary)

    def abandon(self):
        try:
            self.writer.close()
        finally:
            if os.path.exists(self.temporary):
                os.unlink(self.temporary)

