"""The MNIST trainer for Vertex AI custom jobs: python -m trainer.task --help."""
import importlib.util
import os
import sys

# The MNIST reader is the tutorial's own, kept once. Building the package (sdist, wheel, the Docker
# image) packs copies in as trainer/mnistdata.py and trainer/offline_mnist.py (see build_backend.py);
# in a source checkout mnistdata is read from the tutorial's folder, and runs offline_mnist.py there.
_HERE = os.path.dirname(os.path.abspath(__file__))
if not os.path.exists(os.path.join(_HERE, "mnistdata.py")):
    _spec = importlib.util.spec_from_file_location(
        "trainer.mnistdata", os.path.join(_HERE, os.pardir, os.pardir, "tensorflow-mnist-tutorial", "mnist_tutorial", "mnistdata.py"))
    sys.modules["trainer.mnistdata"] = _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    mnistdata = _module
