"""The global 1-D pooling layers: GlobalAveragePooling1D and GlobalMaxPooling1D
(cpp/src/layers/global_pooling.cpp), with Keras's aliases GlobalAvgPool1D and GlobalMaxPool1D.

A sample is (steps, features) (``data_format="channels_last"``, the default) or
(features, steps) (``"channels_first"``); the layer reduces the steps axis, giving
(batch, features), or (batch, 1, features) / (batch, features, 1) with ``keepdims=True``.
The C++ layer takes the flattened sample as its row and is given the sample's shape.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from .. import _checks, _core
from ._base import Layer


def _data_format(value) -> str:
    """Keras's ``standardize_data_format``: None is channels_last; case is ignored."""
    if value is None:
        return "channels_last"
    fmt = value.lower() if isinstance(value, str) else value
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={value}")
    return fmt


class _GlobalPooling1D(Layer):
    """Shared body of the two global 1-D pooling layers (``_max`` picks the reduction)."""

    _max = False
    _flat_input = True  # the C++ layer's row is the whole flattened (steps, features) sample

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        fmt = _data_format(data_format)
        keep = _checks.check_bool(keepdims, "keepdims", type(self).__name__)
        super().__init__(**kwargs)
        self.data_format = fmt
        self.keepdims = keep
        self._pool_shape: Tuple[int, ...] = ()

    def _core_config(self) -> Dict[str, Any]:
        return {"data_format": self.data_format, "keepdims": self.keepdims}

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) != 3:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=3, "
                             f"found ndim={len(shape)}. Full shape received: {shape} ({type(self).__name__} "
                             f"takes (batch, steps, features) inputs"
                             + (", with data_format='channels_first': (batch, features, steps))"
                                if self.data_format == "channels_first" else ")"))

    def _in_features(self, input_shape: tuple) -> int:
        shape = tuple(input_shape)
        self._check_rank(shape)
        dims = shape[1:]
        if any(d is None or d <= 0 for d in dims):
            raise ValueError(f"{self._describe()} needs known, positive steps and features, got input_shape={shape}")
        self._pool_shape = tuple(int(d) for d in dims)
        return _checks.check_shape_product(dims, "input_shape[1:]", self._describe())

    def _make_core(self) -> _core.Layer:
        return _core.layer_from_config(type(self)._class_name(), self._core_config(),
                                       sample_shape=list(self._pool_shape))

    @classmethod
    def _class_name(cls) -> str:
        return "GlobalMaxPooling1D" if cls._max else "GlobalAveragePooling1D"

    def _rebuild_for_shape(self, shape: tuple) -> bool:
        """A built layer given samples of another (steps, features) shape with the same
        number of values (it has no weights): its C++ layer is rebuilt for them. True when
        the layer now takes ``shape``."""
        shape = tuple(shape)
        if self._build_input_shape is not None and tuple(self._build_input_shape)[1:] == shape[1:]:
            return True
        width = self._in_features(shape)
        core = self._make_core()
        core.trainable = bool(self.trainable)
        core.build(width)
        core.bind([], [])
        self._core_layer = core
        self._capacity = 0
        self._build_input_shape = (None,) + shape[1:]
        return True

    def compute_output_shape(self, input_shape):
        """(batch, features), or (batch, 1, features) / (batch, features, 1) with keepdims."""
        shape = tuple(input_shape)
        self._check_rank(shape)
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1) if self.keepdims else (shape[0], shape[1])
        return (shape[0], 1, shape[2]) if self.keepdims else (shape[0], shape[2])

    def _adapt_rank(self, arr: np.ndarray) -> np.ndarray:
        self._check_rank(tuple(arr.shape))
        return arr

    def _to_rows(self, x: np.ndarray):
        want = tuple(self._build_input_shape or ())[1:]
        if tuple(x.shape[1:]) != want:
            self._rebuild_for_shape((None,) + tuple(x.shape[1:]))
        rows = x.reshape(x.shape[0], -1)
        return rows, self.compute_output_shape(x.shape)

    def __call__(self, x, training=None, **kwargs):
        mask = kwargs.pop("mask", None)
        if mask is not None:
            raise NotImplementedError(f"{self._describe()}: a mask is not supported (ranvier's Embedding refuses "
                                      f"mask_zero=True); pool the unmasked steps yourself")
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
        arr = _checks.as_numeric_array(x, "x", self._describe())
        self._check_rank(tuple(arr.shape))
        if self.built:
            owner = self._owner()
            if tuple(arr.shape[1:]) != tuple(self._build_input_shape or ())[1:] and owner is not None:
                raise ValueError(f"{self._describe()} is part of a model built for samples of shape "
                                 f"{tuple(self._build_input_shape or ())[1:]}, got x.shape={arr.shape}")
        if arr.shape[0] == 0:
            if not self.built:
                self.build((None,) + tuple(arr.shape[1:]))
            return np.zeros(self.compute_output_shape(arr.shape), np.float32)
        return super().__call__(arr, training=training)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        config["keepdims"] = self.keepdims
        return config


class GlobalAveragePooling1D(_GlobalPooling1D):
    """``keras.layers.GlobalAveragePooling1D(data_format="channels_last", keepdims=False)``:
    the mean over the steps of (batch, steps, features) inputs, giving (batch, features)
    ((batch, 1, features) with ``keepdims=True``). ``data_format="channels_first"`` takes
    (batch, features, steps) and averages the last axis. The mean is summed in float64 then
    rounded to float32; the gradient spreads ``dy / steps`` to every step. A mask is not
    supported. Alias: ``GlobalAvgPool1D``."""

    _max = False


class GlobalMaxPooling1D(_GlobalPooling1D):
    """``keras.layers.GlobalMaxPooling1D(data_format="channels_last", keepdims=False)``: the
    maximum over the steps of (batch, steps, features) inputs, giving (batch, features)
    ((batch, 1, features) with ``keepdims=True``; ``"channels_first"``: (batch, features,
    steps), the last axis reduced). A NaN among the steps gives NaN. The gradient goes to the
    step holding the maximum; when several steps tie for it they share ``dy`` evenly, as
    TensorFlow's gradient of ``reduce_max`` does. A mask is not supported. Alias:
    ``GlobalMaxPool1D``."""

    _max = True


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D

