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
import time
from typing import Protocol



FIGURE_INCHES, DPI = (12.8, 7.2), 100  # 1280x720: also the movie's frame size
MAX_FPS, MAX_DRAWING_SHARE = 5.0, 0.15
EVENT_INTERVAL = 0.05  # seconds between two looks at the keyboard and mouse


def has_display():
    """Whether a window can be opened: on Linux and BSD that needs an X11 or Wayland display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


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


class Picture(Protocol):
    """What a Screen shows, written down once. visualisation.Animation (the six panels) and
    lab_bench.Overlay (the lab bench's curves) are pictures; each draws on screen.figure."""

    def update_artists(self):
        """Bring what is drawn up to date with the latest numbers."""

    def on_key(self, event):
        """A key pressed on the figure, other than Space, which the Screen keeps for pausing."""

    def on_pause(self, paused):
        """Space paused (True) or resumed (False) training: say so, in the title."""

    def figure_below(self):
        """At the end, in a notebook cell: a figure to show below the picture (the mistakes), or None."""


def choose(headless, in_notebook):
    """Where a live picture goes: "inline" or "widget" in a notebook, "window" with a display, or
    None (text only, said in one line when it is for want of a display)."""
    if headless:
        return None
    if in_notebook:
        return notebook_show()
    if not has_display():
        print("No display found (DISPLAY is not set): running headless, text only.", flush=True)
        return None
    return "window"


class Screen:
    """Where a Picture is shown (see the module's docstring), and its frames, keys and end.

        screen = Screen("window", title)    # or "inline", "widget", None (off-screen); NoWindow
        ... the picture draws on screen.figure ...
        screen.start(picture)
        while training: screen.tick()       # False once the window is closed
        screen.finish(message)              # the final frame; in a window, wait for it to close
    """

    def __init__(self, show, title, drawing_share=MAX_DRAWING_SHARE):
        """drawing_share: after a frame, training goes on for that frame's time / drawing_share."""
        self.figure, self.plt = open_figure(show)  # NoWindow when no window can open here
        self.drawing_share = drawing_share
        self.show, self.live, self.title = show, show is not None, title
        self.picture = self.cell = self.ui = None  # the notebook cell's picture; the widget's event poll
        self.paused = self.closed = False
        self.last_draw = self.last_events = self.draw_seconds = 0.0
        self.drawing_s = 0.0  # all the frames' drawing so far, for --results

    def start(self, picture):
        """Show picture: the window's title and keys, the notebook's canvas, the first frame."""
        self.picture = picture
        if self.show in ("window", "widget"):
            self.figure.canvas.manager.set_window_title(self.title)
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
        self.picture.update_artists()
        if self.show == "inline":
            self.show_in_cell()
        else:
            self.figure.canvas.draw()  # ipympl's canvas sends the new picture to the notebook here
        if self.live:
            self.handle_events()
        self.draw_seconds = time.perf_counter() - started
        self.drawing_s += self.draw_seconds
        self.last_draw = time.perf_counter()

    def redraw_now(self):
        """After a key changed the view: at once on ipympl's canvas (the cell is busy training),
        when the window's event loop next runs otherwise."""
        if self.show == "widget":
            self.figure.canvas.draw()
        else:
            self.figure.canvas.draw_idle()

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
            # at most MAX_FPS frames a second, and a pause of the last frame's time / drawing_share
            if now - self.last_draw >= max(1.0 / MAX_FPS, self.draw_seconds / self.drawing_share):
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

    def on_key(self, event):
        if event.key == " ":
            self.paused = not self.paused
            self.picture.on_pause(self.paused)
            self.figure.canvas.draw_idle()
        else:
            self.picture.on_key(event)

    def on_close(self, event):
        self.closed = True
        self.paused = False

    def finish(self, message, wait=True):
        """The final frame. In a notebook the final picture stays in the cell, with the picture's
        figure_below() under it; in a window, print message and wait for the window to be closed
        (unless wait is False)."""
        self.draw()
        self.stop_events()
        below = self.picture.figure_below() if self.show == "inline" else None
        if below is not None:
            from IPython.display import Image, display
            display(Image(data=png_bytes(below)))
        if self.show == "window" and not self.closed and wait:
            print(message, flush=True)
            self.plt.show(block=True)

    def abandon(self):
        """Training stopped early: a notebook keeps the picture of where it stopped."""
        try:
            if self.show in ("inline", "widget"):
                self.draw()
        finally:
            self.stop_events()

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
