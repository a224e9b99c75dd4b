"""Weight initializers, as in Keras 3 (``keras.initializers``).

Each initializer is a callable ``init(shape, dtype=None) -> np.ndarray`` (float32 by
default). String names are the snake_case class names plus Keras's aliases
(``"zero"``, ``"one"``, ``"normal"``, ``"uniform"``, ``"orthogonal"``); ``get`` also
accepts a config dict, a class, or any callable.

Randomness: an initializer given ``seed=<int>`` draws from NumPy's PCG64 seeded with
it, so it returns the same values on every call and on every machine (as in Keras 3,
a seeded initializer repeats itself). With ``seed=None`` each call draws a fresh seed
from ranvier's global stream, so ``ranvier.utils.set_random_seed(s)`` makes unseeded
initialization reproducible too. Values are computed in float64 and rounded to the
requested dtype.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _checks, _registry
from . import _random

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal",
    "LecunUniform", "Orthogonal", "OrthogonalInitializer", "Identity", "IdentityInitializer",
    "compute_fans", "get", "serialize", "deserialize",
    "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "orthogonal", "identity",
]

# The truncated normal at +-2 sigma has standard deviation 0.87962566103423978 sigma.
_TRUNCATED_STD = 0.87962566103423978


def _shape(shape) -> tuple:
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"shape must not have negative dimensions, got {shape}")
    return shape


def _dtype(dtype) -> np.dtype:
    if dtype is None:
        return np.dtype(np.float32)
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"initializers produce floating-point weights, got dtype={dt}")
    return dt


def _hyper(value, owner: str, argument: str, minimum: Optional[float] = None) -> None:
    """A hyperparameter that becomes float32 weights: finite, within float32's range, >=
    ``minimum`` when given (NaN, inf and overflow get their own messages)."""
    _checks.check_float32(value, argument, owner, minimum)


def _seed(seed) -> Optional[int]:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got seed={seed}")
    return int(seed)


def compute_fans(shape) -> tuple:
    """(fan_in, fan_out) of a weight shape, as Keras computes them (spec 4.1)."""
    shape = tuple(shape)
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape[0], shape[1]
    else:
        receptive = 1
        for d in shape[:-2]:
            receptive *= d
        fan_in = shape[-2] * receptive
        fan_out = shape[-1] * receptive
    return int(fan_in), int(fan_out)


def _truncated_normal(gen: np.random.Generator, shape, mean: float, stddev: float) -> np.ndarray:
    """N(mean, stddev^2) with values outside mean +- 2 stddev drawn again."""
    out = gen.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = gen.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev + mean


class Initializer:
    """Base class: ``__call__(shape, dtype=None)`` returns a new array."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype=None)")

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (``seed`` included for random ones)."""
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Initializer":
        """Creates the initializer from ``get_config()``'s dict."""
        return cls(**config)

    def clone(self) -> "Initializer":
        """A new initializer with the same configuration (same seed)."""
        return self.__class__.from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = _seed(seed)

    def _generator(self) -> np.random.Generator:
        return _random.generator(self.seed)


# --------------------------------------------------------------------------- constants
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """``value`` everywhere: a scalar, or an array broadcast to the weight's shape (as
    Keras computes ``value * ones(shape)``), e.g. an array of exactly the weight's shape."""

    def __init__(self, value=0.0):
        value = _constant_value(value)
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "fiub":
            raise ValueError(f"Constant: value must be a number or an array of numbers, got value={value!r}")
        if arr.ndim == 0:
            _hyper(arr.item(), "Constant", "value")
        elif not np.all(np.isfinite(_checks.to_float32(arr, "value", "Constant"))):  # overflow: its own message
            raise ValueError(f"Constant: value must hold finite numbers, got NaN or inf in value={value!r}")
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        arr = np.asarray(self.value)
        try:
            out = np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(f"Constant: value of shape {arr.shape} cannot be broadcast to the weight's shape "
                             f"{shape}") from None
        return np.array(out, dtype=_dtype(dtype))

    def get_config(self):
        value = self.value
        if isinstance(value, np.ndarray) and value.ndim > 0:  # Keras's "__numpy__" serialization
            return {"value": {"class_name": "__numpy__",
                              "config": {"value": value.tolist(), "dtype": str(value.dtype)}}}
        if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
            value = value.item()
        return {"value": value}


def _constant_value(value):
    """A Constant's value: numbers stay as given; arrays, tensors, lists and Keras's
    ``{"class_name": "__numpy__"}`` config become NumPy arrays."""
    if isinstance(value, dict) and value.get("class_name") in ("__numpy__", "__tensor__"):
        cfg = value.get("config") or {}
        return np.array(cfg.get("value"), dtype=cfg.get("dtype"))
    if isinstance(value, (numbers.Number, np.generic)):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and callable(value.numpy):  # a TF / Keras tensor
        value = value.numpy()
    return np.array(value)


class _ArrayInitializer(Initializer):
    """What ``get`` returns for an array (Keras: a tensor used as the initial value): the
    array itself, for a weight of exactly its shape."""

    def __init__(self, value):
        self.value = _constant_value(value)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        arr = np.asarray(self.value)
        if arr.shape != shape:
            raise ValueError(f"Expected `shape` to be {arr.shape} for direct tensor as initializer. "
                             f"Received shape={shape}")
        return np.array(arr, dtype=_dtype(dtype))

    def get_config(self):
        return Constant(self.value).get_config()


class Identity(Initializer):
    """``gain * I`` for 2-D shapes (rectangular shapes get ones on the main diagonal)."""

    def __init__(self, gain=1.0):
        _hyper(gain, "Identity", "gain")
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                f"Identity matrix initializer can only be used for 2D matrices. Received: shape={shape}")
        return (self.gain * np.eye(shape[0], shape[1])).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


IdentityInitializer = Identity


# --------------------------------------------------------------------------- random
class RandomNormal(_Seeded):
    """N(mean, stddev^2); Keras defaults mean=0.0, stddev=0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        _hyper(mean, "RandomNormal", "mean")
        _hyper(stddev, "RandomNormal", "stddev", 0.0)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        v = self._generator().normal(self.mean, self.stddev, size=_shape(shape))
        return v.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    """U[minval, maxval); Keras defaults -0.05, 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        _hyper(minval, "RandomUniform", "minval")
        _hyper(maxval, "RandomUniform", "maxval")
        self.minval = minval
        self.maxval = maxval

    def __call__(self, shape, dtype=None):
        v = self._generator().uniform(self.minval, self.maxval, size=_shape(shape))
        return v.astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Seeded):
    """N(mean, stddev^2) with values beyond 2 stddev from the mean drawn again."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        _hyper(mean, "TruncatedNormal", "mean")
        _hyper(stddev, "TruncatedNormal", "stddev", 0.0)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        v = _truncated_normal(self._generator(), _shape(shape), self.mean, self.stddev)
        return v.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Seeded):
    """Keras's VarianceScaling: s = scale / max(1, n) with n from ``mode``;
    truncated_normal: stddev sqrt(s) / 0.8796..., truncated at 2 stddev;
    untruncated_normal: stddev sqrt(s); uniform: U(-sqrt(3 s), sqrt(3 s)).
    ``distribution="normal"`` means truncated_normal."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        _no_axes(type(self).__name__, input_axes, output_axes)
        if not isinstance(scale, numbers.Real) or not scale > 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        _hyper(scale, "VarianceScaling", "scale")
        if mode not in self._MODES:
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Please use one of {list(self._MODES)}")
        dist = str(distribution).lower()
        if dist == "normal":
            dist = "truncated_normal"
        if dist not in self._DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}. "
                             f"Allowed distributions: {list(self._DISTRIBUTIONS) + ['normal']}")
        self.scale = scale
        self.mode = mode
        self.distribution = dist

    def _variance(self, shape) -> float:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        s = self._variance(shape)
        gen = self._generator()
        if self.distribution == "truncated_normal":
            v = _truncated_normal(gen, shape, 0.0, math.sqrt(s) / _TRUNCATED_STD)
        elif self.distribution == "untruncated_normal":
            v = gen.normal(0.0, math.sqrt(s), size=shape)
        else:
            limit = math.sqrt(3.0 * s)
            v = gen.uniform(-limit, limit, size=shape)
        return v.astype(_dtype(dtype))

    def get_config(self):
        # Keras 3.15 writes input_axes/output_axes (its fans for einsum kernels; None here)
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": None, "output_axes": None}


def _no_axes(cls: str, input_axes, output_axes) -> None:
    """Keras's input_axes/output_axes (fans of einsum kernels): ranvier's kernels are 2-D,
    their fans come from the shape; only None is taken."""
    if input_axes is not None or output_axes is not None:
        raise ValueError(f"{cls}: input_axes/output_axes are not supported by ranvier (the fans come from the "
                         f"weight's shape); got input_axes={input_axes!r}, output_axes={output_axes!r}")


class _Preset(VarianceScaling):
    _PRESET: tuple = ()

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, dist = self._PRESET
        super().__init__(scale=scale, mode=mode, distribution=dist, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": None, "output_axes": None}


class GlorotUniform(_Preset):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""
    _PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal, stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796..."""
    _PRESET = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Preset):
    """Truncated normal, stddev = sqrt(2 / fan_in) / 0.8796..."""
    _PRESET = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """U(-limit, limit), limit = sqrt(6 / fan_in)."""
    _PRESET = (2.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal, stddev = sqrt(1 / fan_in) / 0.8796..."""
    _PRESET = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """U(-limit, limit), limit = sqrt(3 / fan_in)."""
    _PRESET = (1.0, "fan_in", "uniform")


class Orthogonal(_Seeded):
    """A (semi-)orthogonal matrix: QR of a standard normal matrix, columns' signs fixed
    by diag(R), times ``gain``. Shapes of rank >= 2 are flattened to
    (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        _hyper(gain, "Orthogonal", "gain")
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError("Orthogonal initializer requires a shape of rank at least 2 "
                             f"(e.g. a Dense kernel). Received: shape={shape}")
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        flat = (max(rows, cols), min(rows, cols))
        a = self._generator().normal(0.0, 1.0, size=flat)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


OrthogonalInitializer = Orthogonal


# --------------------------------------------------------------------------- registry
# Keras serializes Orthogonal under its class name "OrthogonalInitializer".
_CLASS_NAMES: Dict[type, str] = {Orthogonal: "OrthogonalInitializer"}

_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
            LecunUniform, Orthogonal)


from ._naming import to_snake_case as _snake  # noqa: E402


_REGISTRY: Dict[str, type] = {}
for _cls in _CLASSES:
    _REGISTRY[_cls.__name__] = _cls
    _REGISTRY[_snake(_cls.__name__)] = _cls
_REGISTRY.update({
    "OrthogonalInitializer": Orthogonal, "orthogonal_initializer": Orthogonal,
    "IdentityInitializer": Identity,
    "uniform": RandomUniform, "normal": RandomNormal, "one": Ones, "zero": Zeros,
})

# Function-style aliases (keras.initializers.glorot_uniform is the class).
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform


def _valid_names() -> str:
    return ", ".join(sorted(k for k in _REGISTRY if k == k.lower()))


def serialize(initializer) -> Union[Dict[str, Any], str, None]:
    """Keras-style config dict ``{"module", "class_name", "config", "registered_name"}``;
    None for None and the function's name for a plain function."""
    if getattr(initializer, "_from_none", False):  # a layer given initializer=None (Keras keeps None)
        return None
    return _registry.serialize(initializer, kind="initializer", base=Initializer, builtin=_CLASSES, class_names=_CLASS_NAMES)


def deserialize(config, custom_objects=None) -> Initializer:
    """Builds an initializer from ``serialize``'s dict (or a bare class name)."""
    return _registry.deserialize(config, custom_objects, kind="initializer", registry=_REGISTRY,
                                 valid_names=_valid_names, get=get)


def get(identifier):
    """Resolves None (-> None), a name, a config dict, a class, a callable, or an array
    (a NumPy array or tensor: the initial value itself, for a weight of its shape)."""
    if isinstance(identifier, (np.ndarray, np.generic)) or (
            not isinstance(identifier, (str, dict, type)) and not callable(identifier)
            and hasattr(identifier, "__array__")):
        return _ArrayInitializer(identifier)
    return _registry.get(identifier, kind="initializer", base=Initializer, registry=_REGISTRY,
                         valid_names=_valid_names, deserialize=deserialize, names_on_failure=True)
