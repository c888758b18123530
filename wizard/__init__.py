"""torch-gpu-setup: from "I have an NVIDIA card" to "PyTorch trains on my GPU"."""

__version__ = "0.1.0"
