"""``Input`` and ``InputLayer``: how a model learns its input shape."""
from __future__ import annotations

import numbers
from typing import Optional

from ._base import Layer, check_dtype, to_snake_case, unique_name


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


class KerasTensor:
    """What ``Input`` returns: a symbolic input with ``shape == (batch_size, *shape)``
    (batch None by default) that ``Sequential`` recognizes as its first element."""

    _is_keras_input = True

    def __init__(self, shape: tuple, dtype: str = "float32", name: Optional[str] = None,
                 input_layer: Optional["InputLayer"] = None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.ndim = len(self.shape)
        self._keras_history = input_layer

    @property
    def input_layer(self) -> Optional["InputLayer"]:
        """The ``InputLayer`` that made this tensor (None when created directly)."""
        return self._keras_history

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class InputLayer(Layer):
    """``keras.layers.InputLayer(shape=None, batch_size=None, dtype=None, batch_shape=None,
    name=None)``; holds no weights. ``.shape`` / ``.batch_shape`` is ``(batch, *shape)``."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=None, **kwargs):
        if sparse or ragged:
            raise ValueError("InputLayer: sparse and ragged inputs are not supported")
        check_dtype(dtype)
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
        self.output = KerasTensor(self.batch_shape, "float32", name=self.name, input_layer=self)

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
        raise TypeError("InputLayer is not callable on data; pass it (or ranvier.Input) to Sequential")

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": "float32", "sparse": False,
                "ragged": False, "name": self.name, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False, ragged=None) -> KerasTensor:
    """``keras.Input``: a symbolic input of ``shape`` (per sample, without the batch).
    The result has ``.shape == (batch_size, *shape)`` with batch_size None by default."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, optional=optional, ragged=ragged)
    return layer.output
