"""Serve the exported SavedModel over HTTP, as a Vertex AI prediction container.

    python -m trainer.serve [--model-dir DIR] [--port N]

The same image that trains (mlengine/Dockerfile) serves, with the same TensorFlow, so the model
is answered by the version that wrote it. Vertex AI starts the container with AIP_STORAGE_URI (the
model's folder, gs://...), AIP_HTTP_PORT, AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE set; the flags
stand in for them locally. POST {"instances": [...]} (what digits.py writes) to the predict route;
the answer is {"predictions": [{"classes": 7, "predictions": [10 probabilities]}, ...]}, the form
Vertex AI's prebuilt TensorFlow containers give.

The port opens at once, before TensorFlow is imported and the model loaded (from gs://, seconds):
Vertex AI probes it from the start. The health route answers 503 while the model loads, 200 once
it answers; requests are served side by side, so a health check never waits behind a prediction.
SIGTERM ends the server at any moment. A model that cannot be loaded ends it with one line.
"""
import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from trainer.cli import MAX_REQUEST, ArgumentParser, import_quietly, number
from trainer.mnistdata import UserError
from trainer.predict import image


def load(model_dir):
    tf = import_quietly("tensorflow")
    try:
        if not tf.saved_model.contains_saved_model(model_dir):
            raise UserError(f"{model_dir} holds no SavedModel (train with trainer.task first)")
        serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    except (tf.errors.OpError, KeyError) as e:
        raise UserError(f"cannot load the model in {model_dir}: {getattr(e, 'message', e)}") from None
    return lambda images: {name: value.numpy() for name, value in serve(image=tf.constant(images)).items()}


class Model:
    """The model as the server sees it: loading, loaded (answer), or failed (error)."""

    def __init__(self, model_dir):
        self.model_dir, self.answer, self.error = model_dir, None, None

    def load(self, server):
        """In a thread of its own while the server already answers; a failure stops the server."""
        try:
            self.answer = load(self.model_dir)
            print(f"trainer.serve: {self.model_dir} loaded: ready", flush=True)
        except UserError as e:
            self.error = str(e)
        except Exception as e:  # noqa: BLE001  anything else TensorFlow raises while loading
            self.error = f"cannot load the model in {self.model_dir}: {type(e).__name__}: {e}"
        if self.error:
            server.shutdown()


def handler_for(model, health_route, predict_route):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != health_route:
                self.reply(404, {"error": f"no such route; GET {health_route} or POST {predict_route}"})
            elif model.answer is None:
                self.reply(503, {"status": "loading the model"})
            else:
                self.reply(200, {"status": "ready"})

        def do_POST(self):
            if self.path != predict_route:
                return self.reply(404, {"error": f"no such route; POST {predict_route}"})
            try:
                length = int(self.headers.get("Content-Length", 0))
                if length > MAX_REQUEST:
                    raise UserError(f"the request is {length} bytes; at most {MAX_REQUEST} are accepted")
                body = json.loads(self.rfile.read(length) or b"null")
                instances = body.get("instances") if isinstance(body, dict) else None
                if not isinstance(instances, list) or not instances:
                    raise UserError('the request must be {"instances": [...]} with at least one instance')
                images = np.stack([image(instance, f"instance {n}") for n, instance in enumerate(instances)])
            except ValueError as e:
                return self.reply(400, {"error": f"the request is not JSON ({e})"})
            except UserError as e:
                return self.reply(400, {"error": str(e)})
            if model.answer is None:
                return self.reply(503, {"error": "the model is still loading; GET " + health_route + " says when"})
            outputs = model.answer(images)
            self.reply(200, {"predictions": [
                {"classes": int(digit), "predictions": [float(p) for p in row]}
                for digit, row in zip(outputs["classes"], outputs["predictions"])]})

        def reply(self, status, content):
            data = json.dumps(content).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away before the answer: nobody is left to tell

        def log_message(self, format, *args):  # one line per request, on stdout like the rest
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def stop(signum, frame):
    """SIGTERM, Vertex AI's way of stopping a container: end now, whatever is loading."""
    raise SystemExit(0)


def main(argv=None):
    signal.signal(signal.SIGTERM, stop)  # before anything slow: a container's process 1 ignores it otherwise
    parser = ArgumentParser(prog="python -m trainer.serve", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default=os.environ.get("AIP_STORAGE_URI"), metavar="DIR",
                        help="folder of the exported SavedModel, local or gs:// (default: $AIP_STORAGE_URI)")
    parser.add_argument("--port", type=number(int, 1, 65535), default=int(os.environ.get("AIP_HTTP_PORT", 8080)),
                        metavar="N", help="port to listen on (default: $AIP_HTTP_PORT, else 8080)")
    args = parser.parse_args(argv)
    if not args.model_dir:
        parser.error("--model-dir is required (or set AIP_STORAGE_URI)")
    health = os.environ.get("AIP_HEALTH_ROUTE", "/health")
    predict = os.environ.get("AIP_PREDICT_ROUTE", "/predict")
    model = Model(args.model_dir)
    try:
        server = ThreadingHTTPServer(("", args.port), handler_for(model, health, predict))
    except OSError as e:
        sys.exit(f"trainer.serve: error: cannot listen on port {args.port}: {e.strerror}")
    server.daemon_threads = True  # a request in progress does not keep a stopped server alive
    print(f"trainer.serve: {args.model_dir} on port {args.port}: POST {predict}, GET {health} "
          f"(503 while the model loads, then 200)", flush=True)
    threading.Thread(target=model.load, args=(server,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    if model.error:
        sys.exit(f"trainer.serve: error: {model.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
