"""Fashion-MNIST (``keras.datasets.fashion_mnist``): 60,000 + 10,000 greyscale 28x28
images of 10 kinds of clothing, from the four gzipped IDX files."""
from __future__ import annotations

import gzip
import os

import numpy as np

from ._files import ORIGIN, get_file

__all__ = ["load_data"]

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz")


def _read(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 28, 28) and uint8 labels
    0-9, from ``~/.keras/datasets/fashion-mnist/`` (downloaded on first use; Keras checks
    no hash for these files)."""
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=ORIGIN + name, cache_subdir=subdir) for name in FILES]
    y_train = _read(paths[0], 8)
    x_train = _read(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read(paths[2], 8)
    x_test = _read(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
