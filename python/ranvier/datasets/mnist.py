"""MNIST digits (``keras.datasets.mnist``): 60,000 + 10,000 greyscale 28x28 images."""
from __future__ import annotations

import numpy as np

from ._files import ORIGIN, get_file

__all__ = ["load_data"]

SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 28, 28) and uint8 labels
    0-9, from ``mnist.npz`` in the Keras cache folder (downloaded on first use)."""
    path = get_file(fname=path, origin=f"{ORIGIN}mnist.npz", file_hash=SHA256)
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
