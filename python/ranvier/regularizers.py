"""Weight regularizers, as in Keras 3 (``keras.regularizers``).

``L1(l1=0.01)``: l1 * sum|w|; ``L2(l2=0.01)``: l2 * sum w^2 (no 1/2, as Keras);
``L1L2(l1=0.0, l2=0.0)``: both. Aliases ``l1``, ``l2``, ``l1_l2`` are the classes (as in
Keras 3, so ``l1_l2()`` defaults to 0, 0). String names: ``"l1"``, ``"l2"``, ``"l1l2"``
and the class names (``"l1_l2"`` is not a Keras 3 string and is rejected here too).
Coefficients must be finite, non-negative numbers.

Calling a regularizer on a NumPy array returns the penalty as a Python float
(computed in float64). Inside layers the same penalty is computed by the C++ core
every training step; only these three classes (and subclasses keeping their
``l1``/``l2`` attributes) can be used there.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _checks, _registry

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


def _validate(value, name: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isinf(value)
            or math.isnan(value) or value < 0):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. Received: {name}={value!r}")
    _checks.check_float32(value, name, "regularizer")  # the C++ coefficient is a float
    return float(value)


class Regularizer:
    """Base class: ``__call__(w)`` returns the penalty of the weight ``w``."""

    def __call__(self, x) -> float:
        return 0.0

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (e.g. ``{"l2": 0.01}`` for ``L2()``)."""
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Regularizer":
        """Creates the regularizer from ``get_config()``'s dict."""
        return cls(**config)

    def _core_coefficients(self) -> Tuple[float, float]:
        """(l1, l2) for the C++ core."""
        return (float(getattr(self, "l1", 0.0) or 0.0), float(getattr(self, "l2", 0.0) or 0.0))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _as_array(x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"regularizers take arrays of numbers, got dtype={arr.dtype}")
    return arr.astype(np.float64, copy=False)


class L1(Regularizer):
    """``L1(l1=0.01)``: the penalty ``l1 * sum(|w|)``."""

    def __init__(self, l1=0.01):
        self.l1 = _validate(0.01 if l1 is None else l1, "l1")

    def __call__(self, x) -> float:
        return float(self.l1 * np.sum(np.abs(_as_array(x))))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``L2(l2=0.01)``: the penalty ``l2 * sum(w ** 2)`` (no factor 1/2)."""

    def __init__(self, l2=0.01):
        self.l2 = _validate(0.01 if l2 is None else l2, "l2")

    def __call__(self, x) -> float:
        a = _as_array(x)
        return float(self.l2 * np.sum(a * a))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``L1L2(l1=0.0, l2=0.0)``: the penalty ``l1 * sum(|w|) + l2 * sum(w ** 2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _validate(0.0 if l1 is None else l1, "l1")
        self.l2 = _validate(0.0 if l2 is None else l2, "l2")

    def __call__(self, x) -> float:
        a = _as_array(x)
        out = 0.0
        if self.l1:
            out += self.l1 * float(np.sum(np.abs(a)))
        if self.l2:
            out += self.l2 * float(np.sum(a * a))
        return float(out)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2

_CLASSES = (L1, L2, L1L2)
_REGISTRY: Dict[str, type] = {
    "Regularizer": Regularizer, "regularizer": Regularizer,
    "L1": L1, "l1": L1, "L2": L2, "l2": L2, "L1L2": L1L2, "l1l2": L1L2,
}


def _valid_names() -> str:
    return ", ".join(sorted(k for k in _REGISTRY if k not in ("Regularizer", "regularizer")))


def serialize(regularizer) -> Union[Dict[str, Any], str, None]:
    """Keras-style config dict ``{"module", "class_name", "config", "registered_name"}``;
    None for None and the function's name for a plain function."""
    return _registry.serialize(regularizer, kind="regularizer", base=Regularizer, builtin=_CLASSES)


def deserialize(config, custom_objects=None) -> Regularizer:
    """Builds a regularizer from ``serialize``'s dict (or a name); custom classes come from
    ``custom_objects``."""
    return _registry.deserialize(config, custom_objects, kind="regularizer", registry=_REGISTRY,
                                 valid_names=_valid_names, get=get)


def get(identifier):
    """Resolves None (-> None), a name, a config dict, a class or a callable."""
    return _registry.get(identifier, kind="regularizer", base=Regularizer, registry=_REGISTRY,
                         valid_names=_valid_names, deserialize=deserialize)


def _core_spec(regularizer, argument: str) -> Tuple[float, float]:
    """(l1, l2) of a regularizer for the C++ core; ValueError naming ``argument`` otherwise."""
    if regularizer is None:
        return (0.0, 0.0)
    if isinstance(regularizer, Regularizer) and (
            isinstance(regularizer, _CLASSES) or hasattr(regularizer, "l1") or hasattr(regularizer, "l2")):
        return regularizer._core_coefficients()
    raise ValueError(
        f"{argument}: ranvier computes regularization in its C++ core and supports L1, L2 and L1L2 "
        f"(and subclasses keeping their l1/l2 attributes); got {regularizer!r}")
