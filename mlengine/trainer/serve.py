"""Serve the exported SavedModel over HTTP, as a Vertex AI prediction container.

    python -m trainer.serve [--model-dir DIR] [--port N]

The same image that trains (mlengine/Dockerfile) serves, with the same TensorFlow, so the model
is answered by the version that wrote it. Vertex AI starts the container with AIP_STORAGE_URI (the
model's folder, gs://...), AIP_HTTP_PORT, AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE set; the flags
stand in for them locally. POST {"instances": [...]} (what digits.py writes) to the predict route;
the answer is {"predictions": [{"classes": 7, "predictions": [10 probabilities]}, ...]}, the form
Vertex AI's prebuilt TensorFlow containers give. GET the health route: 200 once the model is loaded.
"""
import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np

from trainer.cli import ArgumentParser, import_quietly, number
from trainer.mnistdata import UserError
from trainer.predict import image

MAX_BODY = 1_500_000  # bytes: Vertex AI's own limit on a prediction request


def load(model_dir):
    tf = import_quietly("tensorflow")
    try:
        if not tf.saved_model.contains_saved_model(model_dir):
            raise UserError(f"{model_dir} holds no SavedModel (train with trainer.task first)")
        serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    except (tf.errors.OpError, KeyError) as e:
        raise UserError(f"cannot load the model in {model_dir}: {getattr(e, 'message', e)}") from None
    return lambda images: {name: value.numpy() for name, value in serve(image=tf.constant(images)).items()}


def handler_for(answer, health_route, predict_route):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == health_route:
                self.reply(200, {"status": "ready"})
            else:
                self.reply(404, {"error": f"no such route; GET {health_route} or POST {predict_route}"})

        def do_POST(self):
            if self.path != predict_route:
                return self.reply(404, {"error": f"no such route; POST {predict_route}"})
            try:
                length = int(self.headers.get("Content-Length", 0))
                if length > MAX_BODY:
                    raise UserError(f"the request is {length} bytes; at most {MAX_BODY} are accepted")
                body = json.loads(self.rfile.read(length) or b"null")
                instances = body.get("instances") if isinstance(body, dict) else None
                if not isinstance(instances, list) or not instances:
                    raise UserError('the request must be {"instances": [...]} with at least one instance')
                images = np.stack([image(instance, f"instance {n}") for n, instance in enumerate(instances)])
            except ValueError as e:
                return self.reply(400, {"error": f"the request is not JSON ({e})"})
            except UserError as e:
                return self.reply(400, {"error": str(e)})
            outputs = answer(images)
            self.reply(200, {"predictions": [
                {"classes": int(digit), "predictions": [float(p) for p in row]}
                for digit, row in zip(outputs["classes"], outputs["predictions"])]})

        def reply(self, status, content):
            data = json.dumps(content).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # one line per request, on stdout like the rest
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def main(argv=None):
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
    try:
        answer = load(args.model_dir)
        server = HTTPServer(("", args.port), handler_for(answer, health, predict))
    except UserError as e:
        sys.exit(f"trainer.serve: error: {e}")
    except OSError as e:
        sys.exit(f"trainer.serve: error: cannot listen on port {args.port}: {e.strerror}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # Vertex AI's way of stopping a container
    print(f"trainer.serve: {args.model_dir} on port {args.port}: POST {predict}, GET {health}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
