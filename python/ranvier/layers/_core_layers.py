"""Dense, Dropout, Flatten and the activation layers."""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict

import numpy as np

from .. import _core, _random
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._base import (
    ACT_KINDS,
    Layer,
    check_bool,
    check_float,
    core_act_args,
    get_initializer,
    resolve_activation,
    serialize_activation,
)


def _get_regularizer(identifier, argument: str):
    try:
        reg = _regularizers.get(identifier)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{argument}: {e}") from None
    return reg, _regularizers._core_spec(reg, argument)


def _get_constraint(identifier, ndim: int, argument: str):
    try:
        con = _constraints.get(identifier)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{argument}: {e}") from None
    return con, _constraints._core_spec(con, ndim, argument)


# ----------------------------------------------------------------------------- Dense
class Dense(Layer):
    """``y = activation(x @ kernel + bias)``, kernel of shape (input_dim, units) as Keras.

    Arguments and defaults as ``keras.layers.Dense``. Regularizers: L1/L2/L1L2;
    constraints: MaxNorm/NonNeg/UnitNorm/MinMaxNorm; activations: anything
    ``ranvier.activations`` maps to a core kind.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError("Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units!r}")
        if lora_rank is not None or quantization_config is not None:
            raise ValueError("Dense: lora_rank and quantization_config are not supported by ranvier")
        super().__init__(**kwargs)
        self.units = int(units)
        self._act_kind, self._act_params, self._act_name = resolve_activation(activation, "activation")
        self.activation = activation
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = get_initializer(kernel_initializer, "kernel_initializer")
        self.bias_initializer = get_initializer(bias_initializer, "bias_initializer")
        self.kernel_regularizer, self._kreg = _get_regularizer(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer, self._breg = _get_regularizer(bias_regularizer, "bias_regularizer")
        self.activity_regularizer, self._areg = _get_regularizer(activity_regularizer, "activity_regularizer")
        self.kernel_constraint, self._kcon = _get_constraint(kernel_constraint, 2, "kernel_constraint")
        self.bias_constraint, self._bcon = _get_constraint(bias_constraint, 1, "bias_constraint")

    def _describe(self) -> str:
        return f"Dense({self.units})"

    def _make_core(self):
        return _core.Dense(
            units=self.units, activation=self._act_kind, **core_act_args(self._act_name, self._act_params),
            use_bias=self.use_bias, kernel_regularizer=self._kreg, bias_regularizer=self._breg,
            activity_regularizer=self._areg, kernel_constraint=self._kcon, bias_constraint=self._bcon)

    def _initializer_for(self, name):
        return {"kernel": self.kernel_initializer, "bias": self.bias_initializer}[name]

    @property
    def kernel(self):
        """The (input_dim, units) kernel ``Variable``."""
        self._require_built("kernel")
        return self.weights[0]

    @property
    def bias(self):
        """The (units,) bias ``Variable``, or None when ``use_bias=False``."""
        self._require_built("bias")
        return self.weights[1] if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.units,)

    def _weight_count(self, input_shape):
        d = tuple(input_shape)[-1] if len(tuple(input_shape)) >= 2 else None
        if d is None or d <= 0:
            return 0
        return int(d) * self.units + (self.units if self.use_bias else 0)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _regularizers.serialize(self.activity_regularizer)
        config.update({
            "units": self.units,
            "activation": serialize_activation(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": _constraints.serialize(self.kernel_constraint),
            "bias_constraint": _constraints.serialize(self.bias_constraint),
        })
        return config


# ----------------------------------------------------------------------------- Dropout
class Dropout(Layer):
    """Inverted dropout: in training, each element is kept with probability ``1 - rate``
    and scaled by ``1 / (1 - rate)``; identity otherwise.

    Masks are a counter-based hash of (seed, training step, element index): the same at
    any thread count and on any machine. ``seed=None`` takes a seed from ranvier's global
    stream when the layer is created. ``noise_shape`` (2-D): a 1 shares the mask along
    that axis, e.g. ``(1, features)`` one mask for the whole batch.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        if (isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not math.isfinite(rate)
                or not 0 <= rate <= 1):
            raise ValueError("Invalid value received for argument `rate`. Expected a float value between "
                             f"0 and 1. Received: rate={rate!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"Dropout: seed must be a non-negative int or None, got seed={seed!r}")
        if noise_shape is not None:
            if (isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__len__")
                    or len(noise_shape) != 2 or any(
                        d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1)
                        for d in noise_shape)):
                raise ValueError("Dropout: noise_shape must have 2 entries (batch, features), each a positive "
                                 f"int or None, got noise_shape={noise_shape!r}")
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self.noise_shape = noise_shape
        self._core_seed = self.seed if self.seed is not None else _random.next_seed()
        self._features = None

    def _in_features(self, input_shape):
        nf = super()._in_features(input_shape)
        self._features = nf
        return nf

    def _make_core(self):
        rows = cols = False
        if self.noise_shape is not None:
            nb, nfeat = self.noise_shape
            if nfeat is not None and nfeat not in (1, self._features):
                raise ValueError(f"Dropout: noise_shape={self.noise_shape} does not broadcast to inputs "
                                 f"with {self._features} features")
            rows = nb == 1
            cols = nfeat == 1 and self._features != 1
        return _core.Dropout(rate=self.rate, seed=self._core_seed, broadcast_rows=rows, broadcast_cols=cols)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


# ----------------------------------------------------------------------------- Flatten
class Flatten(Layer):
    """Flattens each sample to one row: (batch, d1, d2, ...) -> (batch, d1*d2*...)."""

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be None, 'channels_last' or 'channels_first', "
                             f"got {data_format!r}")
        super().__init__(**kwargs)
        self.data_format = data_format

    def _in_features(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"Flatten expects inputs with a batch dimension, got input_shape={input_shape}")
        dims = input_shape[1:]
        if any(d is None or d <= 0 for d in dims):
            raise ValueError(f"Flatten needs known, positive dimensions, got input_shape={input_shape}")
        return int(np.prod(dims)) if dims else 1

    def _make_core(self):
        return _core.Flatten()

    def _to_rows(self, x):
        nf = self._core_layer.in_features
        feats = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
        if feats != nf:
            raise ValueError(f"{self._describe()} expected input with {nf} features per sample, "
                             f"got x.shape={x.shape}")
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], nf), (x.shape[0], nf)

    def __call__(self, x, training=None, **kwargs):
        arr = np.asarray(x)
        if arr.ndim == 1:  # Keras: (batch,) -> (batch, 1)
            x = arr.reshape(-1, 1)
        return super().__call__(x, training=training, **kwargs)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        dims = shape[1:]
        if any(d is None for d in dims):
            return (shape[0], None)
        return (shape[0], int(np.prod(dims)) if dims else 1)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


# ----------------------------------------------------------------------------- activation layers
class _ActivationBase(Layer):
    _type_name = "Activation"

    def _set_activation(self, kind: int, params: Dict[str, float], kind_name: str) -> None:
        self._act_kind, self._act_params, self._act_name = kind, params, kind_name

    def _make_core(self):
        return _core.ActivationLayer(activation=self._act_kind, **core_act_args(self._act_name, self._act_params),
                                     type_name=self._type_name)


class Activation(_ActivationBase):
    """Applies an activation function (any name ``ranvier.activations`` knows)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self._set_activation(*resolve_activation(activation, "activation"))
        self.activation = activation

    def get_config(self):
        config = super().get_config()
        config["activation"] = serialize_activation(self.activation)
        return config


class ReLU(_ActivationBase):
    """``keras.layers.ReLU(max_value=None, negative_slope=0.0, threshold=0.0)`` (spec 1.3)."""
    _type_name = "ReLU"

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        if max_value is not None:
            max_value = check_float(max_value, "max_value")
            if max_value < 0:
                raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                                 f"Received: max_value={max_value}")
        if negative_slope is None or check_float(negative_slope, "negative_slope") < 0:
            raise ValueError("negative_slope of a ReLU layer cannot be a negative value. "
                             f"Received: negative_slope={negative_slope}")
        if threshold is None or check_float(threshold, "threshold") < 0:
            raise ValueError(f"threshold of a ReLU layer cannot be a negative value. Received: threshold={threshold}")
        super().__init__(**kwargs)
        self.max_value = max_value
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)
        self._set_activation(ACT_KINDS.index("relu"), {"negative_slope": self.negative_slope, "max_value": max_value,
                                 "threshold": self.threshold}, "relu")

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(_ActivationBase):
    """``keras.layers.LeakyReLU(negative_slope=0.3)`` (the layer's default is 0.3, the
    function's 0.2); ``alpha=`` is accepted as the deprecated alias."""
    _type_name = "LeakyReLU"

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        if negative_slope is None or check_float(negative_slope, "negative_slope") < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative. "
                             f"Received: negative_slope={negative_slope}")
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)
        self._set_activation(ACT_KINDS.index("leaky_relu"), {"negative_slope": self.negative_slope}, "leaky_relu")

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(_ActivationBase):
    """``keras.layers.ELU(alpha=1.0)``."""
    _type_name = "ELU"

    def __init__(self, alpha=1.0, **kwargs):
        alpha = check_float(alpha, "alpha")
        super().__init__(**kwargs)
        self.alpha = alpha
        self._set_activation(ACT_KINDS.index("elu"), {"alpha": alpha}, "elu")

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class Softmax(_ActivationBase):
    """``keras.layers.Softmax(axis=-1)``: softmax over the last axis (the only one
    ranvier's row-wise core supports)."""
    _type_name = "Softmax"

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"Softmax: axis must be an int, got axis={axis!r}")
        super().__init__(**kwargs)
        self.axis = int(axis)
        self._set_activation(ACT_KINDS.index("softmax"), {}, "softmax")

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self.axis not in (-1, len(shape) - 1):
            raise ValueError(f"Softmax: ranvier supports softmax over the last axis only, got axis={self.axis} "
                             f"for input_shape={shape}")
        super().build(input_shape)

    def __call__(self, x, training=None, mask=None, **kwargs):
        if mask is not None:
            raise ValueError("Softmax: masks are not supported")
        return super().__call__(x, training=training, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
