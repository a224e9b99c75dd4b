"""Dense, Dropout, GaussianNoise, Flatten and the activation layers."""
from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, Dict

import numpy as np

from .. import _checks, _core, _random
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._base import (
    ACT_KINDS,
    Layer,
    check_bool,
    check_float,
    check_layer_argument,
    check_seed,
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


# ----------------------------------------------------------------------------- activation attribute
def _remake_core(layer, what: str) -> None:
    """After a change of a built layer's own settings (``layer.activation = ...``): a new C++
    layer with the same weights; the model whose network runs it builds a new network
    (a model that shares the layer rebuilds its own when it takes the layer back)."""
    owner = layer._owner()
    with owner._structural(what) if owner is not None else contextlib.nullcontext():
        old = layer._core_layer
        core = layer._make_core()
        core.trainable = True
        core.build(int(old.in_features))
        params = [np.array(p, dtype=np.float32, order="C") for p in layer._params]
        grads = [None if g is None else np.zeros_like(p) for p, g in zip(params, layer._grads)]
        core.trainable = bool(old.trainable)
        core.bind(params, grads)
        layer._core_layer, layer._params, layer._grads = core, params, grads
        layer._capacity = 0  # the new C++ layer reserves its workspaces on its first call
        layer._core_generation = getattr(layer, "_core_generation", 0) + 1
        if owner is not None and owner._net_obj is not None:
            owner._build_layers()  # a new network now (as at compile after `trainable` changed)


class _ActivationAttribute:
    """``layer.activation`` as Keras has it: the activation function
    (``activations.get(identifier)``; ``linear`` for None). Setting it (a name, a function,
    a config dict or None) changes what the layer computes from then on, as in Keras; the
    new activation must be one the C++ layers run."""

    _activation_fn: Any = None

    @property
    def activation(self):
        """The activation function the layer applies (``ranvier.activations.linear`` for None)."""
        return self._activation_fn

    @activation.setter
    def activation(self, identifier) -> None:
        from .. import activations
        kind, params, name = resolve_activation(identifier, "activation")
        saved = {k: self.__dict__.get(k) for k in ("_act_kind", "_act_params", "_act_name", "_activation_fn")}
        self._act_kind, self._act_params, self._act_name = kind, params, name
        self._activation_fn = activations.get(identifier)
        if getattr(self, "_core_layer", None) is not None:
            try:
                _remake_core(self, f"{self._describe()}.activation")  # type: ignore[attr-defined]
            except BaseException:  # refused (the model is running): the layer stays as it was
                self.__dict__.update(saved)
                raise


# ----------------------------------------------------------------------------- Dense
class Dense(_ActivationAttribute, Layer):
    """``y = activation(x @ kernel + bias)``, kernel of shape (input_dim, units) as Keras.

    Arguments and defaults as ``keras.layers.Dense``. Regularizers: L1/L2/L1L2;
    constraints: MaxNorm/NonNeg/UnitNorm/MinMaxNorm; activations: anything
    ``ranvier.activations`` maps to a core kind. ``dtype="mixed_bfloat16"`` (or the
    global policy, see ``ranvier.mixed_precision``) rounds the inputs of the layer's
    three matrix multiplies (``x @ kernel``, ``dy @ kernel^T``, ``x^T @ dy``) to bfloat16
    and sums in float32; the kernel, bias, output and gradients stay float32.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        _core.layer_check_config("Dense", {"units": units})  # the core's check, Keras's message
        if lora_rank is not None or quantization_config is not None:
            raise ValueError("Dense: lora_rank and quantization_config are not supported by ranvier")
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activation  # the function; the C++ kind with it (_ActivationAttribute)
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
            activity_regularizer=self._areg, kernel_constraint=self._kcon, bias_constraint=self._bcon,
            bf16=self._dtype_policy.name == "mixed_bfloat16", f16=self._dtype_policy.name == "mixed_float16")

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
            "quantization_config": None,  # Keras 3.15 writes it (ranvier does not quantize)
        })
        return config


# ----------------------------------------------------------------------------- Dropout
def _noise_call(layer, layer_call, x, training, kwargs, make_core):
    """``__call__`` of a layer whose noise Keras applies to input of any rank (Dropout,
    GaussianNoise): rank 2 and up go through ``layer_call`` (Layer.__call__); rank 0 and 1 are
    one row of elements, returned unchanged outside training, else passed through a core of
    that width made by ``make_core()`` for this call (the layer's seed and step, so the draws
    are the same as in a model)."""
    arr = _checks.as_numeric_array(x, "x", layer._describe())
    if arr.ndim >= 2 or arr.dtype == object or arr.dtype.kind not in "fiub":
        return layer_call(arr, training=training, **kwargs)
    kwargs.pop("mask", None)
    if kwargs:
        raise TypeError(f"{type(layer).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
    rows = _checks.to_float32(arr.reshape(1, -1), "x", layer._describe())
    if not training or rows.shape[1] == 0:
        return rows.reshape(arr.shape).copy()
    core = make_core()
    core.build(rows.shape[1])
    core.bind([], [])
    core.reserve(1)
    layer._step += 1
    out = np.empty_like(rows)
    core.forward(rows, out, True, layer._step)
    return out.reshape(arr.shape)


class Dropout(Layer):
    """Inverted dropout: in training, each element is kept with probability ``1 - rate``
    and scaled by ``1 / (1 - rate)``; identity otherwise.

    ``rate`` must be in [0, 1] (Keras 3). ``rate=0`` is the identity; ``rate=1`` drops
    every element: the output in training is all zeros and so are the gradients flowing
    back through the layer (the 1 / (1 - rate) scale is never formed, so no NaN or inf
    appears), and inference is the identity as for any rate. Input of any rank, as in
    Keras (rank 0 and 1 are one row of elements).

    Masks are a counter-based hash of (seed, training step, element index): the same at
    any thread count and on any machine. ``seed=None`` takes a seed from ranvier's global
    stream when the layer is created. ``noise_shape`` (2-D): a 1 shares the mask along
    that axis, e.g. ``(1, features)`` one mask for the whole batch.
    """

    _identity_at_inference = True  # the ONNX export leaves it out

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        check_layer_argument("Dropout", "rate", rate)  # the core's check, Keras's message
        check_seed(seed, "Dropout")
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

    def __call__(self, x, training=None, **kwargs):
        # rank 0 or 1: the elements as one row, through a C++ Dropout of that width
        return _noise_call(self, super().__call__, x, training, kwargs, lambda: _core.layer_from_config(
            "Dropout", {"rate": self.rate}, seed=self._core_seed))

    def _make_core(self):
        rows = cols = False
        if self.noise_shape is not None:
            nb, nfeat = self.noise_shape
            if nfeat is not None and nfeat not in (1, self._features):
                raise ValueError(f"Dropout: noise_shape={self.noise_shape} does not broadcast to inputs "
                                 f"with {self._features} features")
            rows = nb == 1
            cols = nfeat == 1 and self._features != 1
        return _core.layer_from_config("Dropout", {"rate": self.rate, "noise_shape": [1 if rows else None,
                                                                                      1 if cols else None]},
                                       seed=self._core_seed)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


# ----------------------------------------------------------------------------- GaussianNoise
class GaussianNoise(Layer):
    """``keras.layers.GaussianNoise(stddev, seed=None)``: adds zero-centred Gaussian noise
    of standard deviation ``stddev`` in training (``fit``, or a call with
    ``training=True``); the identity in ``predict``/``evaluate`` (and in a model loaded in
    C or C++, and in the ONNX export). No weights; the gradient passes through unchanged.

    ``stddev`` must be in [0, 1] (Keras 3). The noise is a counter-based function of
    (seed, training step, element index), as Dropout's masks: the same at any thread count
    and on any machine. ``seed=None`` takes a seed from ranvier's global stream when the
    layer is created (saved with the model, so training resumes with the same noise).
    """

    _identity_at_inference = True  # the ONNX export leaves it out

    def __init__(self, stddev, seed=None, **kwargs):
        check_layer_argument("GaussianNoise", "stddev", stddev)  # the core's check, Keras's message
        check_seed(seed, "GaussianNoise")
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = None if seed is None else int(seed)
        self._core_seed = self.seed if self.seed is not None else _random.next_seed()

    def _make_core(self):
        return _core.layer_from_config("GaussianNoise", {"stddev": self.stddev}, seed=self._core_seed)

    def __call__(self, x, training=None, **kwargs):
        """``x + noise`` when ``training``, else ``x``. Input of any rank, as in Keras (rank 0
        and 1 are one row of elements)."""
        return _noise_call(self, super().__call__, x, training, kwargs, self._make_core)

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


# ----------------------------------------------------------------------------- Flatten
class Flatten(Layer):
    """Flattens each sample to one row: (batch, d1, d2, ...) -> (batch, d1*d2*...).

    ``data_format="channels_first"`` (samples of rank >= 2 are (channels, d1, ...))
    reorders each sample to (d1, ..., channels) before flattening, as Keras does. The
    reordering is done by the C++ layer, so a direct call, ``fit``/``predict``, a model
    loaded in C or C++ and the ONNX export all give the same numbers. The feature count
    is computed exactly and must be at most 2**40 (what a model file can hold).
    """

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be None, 'channels_last' or 'channels_first', "
                             f"got {data_format!r}")
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"  # Keras standardizes the default
        self._sample_shape: tuple = ()

    def _in_features(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"Flatten expects inputs with a batch dimension, got input_shape={input_shape}")
        dims = input_shape[1:]
        if any(d is None or d <= 0 for d in dims):
            raise ValueError(f"Flatten needs known, positive dimensions, got input_shape={input_shape}")
        self._sample_shape = tuple(int(d) for d in dims)
        return _checks.check_shape_product(dims, "input_shape[1:]", "Flatten") if dims else 1

    def _make_core(self):
        return _core.Flatten(sample_shape=list(self._sample_shape),
                             channels_first=self.data_format == "channels_first")

    def _to_rows(self, x):
        nf = self._core_layer.in_features
        feats = math.prod(x.shape[1:]) if x.ndim > 1 else 1
        if feats != nf or (self._core_layer.channels_first and tuple(x.shape[1:]) != self._sample_shape):
            raise ValueError(f"{self._describe()} expected input with {nf} features per sample"
                             + (f" of shape {self._sample_shape}" if self._core_layer.channels_first else "")
                             + f", got x.shape={x.shape}")
        return x.reshape(x.shape[0], nf), (x.shape[0], nf)

    def __call__(self, x, training=None, **kwargs):
        arr = _checks.as_numeric_array(x, "x", self._describe())
        if arr.ndim == 1:  # Keras: (batch,) -> (batch, 1)
            arr = arr.reshape(-1, 1)
        return super().__call__(arr, training=training, **kwargs)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        dims = shape[1:]
        if any(d is None for d in dims):
            return (shape[0], None)
        return (shape[0], math.prod(int(d) for d in dims) if dims else 1)

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

    def __call__(self, x, training=None, **kwargs):
        """``activation(x)``. Input of any rank, as Keras's activation layers take it: rank
        >= 2 runs the layer (built for the last axis); rank 1 and 0 (no feature axis to
        build for) run the same C++ kernel on the array as is, softmax along its only
        axis; the output has the input's shape."""
        if kwargs.get("mask") is not None and self._act_name == "softmax":
            raise ValueError("Softmax: masks are not supported")
        arr = _checks.as_numeric_array(x, "x", self._describe())
        if arr.dtype == object or arr.dtype.kind not in "fiub":
            raise TypeError(f"{self._describe()}: x must be an array of real numbers, got dtype={arr.dtype}")
        if arr.ndim >= 2:
            return super().__call__(arr, training=training, **kwargs)
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
        rows = _checks.to_float32(arr.reshape(1, -1), "x", self._describe())
        out = _core.activation_forward(self._act_kind, rows, **core_act_args(self._act_name, self._act_params))
        return out.reshape(arr.shape)


class Activation(_ActivationAttribute, _ActivationBase):
    """Applies an activation function (any name ``ranvier.activations`` knows)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation  # the function; the C++ kind with it (_ActivationAttribute)

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

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
