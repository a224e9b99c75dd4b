"""``Input`` and ``InputLayer``: how a model learns its input shape."""
from __future__ import annotations

import numbers
from typing import Any, Dict, Optional

import numpy as np

from ._base import Layer, to_snake_case, unique_name

# The dtypes an Input may declare: float data (computed in float32), integer ids (for
# Embedding, CategoryEncoding, IntegerLookup; they travel as float32 holding exact
# integers) and strings (raw keys of a StringLookup, encoded before the graph).
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
_INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool")


def _input_dtype(dtype) -> str:
    """The dtype name an ``Input`` keeps (Keras's ``KerasTensor.dtype``): None is float32;
    float, integer, bool and string dtypes are accepted; anything else is a ValueError."""
    if dtype is None:
        return "float32"
    name = dtype
    if isinstance(dtype, dict):
        name = (dtype.get("config") or {}).get("name", dtype.get("name"))
    if name in ("string", "str") or name is str:
        return "string"
    if name == "bfloat16":
        return name
    try:
        name = np.dtype(name).name
    except TypeError:
        raise ValueError(f"Input: unsupported dtype={dtype!r}; use a float, integer, bool or 'string' dtype") from None
    if name in _FLOAT_DTYPES or name in _INT_DTYPES:
        return name
    if name.startswith("str") or name.startswith("bytes") or name == "object":
        return "string"
    raise ValueError(f"Input: unsupported dtype={dtype!r}; use a float, integer, bool or 'string' dtype")


def _batch_shape(shape, batch_size, batch_shape, who: str) -> tuple:
    if shape is not None and batch_shape is not None:
        raise ValueError(f"{who}: give either shape or batch_shape, not both")
    if batch_shape is None:
        if shape is None:
            raise ValueError(f"{who}: shape is required, e.g. shape=(20,) for 20 features")
        if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
            shape = (int(shape),)
        try:
            shape = tuple(shape)
        except TypeError:
            raise ValueError(f"{who}: shape must be a tuple of ints, got shape={shape!r}") from None
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size <= 0):
            raise ValueError(f"{who}: batch_size must be a positive int or None, got batch_size={batch_size!r}")
        batch_shape = (batch_size,) + shape
    batch_shape = tuple(batch_shape)
    if len(batch_shape) < 2:
        raise ValueError(f"{who}: samples need at least one dimension, got shape={tuple(batch_shape[1:])}")
    out = [None if batch_shape[0] is None else int(batch_shape[0])]
    for d in batch_shape[1:]:
        if d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0):
            raise ValueError(f"{who}: shape must hold positive ints (or None), got shape={tuple(batch_shape[1:])}")
        out.append(None if d is None else int(d))
    return tuple(out)


class Node:
    """One call of a layer on symbolic tensors (Keras's ``Node``): ``layer``, the
    ``input_tensors`` it was called on, the ``output_tensors`` it made, and the call's
    keyword ``arguments`` (e.g. ``training``). An ``InputLayer`` has one node with no inputs."""

    list_call = False  # called on a list (a merge layer's call; the config nests its args)

    def __init__(self, layer, input_tensors, output_tensors, arguments=None):
        self.layer = layer
        self.input_tensors = list(input_tensors)
        self.output_tensors = list(output_tensors)
        self.arguments = dict(arguments or {})

    @property
    def is_input(self) -> bool:
        """True for the node of an ``InputLayer`` (no inbound tensors)."""
        return not self.input_tensors

    def __repr__(self) -> str:
        return f"<Node layer={getattr(self.layer, 'name', self.layer)!r}, inputs={len(self.input_tensors)}>"


class KerasTensor:
    """A symbolic tensor (``keras.KerasTensor``): what ``Input`` returns and what a layer
    called on one returns. ``shape`` is ``(batch, *features)`` (batch None unless given),
    ``dtype`` the dtype of the values, ``name`` a unique name. ``_keras_history`` is
    ``(layer, node_index, tensor_index)``: the layer (an ``InputLayer`` for an input) whose
    ``_inbound_nodes[node_index]`` made this tensor. ``ranvier.Model(inputs, outputs)``
    walks these histories from the outputs back to the inputs."""

    _ranvier_symbolic = True

    def __init__(self, shape: tuple, dtype: str = "float32", name: Optional[str] = None,
                 input_layer: Optional["InputLayer"] = None, history: Optional[tuple] = None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name if name is not None else unique_name("keras_tensor")
        self.ndim = len(self.shape)
        self.sparse = False  # Keras's KerasTensor attributes (ranvier's tensors are dense)
        self.ragged = False
        if history is None and input_layer is not None:
            history = (input_layer, 0, 0)
        self._keras_history = history

    @property
    def _is_keras_input(self) -> bool:
        """True for a tensor made by ``Input`` (what ``Sequential`` takes as its first element)."""
        return self.input_layer is not None

    @property
    def input_layer(self) -> Optional["InputLayer"]:
        """The ``InputLayer`` that made this tensor (None for the output of another layer)."""
        h = self._keras_history
        return h[0] if h is not None and isinstance(h[0], InputLayer) else None

    @property
    def node(self) -> Optional[Node]:
        """The ``Node`` (call) that made this tensor, or None."""
        h = self._keras_history
        if h is None:
            return None
        nodes = getattr(h[0], "_inbound_nodes", None) or []
        return nodes[h[1]] if h[1] < len(nodes) else None

    def __array__(self, dtype=None, copy=None):
        raise ValueError(
            f"{self!r} is a symbolic tensor: it has no values. Build a model from it with "
            f"ranvier.Model(inputs, outputs), then call model.predict(data)")

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse=False, ragged=False, name={self.name}>"

    def _no_op(self, *args, **kwargs):
        raise TypeError(
            f"arithmetic and indexing on symbolic tensors (x + y, x * 2, x[..., :3], ...) are not supported: use "
            f"layers on {self.name!r} (Add, Subtract, Multiply, Concatenate, an Activation, Dense, ...), or "
            f"compute such steps on the data in NumPy")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _no_op
    __matmul__ = __rmatmul__ = __pow__ = __neg__ = __getitem__ = __abs__ = _no_op


class InputLayer(Layer):
    """``keras.layers.InputLayer(shape=None, batch_size=None, dtype=None, batch_shape=None,
    name=None)``; holds no weights. ``.shape`` / ``.batch_shape`` is ``(batch, *shape)``."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=None, **kwargs):
        if sparse or ragged:
            raise ValueError("InputLayer: sparse and ragged inputs are not supported")
        self.input_dtype = _input_dtype(dtype)
        given_name = name
        if name is None:
            name = unique_name(to_snake_case("InputLayer"))
        if "input_shape" in kwargs:
            legacy = kwargs.pop("input_shape")
            shape = legacy if shape is None else shape
        if batch_shape is None and "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("trainable", None)
        super().__init__(name=name, **kwargs)
        self.batch_shape = _batch_shape(shape, batch_size, batch_shape, "InputLayer")
        self.optional = bool(optional)
        self._build_input_shape = self.batch_shape
        self.built = True
        # Keras: the tensor takes the given name, else its own automatic one ("keras_tensor_N")
        self._inbound_nodes = [Node(self, [], [KerasTensor(self.batch_shape, self.input_dtype, name=given_name,
                                                          input_layer=self)])]

    @property
    def dtype(self) -> str:
        """The input's dtype (``"float32"`` unless ``Input(dtype=...)`` named another)."""
        return self.input_dtype

    @property
    def shape(self) -> tuple:
        """The same as ``batch_shape``: ``(batch_size, *shape)``."""
        return self.batch_shape

    def build(self, input_shape=None) -> None:
        self.built = True

    def compute_output_shape(self, input_shape=None):
        return self.batch_shape

    def count_params(self) -> int:
        return 0

    def __call__(self, *args, **kwargs):
        raise TypeError("InputLayer is not callable; use ranvier.Input(shape) and pass the tensor it returns "
                        "to Sequential (first element) or to ranvier.Model(inputs, outputs)")

    __call__._symbolic_aware = True  # type: ignore[attr-defined]

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.input_dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False, ragged=None) -> KerasTensor:
    """``keras.Input``: a symbolic input of ``shape`` (per sample, without the batch).
    The result has ``.shape == (batch_size, *shape)`` with batch_size None by default.
    Start a ``Sequential`` with it, or call layers on it and build
    ``ranvier.Model(inputs, outputs)`` (the functional API, for chains of layers)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, optional=optional, ragged=ragged)
    return layer.output


def input_layer_entry(batch_shape: list, dtype: str, name: str) -> Dict[str, Any]:
    """A Sequential config's InputLayer entry, as Keras 3.15 writes it."""
    return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
            "config": {"batch_shape": batch_shape, "dtype": dtype, "sparse": False, "ragged": False,
                       "name": name, "optional": False}}
