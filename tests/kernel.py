"""A real Jupyter kernel (ipykernel, driven through jupyter_client) for the notebook tests: run a
cell as a notebook front-end would, and keep every message the cell sends back, in order."""
import base64
import io
import time

import numpy as np
from jupyter_client.manager import KernelManager


class Kernel:
    def __init__(self, cwd, env):
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code, timeout=600, watch=None):
        """Run one cell; watch(message, cell) sees each message of the cell as it comes."""
        return self.collect(code, self.client.execute(code), timeout, watch)

    def collect(self, code, msg_id, timeout=600, watch=None):
        """The messages of a cell already sent (client.execute), until it is done."""
        cell = Cell(code)
        deadline = time.time() + timeout
        while True:
            message = self.client.get_iopub_msg(timeout=max(1, deadline - time.time()))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status":
                if message["content"]["execution_state"] == "idle":
                    break
                continue
            cell.messages.append(message)
            if watch:
                watch(message, cell)
        cell.reply = self.client.get_shell_msg(timeout=60)["content"]
        return cell

    def send_to_widget(self, comm_id, content):
        """What a front-end sends when the user acts on a widget: a custom message to its comm."""
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id,
                                                       "data": {"method": "custom", "content": content}})
        self.client.shell_channel.send(message)

    def interrupt(self):
        self.manager.interrupt_kernel()

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


class Cell:
    def __init__(self, code):
        self.code, self.messages, self.reply = code, [], None

    def of_type(self, *types):
        return [m for m in self.messages if m["msg_type"] in types]

    def text(self):
        """What the cell printed (stdout and stderr)."""
        return "".join(m["content"]["text"] for m in self.of_type("stream"))

    def errors(self):
        return [m["content"] for m in self.of_type("error")]

    def pictures(self):
        """(message type, display id, image as an RGB array) of every PNG the cell showed."""
        found = []
        for m in self.of_type("display_data", "update_display_data"):
            if "image/png" in m["content"]["data"]:
                found.append((m["msg_type"], m["content"].get("transient", {}).get("display_id"),
                              png_pixels(base64.b64decode(m["content"]["data"]["image/png"]))))
        return found


def png_pixels(data):
    import matplotlib.image
    return np.asarray(matplotlib.image.imread(io.BytesIO(data), format="png"))[..., :3]
