"""The MNIST trainer for Vertex AI custom jobs: python -m trainer.task --help."""
