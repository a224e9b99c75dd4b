"""What layers, models, losses and metrics return when called on data: NumPy arrays with
the ``.numpy()`` method of Keras's eager tensors, so that Keras idioms such as
``model(x).numpy()``, ``loss_fn(y, p).numpy()`` and ``metric.result().numpy()`` work.

``EagerArray`` is a plain ``np.ndarray`` subclass (every NumPy function takes it, and
``np.asarray`` gives the base array back); ``numpy()`` returns a copy as a base ndarray, or
a NumPy scalar for rank 0, as TensorFlow's ``EagerTensor.numpy()`` does."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EagerArray", "EagerFloat", "EagerFloat32", "eager", "eager_structure", "eager_scalar", "eager_result"]


class EagerArray(np.ndarray):
    """A NumPy array with Keras's eager-tensor method ``numpy()``."""

    def numpy(self):
        """A copy as a plain NumPy array (a NumPy scalar for a rank-0 value)."""
        a = np.array(self, copy=True, subok=False)
        return a[()] if a.ndim == 0 else a


class EagerFloat(float):
    """A Python float (a scalar metric result) with an eager tensor's ``numpy()``,
    ``shape`` and ``dtype``."""

    shape = ()
    ndim = 0
    dtype = np.dtype("float32")

    def numpy(self):
        """The value as a NumPy float32 scalar (what Keras's ``result().numpy()`` gives)."""
        return np.float32(self)


class EagerFloat32(np.float32):
    """A NumPy float32 scalar (a reduced loss) with an eager tensor's ``numpy()``."""

    def numpy(self):
        """The value as a plain NumPy float32 scalar."""
        return np.float32(self)


def eager(value: Any) -> Any:
    """``value`` with ``numpy()``: an ndarray viewed as ``EagerArray`` (no copy), a NumPy
    float32 scalar as ``EagerFloat32``; anything else unchanged."""
    if isinstance(value, np.ndarray) and not isinstance(value, EagerArray):
        return value.view(EagerArray)
    if type(value) is np.float32:
        return EagerFloat32(value)
    return value


def eager_structure(value: Any) -> Any:
    """``eager`` over a model's output structure (an array, a list/tuple or a dict of them)."""
    if isinstance(value, dict):
        return {k: eager(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(eager(v) for v in value)
    return eager(value)


def eager_scalar(value: Any) -> Any:
    """A scalar result with ``numpy()``: a Python float becomes ``EagerFloat``."""
    if isinstance(value, float) and not isinstance(value, EagerFloat):
        return EagerFloat(value)
    return value


def eager_result(value: Any) -> Any:
    """A metric result as Keras returns it, with ``numpy()``: a Python float or a rank-0
    value becomes ``EagerFloat``; an array of numbers an ``EagerArray`` (no copy). Anything
    else (another library's tensors) is returned unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return EagerFloat(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        if value.ndim == 0:
            return EagerFloat(value)
        return value.view(EagerArray)
    return value
