"""Where the six panels are shown: a desktop window, a Jupyter notebook's cell, a movie file.

`show` names the place: "window", a desktop window; "inline", a Jupyter notebook's cell, one
picture replaced in place at each frame (it works wherever Jupyter's default inline backend does:
JupyterLab, Notebook, VS Code, Colab); "widget", ipympl's interactive canvas (%matplotlib
widget), which answers the keys too; None, off-screen, for --save-png and --save-movie only.

Training never waits for the drawing: the training loop hands over numbers as it gets them, and
the picture is redrawn from the latest ones at most five times a second, and after a frame only
once the loop has trained for 1 / 0.15 (about 6.7) times as long as the frame took: 13% of the
time would go to drawing if every frame took as long as the one before; 16% was measured for 2.1
in a window, where frames vary (on two cores the drawing also slows training down while it
runs). Between frames the window's keys and clicks are answered every 50 ms.
"""
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from mnistdata import UserError, current_umask

FIGURE_INCHES, DPI = (12.8, 7.2), 100  # 1280x720: also the movie's frame size
MAX_FPS, MAX_DRAWING_SHARE = 5.0, 0.15
EVENT_INTERVAL = 0.05  # seconds between two looks at the keyboard and mouse


class NoWindow(Exception):
    """No window could be opened: the caller goes on headless."""


def notebook_show():
    """In a notebook: ipympl's canvas when %matplotlib widget is on, else a picture in the cell."""
    import matplotlib
    backend = matplotlib.get_backend().lower()
    return "widget" if "ipympl" in backend or backend == "widget" else "inline"


def png_bytes(figure):
    with io.BytesIO() as buffer:
        figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()


def open_figure(show):
    """A figure for show: pyplot's, in a window or ipympl's canvas; otherwise drawn off-screen,
    outside pyplot, so that a notebook's own backend and figures stay as they are. Returns the
    figure and pyplot (None off-screen); NoWindow when no window can open here."""
    import matplotlib
    if show not in ("window", "widget"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        figure = Figure(figsize=FIGURE_INCHES, dpi=DPI)
        FigureCanvasAgg(figure)
        return figure, None
    if show == "window":
        use_a_backend_that_opens(matplotlib)
    import matplotlib.pyplot as plt
    if show == "window" and not is_interactive_backend(matplotlib.get_backend()):
        raise NoWindow(f"matplotlib cannot open a window here (it chose the {matplotlib.get_backend()} "
                       "backend; on Linux check DISPLAY and install python3-tk)")
    try:
        return plt.figure(figsize=FIGURE_INCHES, dpi=DPI), plt
    except Exception as e:  # TclError, Qt and macOS errors have no common type
        raise NoWindow(f"cannot open a window ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


class Screen:
    """The part of the picture that deals with where it is shown: frames, keys, the end.

    A picture (visualisation.Animation) that has self.figure, self.plt, self.show, self.live and
    self.movie, an update_artists() that brings its panels up to date, on_key() and
    report_figure(), gets from here tick() (called at every training step), finish() and
    abandon() at the end, and the notebook cell's picture.
    """

    def start_showing(self, title):
        """Open the place: the window's title and keys, the notebook's canvas, the first frame."""
        self.cell = self.ui = None  # the notebook cell's picture; the widget's event poll
        self.paused = self.closed = False
        self.last_draw = self.last_events = self.draw_seconds = 0.0
        self.drawing_s = 0.0  # all the frames' drawing so far, for --results
        if self.show in ("window", "widget"):
            self.figure.canvas.manager.set_window_title(title)
        # closures, not bound methods, which matplotlib holds weakly: a notebook's canvas outlives the
        # script that made it, and its keys must keep working
        self.figure.canvas.mpl_connect("key_press_event", lambda event: self.on_key(event))
        self.figure.canvas.mpl_connect("close_event", lambda event: self.on_close(event))
        if self.show == "window":
            self.plt.show(block=False)
        if self.show == "widget":  # shown now, not by pyplot, which %run keeps from showing until the end
            from IPython.display import display
            display(self.figure.canvas)
            self.ui = WidgetEvents()
        if self.live:
            self.draw()
            self.last_draw = 0.0  # the first numbers are drawn as soon as they come

    def draw(self):
        started = time.perf_counter()
        self.update_artists()
        if self.show == "inline":
            self.show_in_cell()
        else:
            self.figure.canvas.draw()  # ipympl's canvas sends the new picture to the notebook here
        if self.live:
            self.handle_events()
        self.draw_seconds = time.perf_counter() - started
        self.drawing_s += self.draw_seconds
        self.last_draw = time.perf_counter()

    def show_in_cell(self):
        """One picture in the notebook cell, replaced in place: the first call shows it."""
        from IPython.display import Image, display
        png = png_bytes(self.figure)
        if self.cell is None:
            self.cell = display(Image(data=png), display_id=True)
        else:
            self.cell.update(Image(data=png))

    def handle_events(self):
        """Answer the keys and clicks that came in since last time."""
        if self.show == "window":
            self.figure.canvas.flush_events()
        elif self.ui:
            self.ui.poll()
        self.last_events = time.perf_counter()

    def tick(self, until=lambda: False):
        """Called at every training step: redraw when a frame is due, handle keys, wait while paused
        (or until `until()` is true: Ctrl-C pressed while paused).

        Returns False once the window has been closed.
        """
        if self.live:
            now = time.perf_counter()
            # at most MAX_FPS frames a second, and a pause of the last frame's time / MAX_DRAWING_SHARE
            if now - self.last_draw >= max(1.0 / MAX_FPS, self.draw_seconds / MAX_DRAWING_SHARE):
                self.draw()
            elif now - self.last_events >= EVENT_INTERVAL:  # keys and clicks answered promptly
                self.handle_events()
        while self.paused and not self.closed and not until():
            if self.show == "window":
                self.figure.canvas.start_event_loop(0.05)
            else:
                time.sleep(0.05)
                self.handle_events()
        return not self.closed

    def on_close(self, event):
        self.closed = True
        self.paused = False

    def save_movie(self):
        """Complete the movie: it appears under its name only if ffmpeg wrote all of it."""
        movie, self.movie = self.movie, None
        movie.close()

    def finish(self, draw=None):
        """The final frame; then, in a window, wait for it to be closed, with draw() (if given)
        called on the key D. In a notebook the final picture stays in the cell. A movie not saved
        by now is abandoned."""
        self.draw()
        if self.movie:
            self.movie.abandon()
            self.movie = None
        self.stop_events()
        if self.show == "inline" and self.report is not None:  # the mistakes, below the panels
            from IPython.display import Image, display
            display(Image(data=png_bytes(self.report_figure())))
        if self.show == "window" and not self.closed:
            self.on_draw = draw
            keys = "M shows the mistakes" + (", D opens a pad to draw digits for the network" if draw else "")
            print(f"Training is over ({keys}): close the window to exit.", flush=True)
            self.plt.show(block=True)

    def abandon(self):
        """Training stopped early: no movie; a notebook keeps the picture of where it stopped."""
        try:
            if self.show in ("inline", "widget"):
                self.draw()
        finally:
            self.stop_events()
            if self.movie:
                self.movie.abandon()

    def stop_events(self):
        if self.ui:
            self.ui.close()
            self.ui = None

    def close(self):
        if self.plt:
            self.plt.close(self.figure)


class WidgetEvents:
    """Lets ipympl's canvas hear its keys while the cell trains.

    A kernel runs one cell at a time and reads the notebook's next message only when the cell is
    done, so keys pressed on the canvas would wait for the end of training. poll() reads the
    messages waiting for the kernel: a widget's message (a key on the canvas) is handled at once,
    anything else (say, the next cell to run) is handed back to the kernel, in order, when training
    ends. This reads ipykernel 7's queue for the main shell, as ipykernel's own GUI event loops do;
    with any other kernel, poll() does nothing and the canvas answers once the cell is done.
    """

    def __init__(self):
        self.kernel, self.socket, self.waiting = None, None, []
        try:
            from IPython import get_ipython
            from ipykernel.eventloops import get_shell_stream
            kernel = get_ipython().kernel
            if kernel._supports_kernel_subshells and hasattr(kernel, "shell_main"):
                self.kernel, self.socket = kernel, get_shell_stream(kernel).socket
        except Exception:  # another kernel, or another version of this one
            pass

    def poll(self):
        if not self.socket:
            return
        import json
        session = self.kernel.session
        while self.socket.poll(0):
            frames = self.socket.recv_multipart(copy=False)
            try:
                idents, parts = session.feed_identities([frame.bytes for frame in frames])
                # only a look at the header: the session authenticates a message once, and what
                # goes back to the kernel must still be new to it
                ours = json.loads(parts[1])["msg_type"] == "comm_msg"
                message = session.deserialize(parts) if ours else None
            except Exception:
                ours = False
            if ours:
                self.kernel.comm_manager.comm_msg(None, idents, message)
            else:
                self.waiting.append(frames)  # the kernel's business

    def close(self):
        """Hand what the kernel did not read yet back to it, in the order it came."""
        import asyncio
        for frames in self.waiting:
            asyncio.ensure_future(self.kernel.shell_main(None, frames))
        self.waiting, self.socket = [], None


def use_a_backend_that_opens(matplotlib):
    """Switch from Qt to Tk when Qt cannot open a window here.

    A Qt that cannot load its platform plugin (on Linux, often for want of a system library such
    as libxcb-cursor0) aborts the whole process instead of raising an error, so a child process
    tries it first.
    """
    backend = matplotlib.get_backend()
    if not backend.lower().startswith("qt") or sys.platform in ("darwin", "win32"):
        return
    probe = subprocess.run([sys.executable, "-c", "import sys; from matplotlib.backends.qt_compat import "
                            "QtWidgets; QtWidgets.QApplication(sys.argv[:1])"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode == 0:
        return
    reason = next((line.strip() for line in probe.stderr.splitlines() if line.strip()),
                  f"exit status {probe.returncode}")
    try:
        import tkinter  # noqa: F401
    except ImportError:
        raise NoWindow(f"Qt cannot open a window here ({reason})") from None
    print(f"Qt cannot open a window here ({reason}): using Tk instead.", flush=True)
    matplotlib.use("TkAgg")


def is_interactive_backend(name):
    return name.lower() not in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template") \
        and not name.lower().startswith("module://matplotlib_inline")


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

