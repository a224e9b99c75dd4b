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
from ._serialization import deserialize_keras_object, serialize_keras_object
from ._custom_objects import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                              get_registered_object, register_keras_serializable)

__all__ = ["set_random_seed", "clear_session", "to_categorical", "Progbar", "profile", "Profile", "PyDataset", "Sequence", "get_file",
           "plot_model", "model_to_dot", "pad_sequences", "normalize", "register_keras_serializable",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope", "get_registered_name",
           "get_registered_object", "serialize_keras_object", "deserialize_keras_object",
           "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "is_keras_tensor", "get_source_inputs"]


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras's ``pack_x_y_sample_weight``: the tuple a generator or ``PyDataset`` yields —
    ``x`` alone when ``y`` is None (a tuple ``x`` is wrapped as ``(x,)``), ``(x, y)``
    without a sample weight, else ``(x, y, sample_weight)``."""
    if y is None:
        return x if not isinstance(x, tuple) else (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """Keras's ``unpack_x_y_sample_weight``: ``(x, y, sample_weight)`` of a batch (a tuple or
    list of 1 to 3 elements; anything else is ``x``), missing parts None."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found: {data}")


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor of the functional API (``ranvier.Input(...)`` or a
    layer's output on one)."""
    from .layers import KerasTensor
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """Keras's ``get_source_inputs``: the ``Input`` tensors a symbolic tensor derives from (in
    the order the graph reaches them); a tensor made by ``Input`` is its own source."""
    from .layers import KerasTensor
    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"get_source_inputs: expected a symbolic tensor (ranvier.Input or a layer's output), "
                         f"got {type(tensor).__name__}")
    out, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.node
        if t.input_layer is not None or node is None or not node.input_tensors:
            out.append(t)
            continue
        stack.extend(reversed(list(node.input_tensors)))
    return out


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


def normalize(x, axis=-1, order=2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (Keras's ``keras.utils.normalize``);
    a zero norm leaves the zeros."""
    arr = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0) -> np.ndarray:
    """Keras's ``pad_sequences``: a list of sequences -> a ``(len(sequences), maxlen)`` array.

    ``maxlen`` defaults to the longest sequence; longer ones lose their start
    (``truncating="pre"``) or end ("post"); shorter ones are filled with ``value`` before
    (``padding="pre"``) or after ("post"). Elements may themselves be arrays (the result then
    has their shape as trailing axes). ValueError for a bad ``padding``/``truncating``, a
    non-iterable sequence, or a string ``value`` with a numeric dtype."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    lengths, sample_shape, flag = [], (), True
    for x in sequences:
        try:
            lengths.append(len(x))
            if flag and len(x):
                sample_shape = np.asarray(x).shape[1:]
                flag = False
        except TypeError as e:
            raise ValueError("`sequences` must be a list of iterables. "
                             f"Found non-iterable: {str(x)}") from e
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    is_dtype_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.object_)
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, -len(trunc):] = trunc
    return out
