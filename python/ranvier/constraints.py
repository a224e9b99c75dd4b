"""Weight constraints, as in Keras 3 (``keras.constraints``).

Applied to a weight after every optimizer step (inside the C++ training loop).
Norms are sqrt(sum w^2) along ``axis`` (Keras's default axis=0: for a Dense kernel
of shape (in, units), the weights into each unit), and epsilon is 1e-7:

- ``MaxNorm(max_value=2, axis=0)``: w * clip(norm, 0, max_value) / (eps + norm)
- ``NonNeg()``: max(w, 0)
- ``UnitNorm(axis=0)``: w / (eps + norm)
- ``MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)``:
  w * (rate * clip(norm, min_value, max_value) + (1 - rate) * norm) / (eps + norm)

String names: ``"max_norm"``, ``"non_neg"``, ``"unit_norm"``, ``"min_max_norm"`` and the
class names. Calling a constraint on a NumPy array returns the projected array
(computed in float64, returned in the input's float dtype). Only these classes can
be used inside layers (the core applies them); ``axis`` may be 0, 1, -1, -2 or a list
of axes of a 1-D or 2-D weight.
"""
from __future__ import annotations

import numbers
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _checks, _registry

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg",
           "unit_norm", "min_max_norm", "get", "serialize", "deserialize"]

_EPSILON = 1e-7

# Kinds as in cpp/src/layers/weight_rules.h (ConstraintKind).
_KIND_NONE, _KIND_MAX_NORM, _KIND_NON_NEG, _KIND_UNIT_NORM, _KIND_MIN_MAX_NORM = range(5)


def _as_float(w) -> np.ndarray:
    arr = np.asarray(w)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"constraints take arrays of numbers, got dtype={arr.dtype}")
    return arr


def _out_dtype(arr: np.ndarray):
    return arr.dtype if arr.dtype.kind == "f" else np.float32


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight (identity here)."""

    def __call__(self, w):
        return w

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (empty here)."""
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Constraint":
        """Creates the constraint from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _norms(w: np.ndarray, axis) -> np.ndarray:
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return np.sqrt(np.sum(np.square(w), axis=ax, keepdims=True))


class MaxNorm(Constraint):
    """``MaxNorm(max_value=2, axis=0)``: scales the weights so that each norm along
    ``axis`` is at most ``max_value``: ``w * clip(norm, 0, max_value) / (1e-7 + norm)``.
    With the default ``axis=0`` a Dense kernel's norms are those of the weights into
    each unit."""

    def __init__(self, max_value=2, axis=0):
        _checks.check_float32(max_value, "max_value", "MaxNorm", 0.0)
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        arr = _as_float(w)
        w64 = arr.astype(np.float64)
        norms = _norms(w64, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w64 * (desired / (_EPSILON + norms))).astype(_out_dtype(arr))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """``NonNeg()``: sets negative weights to zero, ``max(w, 0)``."""

    def __call__(self, w):
        arr = _as_float(w)
        return np.maximum(arr, 0).astype(_out_dtype(arr))


class UnitNorm(Constraint):
    """``UnitNorm(axis=0)``: scales the weights to norm 1 along ``axis``:
    ``w / (1e-7 + norm)``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        arr = _as_float(w)
        w64 = arr.astype(np.float64)
        return (w64 / (_EPSILON + _norms(w64, self.axis))).astype(_out_dtype(arr))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """``MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)``: moves each norm
    along ``axis`` into [min_value, max_value] at ``rate`` (1.0: all the way):
    ``w * (rate * clip(norm, min_value, max_value) + (1 - rate) * norm) / (1e-7 + norm)``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        _checks.check_float32(min_value, "min_value", "MinMaxNorm", 0.0)
        _checks.check_float32(max_value, "max_value", "MinMaxNorm", float(min_value))
        _checks.check_float32(rate, "rate", "MinMaxNorm", 0.0, 1.0)
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        arr = _as_float(w)
        w64 = arr.astype(np.float64)
        norms = _norms(w64, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w64 * (desired / (_EPSILON + norms))).astype(_out_dtype(arr))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
_REGISTRY: Dict[str, type] = {}
for _cls, _snake in zip(_CLASSES, ("max_norm", "non_neg", "unit_norm", "min_max_norm")):
    _REGISTRY[_cls.__name__] = _cls
    _REGISTRY[_snake] = _cls
_REGISTRY["Constraint"] = Constraint
_REGISTRY["constraint"] = Constraint


def _valid_names() -> str:
    return ", ".join(sorted(k for k in _REGISTRY if k == k.lower() and k != "constraint"))


def serialize(constraint) -> Union[Dict[str, Any], str, None]:
    """Keras-style config dict ``{"module", "class_name", "config", "registered_name"}``;
    None for None and the function's name for a plain function."""
    return _registry.serialize(constraint, kind="constraint", base=Constraint, builtin=_CLASSES + (Constraint,))


def deserialize(config, custom_objects=None) -> Constraint:
    """Builds a constraint from ``serialize``'s dict (or a name); custom classes come from
    ``custom_objects``."""
    return _registry.deserialize(config, custom_objects, kind="constraint", registry=_REGISTRY,
                                 valid_names=_valid_names, get=get)


def get(identifier):
    """Resolves None (-> None), a name, a config dict, a class or a callable."""
    return _registry.get(identifier, kind="constraint", base=Constraint, registry=_REGISTRY,
                         valid_names=_valid_names, deserialize=deserialize)


def _core_axis(axis, ndim: int, argument: str) -> int:
    """Maps a Keras axis for a weight of rank ``ndim`` (1 or 2) to the core's code:
    0 = one norm per column, 1 = one norm per row, -1 = one norm over everything.
    A 1-D weight is seen as a column (n, 1)."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    norm = set()
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -ndim <= int(a) < ndim:
            raise ValueError(f"{argument}: axis={axis!r} is out of range for a weight of rank {ndim}")
        norm.add(int(a) % ndim)
    if ndim == 1:
        return 0
    if norm == {0, 1}:
        return -1
    return 0 if norm == {0} else 1


def _core_spec(constraint, ndim: int, argument: str) -> Tuple[int, float, float, float, int]:
    """(kind, max_value, min_value, rate, axis) for the C++ core."""
    if constraint is None:
        return (_KIND_NONE, 2.0, 0.0, 1.0, 0)
    if type(constraint) is MaxNorm:
        return (_KIND_MAX_NORM, float(constraint.max_value), 0.0, 1.0,
                _core_axis(constraint.axis, ndim, argument))
    if type(constraint) is NonNeg:
        return (_KIND_NON_NEG, 2.0, 0.0, 1.0, 0)
    if type(constraint) is UnitNorm:
        return (_KIND_UNIT_NORM, 2.0, 0.0, 1.0, _core_axis(constraint.axis, ndim, argument))
    if type(constraint) is MinMaxNorm:
        return (_KIND_MIN_MAX_NORM, float(constraint.max_value), float(constraint.min_value),
                float(constraint.rate), _core_axis(constraint.axis, ndim, argument))
    raise ValueError(
        f"{argument}: ranvier applies constraints in its C++ core and supports MaxNorm, NonNeg, "
        f"UnitNorm and MinMaxNorm; got {constraint!r}")
