"""Utilities with Keras's names: ``set_random_seed``, ``to_categorical``, ``Progbar``,
``PyDataset`` (alias ``Sequence``), ``plot_model``; and ranvier's ``profile()`` (time per
layer and phase of ``fit``/``evaluate``)."""
from __future__ import annotations

import numpy as np

from . import _random
from ._data import PyDataset, Sequence
from ._plot_model import model_to_dot, plot_model
from .datasets._files import get_file
from ._profile import Profile, profile
from ._progbar import Progbar

__all__ = ["set_random_seed", "clear_session", "to_categorical", "Progbar", "profile", "Profile", "PyDataset", "Sequence", "get_file",
           "plot_model", "model_to_dot"]


def clear_session() -> None:
    """Keras's ``clear_session``: restarts the automatic names of layers, models, metrics and
    optimizers ("dense", "dense_1", ... begin again at "dense")."""
    from . import _naming
    _naming.reset()


def set_random_seed(seed) -> None:
    """Seeds everything random in ranvier (initializers, shuffling, Dropout), and Python's
    ``random`` and NumPy's legacy global generator, as ``keras.utils.set_random_seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})")
    _random.seed(int(seed))


def to_categorical(x, num_classes=None) -> np.ndarray:
    """Integer class labels -> one-hot float64 array (Keras semantics).

    A trailing dimension of 1 is dropped before the class axis is appended (``(n, 1)`` ->
    ``(n, num_classes)``); labels are converted with ``np.array(x, dtype="int64")``
    (floats truncate); ``num_classes`` defaults to ``max(x) + 1``. A label >= num_classes
    raises IndexError; negative labels count from the end, as NumPy indexing (and Keras) do.
    """
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        if x.size == 0:
            raise ValueError("to_categorical: x is empty and num_classes is not given")
        num_classes = int(np.max(x)) + 1
    num_classes = int(num_classes)
    if x.size:
        hi, lo = int(x.max()), int(x.min())
        if hi >= num_classes or lo < -num_classes:
            bad = hi if hi >= num_classes else lo
            raise IndexError(
                f"to_categorical: label {bad} is out of range for num_classes={num_classes} "
                f"(labels must be in [0, {num_classes - 1}])")
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(input_shape + (num_classes,))
