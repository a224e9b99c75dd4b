"""Loss functions: the per-sample losses of the C++ kernels, and what they share (input
conversion, Keras's rank alignment, label checks, parameter checks)."""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import _checks, _core, _tensor

# The rows of the C++ loss list (cpp/src/kernels/f32-vloss/losses.def), in LossKind order:
# {name, class_name, kind, cost, labels, params (name -> default), aliases, file_aliases}.
_TABLE: Tuple[Dict[str, Any], ...] = tuple(_core.loss_table())
_ROW: Dict[str, Dict[str, Any]] = {row["name"]: row for row in _TABLE}
KIND_NAMES: Tuple[str, ...] = tuple(row["name"] for row in _TABLE)
_KIND_INDEX = {name: i for i, name in enumerate(KIND_NAMES)}
# The C++ LossParams fields with Keras's defaults (each loss's own are its row's params).
PARAM_DEFAULTS = {"from_logits": False, "label_smoothing": 0.0, "delta": 1.0, "alpha": 0.25, "gamma": 2.0,
                  "apply_class_balancing": False}
REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


# ----------------------------------------------------------------------------- inputs
def _as_f32(x, fn: str, arg: str) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{fn}: {arg} must be a numeric array, got {type(x).__name__}")
    try:
        arr = _checks.as_numeric_array(x, arg, fn)  # pandas: non-numeric columns named
    except TypeError:
        raise
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"{fn}: {arg} could not be converted to an array: {e}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{fn}: {arg} must be a real numeric array (converted to float32), "
                        f"got dtype={arr.dtype}")
    with np.errstate(over="ignore"):
        out = arr.astype(np.float32, order="C", copy=False)
    # an unaligned view (np.frombuffer at an odd offset) is copied: the kernels load aligned floats
    return out if out.flags.aligned else out.copy()


def _squeeze_or_expand(x1: np.ndarray, x2: np.ndarray):
    """Keras's squeeze_or_expand_to_same_rank (expand_rank_1=True)."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _move_axis(a: np.ndarray, axis, fn: str, arg: str) -> np.ndarray:
    if axis in (-1, None) or a.ndim == 0:
        return a
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{fn}: axis must be an int, got {axis!r}")
    if not -a.ndim <= int(axis) < a.ndim:
        raise ValueError(f"{fn}: axis={axis} is out of range for {arg}.shape={a.shape}")
    return np.moveaxis(a, int(axis), -1)


def _per_sample(kind: str, y_true, y_pred, fn: str, params: Dict[str, Any], axis=-1,
                ignore_class=None, want_grad: bool = False):
    """Per-sample losses (float32, shape y_pred.shape[:-1]) of kind `kind` from C++."""
    yt = _as_f32(y_true, fn, "y_true")
    yp = _as_f32(y_pred, fn, "y_pred")
    sparse = _ROW[kind]["labels"] == "sparse"
    if yp.ndim == 0:
        raise ValueError(f"{fn}: y_pred must have at least one axis, got y_pred.shape={yp.shape}")
    if not sparse:
        yt, yp = _squeeze_or_expand(yt, yp)
        yt = _move_axis(yt, axis, fn, "y_true")
    yp = _move_axis(yp, axis, fn, "y_pred")
    k = yp.shape[-1]
    lead = yp.shape[:-1]
    if sparse:
        if yt.ndim == yp.ndim and yt.shape[-1] == 1:
            yt = yt[..., 0]
        if yt.shape != lead:
            raise ValueError(
                f"{fn}: y_true must hold one integer label per row of y_pred, i.e. have shape {lead} "
                f"(or {lead + (1,)}); got y_true.shape={np.shape(y_true)}, y_pred.shape={np.shape(y_pred)}")
        labels = yt.reshape(-1, 1)
        bad = ~((labels >= 0) & (labels < k) & (labels == np.floor(labels)))
        if ignore_class is not None:
            ignored = labels == ignore_class
            bad &= ~ignored
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{fn}: y_true holds label {labels[i, 0]:g} (at flat index {i}), out of range for "
                f"y_pred with {k} classes (y_pred.shape={np.shape(y_pred)}); valid labels are integers "
                f"0..{k - 1}")
        if ignore_class is not None:
            labels = np.where(ignored, 0.0, labels).astype(np.float32)
        yt2 = np.ascontiguousarray(labels)
    else:
        if kind in _SAME_SHAPE and yt.shape != yp.shape:
            # Keras's binary/categorical cross-entropies (and the focal one built on the binary
            # one) refuse any other shape after the rank alignment: no broadcasting of a
            # (n, 1) y_true over (n, k) predictions
            raise ValueError(
                f"{fn}: y_true and y_pred must have the same shape (after Keras's rank alignment, which "
                f"squeezes or expands a trailing 1). Received: y_true.shape={np.shape(y_true)}, "
                f"y_pred.shape={np.shape(y_pred)}")
        if yt.shape != yp.shape and not (yt.shape[:-1] == lead and yt.ndim == yp.ndim and yt.shape[-1] == 1):
            raise ValueError(
                f"{fn}: y_true and y_pred have incompatible shapes: y_true.shape={np.shape(y_true)}, "
                f"y_pred.shape={np.shape(y_pred)} (after Keras's rank alignment: {yt.shape} vs {yp.shape}); "
                f"they must be equal, or y_true's last axis 1")
        yt2 = np.ascontiguousarray(yt.reshape(-1, yt.shape[-1] if yt.ndim else 1))
    yp2 = np.ascontiguousarray(yp.reshape(-1, k))
    if k == 0:
        raise ValueError(f"{fn}: y_pred's last axis is empty (y_pred.shape={np.shape(y_pred)})")
    ps, grad = _core.loss_forward_backward(_KIND_INDEX[kind], yt2, yp2, None, 1.0, want_grad,
                                           **_core_params(params))
    ps = ps.reshape(lead)
    if ignore_class is not None and sparse:
        ps = np.where(ignored.reshape(lead), np.float32(0), ps).astype(np.float32)
        return _tensor.eager(ps), (~ignored.reshape(lead)), grad
    return _tensor.eager(ps), None, grad


# Losses whose y_true must have y_pred's shape exactly (labels "same" in the table: Keras's
# backend binary_crossentropy / categorical_crossentropy raise "Arguments `target` and
# `output` must have the same shape"); the others broadcast a y_true with a last axis of
# 1, as Keras's elementwise formulas do.
_SAME_SHAPE = frozenset(row["name"] for row in _TABLE if row["labels"] == "same")


def _core_params(params: Dict[str, Any]) -> Dict[str, Any]:
    p = dict(PARAM_DEFAULTS)
    p.update({k: v for k, v in params.items() if k in PARAM_DEFAULTS})
    return {"from_logits": bool(p["from_logits"]), "label_smoothing": float(p["label_smoothing"]),
            "delta": float(p["delta"]), "alpha": float(p["alpha"]), "gamma": float(p["gamma"]),
            "apply_class_balancing": bool(p["apply_class_balancing"])}


def _check_bool(v, fn, arg):
    return _checks.check_bool(v, arg, fn)


def _check_num(v, fn, arg, lo=None, hi=None, lo_open=False):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{fn}: {arg} must be a real number, got {v!r}")
    v = float(v)
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and v > hi) or math.isnan(v):
        if lo is None and hi is None:
            raise ValueError(f"{fn}: {arg} must be a finite number, got {arg}={v}")
        rng = f"{'(' if lo_open else '['}{lo}, {hi}]" if hi is not None else f"{'>' if lo_open else '>='} {lo}"
        raise ValueError(f"{fn}: {arg} must be in {rng}, got {arg}={v}")
    return _checks.check_float32(v, arg, fn)  # finite and within float32 (the C++ parameter)


# ----------------------------------------------------------------------------- functions
def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred)^2, axis=-1)``."""
    return _per_sample("mean_squared_error", y_true, y_pred, "mean_squared_error", {})[0]


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)``."""
    return _per_sample("mean_absolute_error", y_true, y_pred, "mean_absolute_error", {})[0]


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``."""
    return _per_sample("mean_absolute_percentage_error", y_true, y_pred, "mean_absolute_percentage_error", {})[0]


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)``."""
    return _per_sample("mean_squared_logarithmic_error", y_true, y_pred, "mean_squared_logarithmic_error", {})[0]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of the elementwise BCE; probabilities clipped to [1e-7, 1 - 1e-7]
    unless ``from_logits``; labels smoothed towards 0.5."""
    fn = "binary_crossentropy"
    p = {"from_logits": _check_bool(from_logits, fn, "from_logits"),
         "label_smoothing": _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)}
    return _per_sample(fn, y_true, y_pred, fn, p, axis=axis)[0]


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y log q)``: q = y_pred renormalized and clipped, or log_softmax(y_pred) with
    ``from_logits``; labels smoothed as y (1 - ls) + ls / num_classes."""
    fn = "categorical_crossentropy"
    p = {"from_logits": _check_bool(from_logits, fn, "from_logits"),
         "label_smoothing": _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)}
    return _per_sample(fn, y_true, y_pred, fn, p, axis=axis)[0]


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """``-log q[label]`` with integer labels (shape (N,) or (N, 1)); labels equal to
    ``ignore_class`` give 0. Labels out of range raise ValueError."""
    fn = "sparse_categorical_crossentropy"
    p = {"from_logits": _check_bool(from_logits, fn, "from_logits")}
    return _per_sample(fn, y_true, y_pred, fn, p, axis=axis, ignore_class=ignore_class)[0]


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(wt (1 - p_t)^gamma bce)``, p_t = y p + (1 - y)(1 - p)."""
    fn = "binary_focal_crossentropy"
    p = {"apply_class_balancing": _check_bool(apply_class_balancing, fn, "apply_class_balancing"),
         "alpha": _check_num(alpha, fn, "alpha"), "gamma": _check_num(gamma, fn, "gamma", 0.0),
         "from_logits": _check_bool(from_logits, fn, "from_logits"),
         "label_smoothing": _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)}
    return _per_sample(fn, y_true, y_pred, fn, p, axis=axis)[0]


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """``sum(alpha (1 - q)^gamma (-y log q))`` along ``axis``: q = y_pred renormalized to sum 1
    and clipped to [1e-7, 1 - 1e-7] (softmax first with ``from_logits``); labels smoothed as
    y (1 - ls) + ls / num_classes. ``alpha`` is one number (Keras also takes a list)."""
    fn = "categorical_focal_crossentropy"
    p = {"alpha": _check_num(alpha, fn, "alpha"), "gamma": _check_num(gamma, fn, "gamma", 0.0),
         "from_logits": _check_bool(from_logits, fn, "from_logits"),
         "label_smoothing": _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)}
    return _per_sample(fn, y_true, y_pred, fn, p, axis=axis)[0]


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0))``; if every label is 0 or 1 they become -1/+1."""
    return _per_sample("hinge", y_true, y_pred, "hinge", {})[0]


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0)^2)``, same label conversion as ``hinge``."""
    return _per_sample("squared_hinge", y_true, y_pred, "squared_hinge", {})[0]


def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y) p) - sum(y p) + 1, 0)``."""
    return _per_sample("categorical_hinge", y_true, y_pred, "categorical_hinge", {})[0]


def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2)``, e = y_pred - y_true."""
    p = {"delta": _check_num(delta, "huber", "delta", 0.0)}
    return _per_sample("huber", y_true, y_pred, "huber", p)[0]


def log_cosh(y_true, y_pred):
    """``mean(e + softplus(-2e) - log 2)`` = mean(log cosh(e)), e = y_pred - y_true."""
    return _per_sample("log_cosh", y_true, y_pred, "log_cosh", {})[0]


def kl_divergence(y_true, y_pred):
    """``sum(y log(y / p))`` with both clipped to [1e-7, 1] (a sum, not a mean)."""
    return _per_sample("kl_divergence", y_true, y_pred, "kl_divergence", {})[0]


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true log(y_pred + 1e-7))``."""
    return _per_sample("poisson", y_true, y_pred, "poisson", {})[0]


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (norms floored at 1e-7)."""
    return _per_sample("cosine_similarity", y_true, y_pred, "cosine_similarity", {}, axis=axis)[0]


# name -> function: one per row of the table
_FUNCTIONS: Dict[str, Callable] = {row["name"]: globals()[row["name"]] for row in _TABLE}
# Written out for static analysis (mypy); test_losses checks it lists the table's rows.
__all__ = [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_focal_crossentropy",
    "hinge", "squared_hinge", "categorical_hinge", "huber", "log_cosh", "kl_divergence", "poisson",
    "cosine_similarity", "categorical_focal_crossentropy",
]
