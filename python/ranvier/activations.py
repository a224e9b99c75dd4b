"""Activation functions (Keras 3 names, defaults and numbers).

Each function takes a NumPy array (or anything ``np.asarray`` turns into a floating
array) and returns a NEW float32 NumPy array of the same shape, computed by the C++
SIMD kernels of the active ISA. Input rules:

- floating dtypes only: float32 is used as is; float64 and float16 are converted to
  float32 first (one copy; float64 values outside the float32 range become +-inf);
- integer, bool, complex, object or string arrays raise ``TypeError`` naming the argument.

``get(identifier)`` resolves names (exact, case-sensitive, plus the aliases ``"swish"``
and ``"hard_swish"``), callables (returned as is), dicts (``deserialize``) and ``None``
(``linear``). ``core_spec(identifier)`` tells the layers and the model which C++ kernel
computes an activation: ``(kind_name, params)`` with ``params`` holding
``negative_slope``, ``max_value`` (``math.inf`` for None), ``threshold`` and ``alpha``.

Extra Keras activations without a C++ kernel (``squareplus``, ``hard_shrink``,
``tanh_shrink``, ``sparse_sigmoid``, ``sparse_plus``, ``threshold``, ``glu``,
``sparsemax``) are computed in NumPy (float32 results); they can
be called but not used inside a layer (``core_spec`` raises ``ValueError`` for them).
"""
from __future__ import annotations

import functools
import math
import numbers
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from . import _checks, _core, _registry

__all__ = [
    "celu", "deserialize", "elu", "exponential", "gelu", "get", "glu", "hard_shrink", "hard_sigmoid",
    "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "serialize", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink", "threshold", "core_spec", "core_kind",
]

# The rows of the C++ activation list (cpp/src/kernels/f32-vunary/activations.def), in
# ActKind order: {name, kind, rowwise, cost, reads, params (name -> default), aliases}.
# The kernel-backed functions, their aliases and their parameters derive from it.
_TABLE: Tuple[Dict[str, Any], ...] = tuple(_core.activation_table())
_ROW: Dict[str, Dict[str, Any]] = {row["name"]: row for row in _TABLE}
KIND_NAMES: Tuple[str, ...] = tuple(row["name"] for row in _TABLE)
_KIND_INDEX = {name: i for i, name in enumerate(KIND_NAMES)}

PARAM_DEFAULTS = {"negative_slope": 0.0, "max_value": math.inf, "threshold": 0.0, "alpha": 1.0}


# ----------------------------------------------------------------------------- checks
def _as_f32(x, fn: str, arg: str = "x") -> np.ndarray:
    """C-contiguous float32 array from a floating array-like; TypeError otherwise."""
    if isinstance(x, np.ndarray):
        arr = x
    else:
        if isinstance(x, (str, bytes)) or x is None:
            raise TypeError(f"{fn}: {arg} must be a floating-point array, got {type(x).__name__}")
        try:
            arr = np.asarray(x)
        except Exception as e:  # noqa: BLE001 - reported as the argument's problem
            raise TypeError(f"{fn}: {arg} could not be converted to an array: {e}") from None
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{fn}: {arg} must be a floating-point array (float32; float64/float16 are converted), "
            f"got dtype={arr.dtype}")
    # astype keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d); float64
    # values beyond float32's range become +-inf (documented), without a warning
    with np.errstate(over="ignore"):
        out = arr.astype(np.float32, order="C", copy=False)
    # an unaligned view (np.frombuffer at an odd offset) is copied: the kernels load aligned floats
    return out if out.flags.aligned else out.copy()


def _num(value, fn: str, arg: str, allow_none: bool = False) -> float:
    if value is None and allow_none:
        return math.inf
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {arg} must be a real number{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


def _core_params(kind: str, params: Dict[str, float]) -> Dict[str, float]:
    p = dict(PARAM_DEFAULTS)
    p.update(_ROW[kind]["params"])
    p.update(params)
    return p


def _apply(kind: str, x, fn: str, **params) -> np.ndarray:
    x32 = _as_f32(x, fn)
    return _core.activation_forward(_KIND_INDEX[kind], x32, **_core_params(kind, params))


def _along_axis(kind: str, x, axis, fn: str) -> np.ndarray:
    x32 = _as_f32(x, fn)
    if x32.ndim == 0:
        return _core.activation_forward(_KIND_INDEX[kind], x32)
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (numbers.Integral,)):
        raise TypeError(f"{fn}: axis must be an int, got {axis!r}")
    if not -x32.ndim <= int(axis) < x32.ndim:
        raise ValueError(f"{fn}: axis={axis} is out of range for an input of rank {x32.ndim} "
                         f"(x.shape={x32.shape})")
    axis = int(axis) % x32.ndim
    if axis == x32.ndim - 1:
        return _core.activation_forward(_KIND_INDEX[kind], x32)
    moved = np.moveaxis(x32, axis, -1).astype(np.float32, order="C")
    return np.moveaxis(_core.activation_forward(_KIND_INDEX[kind], moved), -1, axis).astype(np.float32, order="C")


# ----------------------------------------------------------------------------- functions
def linear(x):
    """Identity: ``x`` (as float32)."""
    return _apply("linear", x, "linear")


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras 3 ``relu``: ``p = x if x > threshold else 0``; clipped to ``[0, max_value]`` when
    ``max_value`` is given; then ``p - negative_slope * max(threshold - x, 0)``. With only
    ``negative_slope`` set it is ``leaky_relu``. relu'(0) = 0."""
    return _apply("relu", x, "relu", negative_slope=_num(negative_slope, "relu", "negative_slope"),
                  max_value=_num(max_value, "relu", "max_value", allow_none=True),
                  threshold=_num(threshold, "relu", "threshold"))


def leaky_relu(x, negative_slope=0.2):
    """``x if x >= 0 else negative_slope * x`` (function default 0.2; the layer's is 0.3)."""
    return _apply("leaky_relu", x, "leaky_relu",
                  negative_slope=_num(negative_slope, "leaky_relu", "negative_slope"))


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return _apply("relu6", x, "relu6")


def elu(x, alpha=1.0):
    """``x if x > 0 else alpha * (exp(x) - 1)`` (expm1)."""
    return _apply("elu", x, "elu", alpha=_num(alpha, "elu", "alpha"))


def selu(x):
    """``scale * elu(x, alpha)`` with alpha=1.67326324, scale=1.05070099."""
    return _apply("selu", x, "selu")


def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    a = _num(alpha, "celu", "alpha")
    if a == 0.0:
        raise ValueError("celu: alpha must be non-zero, got alpha=0.0")
    return _apply("celu", x, "celu", alpha=a)


def gelu(x, approximate=False):
    """Exact ``x * Phi(x)`` by default (the activation's default, as Keras); with
    ``approximate=True``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    _checks.check_bool(approximate, "approximate", "gelu")
    return _apply("gelu_approx" if approximate else "gelu", x, "gelu")


def sigmoid(x):
    """``1 / (1 + exp(-x))``, saturating exactly to 0 and 1."""
    return _apply("sigmoid", x, "sigmoid")


def hard_sigmoid(x):
    """Keras 3: ``relu6(x + 3) / 6`` (0 for x <= -3, 1 for x >= 3)."""
    return _apply("hard_sigmoid", x, "hard_sigmoid")


def hard_silu(x):
    """``x * relu6(x + 3) / 6`` (alias ``hard_swish``)."""
    return _apply("hard_silu", x, "hard_silu")


hard_swish = hard_silu


def tanh(x):
    """Hyperbolic tangent."""
    return _apply("tanh", x, "tanh")


def softplus(x):
    """``log(1 + exp(x))``, stable (``max(x, 0) + log1p(exp(-|x|))``)."""
    return _apply("softplus", x, "softplus")


def softsign(x):
    """``x / (1 + |x|)``."""
    return _apply("softsign", x, "softsign")


def silu(x):
    """``x * sigmoid(x)`` (alias ``swish``; no beta, as Keras 3)."""
    return _apply("silu", x, "silu")


swish = silu


def mish(x):
    """``x * tanh(softplus(x))``."""
    return _apply("mish", x, "mish")


def exponential(x):
    """``exp(x)``."""
    return _apply("exponential", x, "exponential")


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return _apply("log_sigmoid", x, "log_sigmoid")


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (max-shifted; rank-1 input allowed)."""
    return _along_axis("softmax", x, axis, "softmax")


def log_softmax(x, axis=-1):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``."""
    return _along_axis("log_softmax", x, axis, "log_softmax")


def hard_tanh(x):
    """``clip(x, -1, 1)``: -1 for x < -1, x on [-1, 1], 1 for x > 1."""
    return _apply("hard_tanh", x, "hard_tanh")


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` for x > threshold, ``x + threshold`` for x < -threshold, else 0
    (NaN stays NaN)."""
    return _apply("soft_shrink", x, "soft_shrink", threshold=_num(threshold, "soft_shrink", "threshold"))


# ---- Keras activations without a C++ kernel (NumPy, float32 results) ------------------------
def _np(fn: str, x) -> np.ndarray:
    return _as_f32(x, fn).astype(np.float64)


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``."""
    v = _np("squareplus", x)
    return ((v + np.sqrt(v * v + _num(b, "squareplus", "b"))) / 2).astype(np.float32)


def hard_shrink(x, threshold=0.5):
    """``x if |x| > t else 0``."""
    v, t = _np("hard_shrink", x), _num(threshold, "hard_shrink", "threshold")
    return np.where(np.abs(v) > t, v, 0.0).astype(np.float32)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    v = _np("tanh_shrink", x)
    return (v - np.tanh(v)).astype(np.float32)


def sparse_sigmoid(x):
    """``clip(0.5 (x + 1), 0, 1)``."""
    return np.clip(0.5 * (_np("sparse_sigmoid", x) + 1.0), 0.0, 1.0).astype(np.float32)


def sparse_plus(x):
    """0 for x <= -1, ``(x + 1)^2 / 4`` for ``|x| < 1``, x for x >= 1."""
    v = _np("sparse_plus", x)
    return np.where(v <= -1, 0.0, np.where(v >= 1, v, (v + 1) ** 2 / 4)).astype(np.float32)


def threshold(x, threshold, default_value):  # noqa: A002 - Keras's name
    """``x if x > threshold else default_value``."""
    v = _np("threshold", x)
    t = _num(threshold, "threshold", "threshold")
    d = _num(default_value, "threshold", "default_value")
    return np.where(v > t, v, d).astype(np.float32)


def glu(x, axis=-1):
    """Splits ``x`` in halves a, b along ``axis``: ``a * sigmoid(b)``."""
    v = _np("glu", x)
    if v.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got x.shape={v.shape}")
    a, b = np.split(v, 2, axis=axis)
    return (a / (1.0 + np.exp(-b))).astype(np.float32)


def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo 2016) along ``axis``."""
    v = np.moveaxis(_np("sparsemax", x), axis, -1)
    z = -np.sort(-v, axis=-1)
    k = np.arange(1, v.shape[-1] + 1)
    cs = np.cumsum(z, axis=-1)
    support = 1 + k * z > cs
    kz = np.sum(support, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, kz - 1, axis=-1) - 1) / kz
    return np.moveaxis(np.maximum(v - tau, 0.0), -1, axis).astype(np.float32)


# ----------------------------------------------------------------------------- registry
# Keras activations computed in NumPy (no C++ kernel): callable, not usable inside a layer.
_NUMPY_ONLY: Tuple[Callable, ...] = (squareplus, sparse_plus, glu, tanh_shrink, threshold, sparse_sigmoid,
                                     hard_shrink, sparsemax)

# function -> C++ kind: each row of the table whose name is a function of this module
# (gelu_approx is gelu(approximate=True))
_KERNEL_OF: Dict[Callable, str] = {
    globals()[row["name"]]: row["name"] for row in _TABLE if callable(globals().get(row["name"]))}
_BUILTINS: Dict[str, Callable] = {getattr(f, "__name__"): f for f in (*_KERNEL_OF, *_NUMPY_ONLY)}
_ALIASES = {alias: globals()[row["name"]] for row in _TABLE for alias in row["aliases"]}
_LOOKUP: Dict[str, Callable] = {**_BUILTINS, **_ALIASES}
# Parameters of the Python functions that select a kind or an axis rather than reach the kernel.
_PY_PARAMS = {"gelu": ("approximate",), "softmax": ("axis",), "log_softmax": ("axis",)}


def _valid_names() -> str:
    return ", ".join(sorted(_LOOKUP))


def serialize(activation) -> Any:
    """The name of a built-in activation (Keras 3 returns the name string); for a callable
    object with ``get_config``, ``{"class_name", "config"}``."""
    if isinstance(activation, functools.partial) and activation.func in _BUILTINS.values():
        return {"module": "keras.activations", "class_name": "function",
                "config": activation.func.__name__, "registered_name": "function",
                "ranvier_params": dict(activation.keywords)}
    for name, fn in _BUILTINS.items():
        if activation is fn:
            return name
    if callable(activation) and hasattr(activation, "get_config"):
        return {"class_name": type(activation).__name__, "config": activation.get_config()}
    raise ValueError(
        f"Unknown activation function {activation!r} cannot be serialized: use a built-in "
        f"activation ({_valid_names()})")


def deserialize(config, custom_objects: Optional[Dict[str, Any]] = None) -> Callable:
    """Inverse of ``serialize``: a name, or a Keras function config
    ``{"class_name": "function", "config": name, ...}``."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return _registry.resolve_name(config, _LOOKUP, kind="activation function", custom_objects=custom_objects)
    if isinstance(config, dict):
        name = config.get("config")
        if isinstance(name, dict):
            name = name.get("name")
        if not isinstance(name, str):
            name = config.get("class_name")
        fn = deserialize(name, custom_objects) if isinstance(name, str) else None
        if fn is None:
            raise ValueError(f"Could not interpret activation function config: {config!r}")
        params = config.get("ranvier_params")
        return functools.partial(fn, **params) if params else fn
    raise ValueError(f"Could not interpret activation function identifier: {config!r}")


def get(identifier) -> Callable:
    """Keras's ``activations.get``: None -> linear; exact names + ``swish``/``hard_swish``;
    callables as is; dicts through ``deserialize``. Anything else: ValueError."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _registry.resolve_name(identifier, _LOOKUP, kind="activation function")
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def _params_of(kind: str, keywords: Dict[str, Any], fn_name: str) -> Tuple[str, Dict[str, float]]:
    p = dict(PARAM_DEFAULTS)
    p.update(_ROW[kind]["params"])
    allowed = (*_ROW[kind]["params"], *_PY_PARAMS.get(kind, ()))
    for key, value in keywords.items():
        if key not in allowed:
            raise ValueError(f"{fn_name}() has no parameter {key!r} that ranvier's kernels take "
                             f"(parameters: {', '.join(allowed) or 'none'})")
        if key == "approximate":
            if value:
                kind = "gelu_approx"
        elif key == "axis":
            if value not in (-1,):
                raise ValueError(f"{fn_name}: ranvier's layers apply {kind} along the last axis (axis=-1), "
                                 f"got axis={value!r}")
        else:
            p[key] = _num(value, fn_name, key, allow_none=(key == "max_value"))
    if kind == "celu" and p["alpha"] == 0.0:
        raise ValueError("celu: alpha must be non-zero")
    return kind, p


def core_spec(identifier) -> Tuple[str, Dict[str, float]]:
    """``(kind_name, params)`` of the C++ kernel that computes ``identifier``.

    ``kind_name`` is one of ``KIND_NAMES`` (the C++ ActKind names: note ``"gelu_approx"``
    for ``gelu(approximate=True)``); ``params`` always holds the four keys
    ``negative_slope``, ``max_value`` (``math.inf`` when None), ``threshold`` and ``alpha``
    as floats (``leaky_relu``: negative_slope 0.2). Accepts what ``get`` accepts, plus
    ``functools.partial`` of a built-in with keyword parameters
    (``partial(relu, max_value=6.0)``, ``partial(gelu, approximate=True)``).
    Raises ValueError for a Python callable without a C++ kernel (or a NumPy-only built-in).
    """
    if isinstance(identifier, functools.partial):
        if identifier.args:
            raise ValueError(f"core_spec: {identifier!r} binds positional arguments; only keyword "
                             f"parameters of a built-in activation can run in C++")
        base = identifier.func
        if base not in _KERNEL_OF:
            raise ValueError(f"core_spec: {identifier!r} wraps a function without a C++ kernel")
        return _params_of(_KERNEL_OF[base], dict(identifier.keywords), base.__name__)
    fn = get(identifier)
    if isinstance(fn, functools.partial):
        return core_spec(fn)
    kind = _KERNEL_OF.get(fn)
    if kind is None:
        name = getattr(fn, "__name__", repr(fn))
        raise ValueError(
            f"activation {name!r} is a Python callable with no C++ kernel; ranvier's layers run "
            f"activations in C++ and support: {', '.join(sorted(k.__name__ for k in _KERNEL_OF))} "
            f"(plus the aliases {', '.join(sorted(_ALIASES))})")
    return _params_of(kind, {}, kind)


def core_kind(kind_name: str) -> int:
    """The C++ ActKind integer of a ``core_spec`` kind name."""
    try:
        return _KIND_INDEX[kind_name]
    except KeyError:
        raise ValueError(f"unknown activation kind {kind_name!r}; kinds: {', '.join(KIND_NAMES)}") from None
