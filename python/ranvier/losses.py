"""Losses (Keras 3 names, defaults, reductions and numbers).

Function forms (``mean_squared_error(y_true, y_pred)``, ...) return the per-sample
losses: float32, shape ``y_pred.shape[:-1]`` (a 0-d array for rank-1 input). Class forms
(``MeanSquaredError(reduction="sum_over_batch_size", name=...)``) add the reduction and
``sample_weight``. The values are computed by the C++ loss kernels; the reduction
(a float64 sum returned as float32) is done here.

Inputs: anything ``np.asarray`` turns into a real numeric array. y_true may be integer
or bool (labels); both are converted to float32 (float64 -> float32 is one copy).
Complex, object and string arrays raise ``TypeError``. Rank alignment follows Keras's
``squeeze_or_expand_to_same_rank``: y_true (N,) against y_pred (N, 1) is (N, 1), never
an (N, N) broadcast. After alignment y_true must have y_pred's shape, or a last axis
of 1 (broadcast along it); otherwise ``ValueError`` names both shapes.

For the C++ training loop: ``core_spec(loss) -> (kind_name, params)`` with kind_name one
of ``KIND_NAMES`` (ranvier::LossKind) and params holding exactly ``from_logits``,
``label_smoothing``, ``delta``, ``alpha``, ``gamma``, ``apply_class_balancing``;
``core_kind(kind_name)`` is the LossKind integer, ``core_reduction(loss)`` the reduction.
"""
from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from . import _checks, _core

KIND_NAMES: Tuple[str, ...] = tuple(_core.loss_kind_names())
_KIND_INDEX = {name: i for i, name in enumerate(KIND_NAMES)}
PARAM_DEFAULTS = {"from_logits": False, "label_smoothing": 0.0, "delta": 1.0, "alpha": 0.25, "gamma": 2.0,
                  "apply_class_balancing": False}
REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "BinaryFocalCrossentropy", "Hinge", "SquaredHinge", "CategoricalHinge",
    "Huber", "LogCosh", "KLDivergence", "Poisson", "CosineSimilarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge",
    "categorical_hinge", "huber", "log_cosh", "kl_divergence", "poisson", "cosine_similarity",
    "get", "serialize", "deserialize", "core_spec", "core_kind", "core_reduction",
]


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
    sparse = kind == "sparse_categorical_crossentropy"
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
        return ps, (~ignored.reshape(lead)), grad
    return ps, None, grad


# Losses whose y_true must have y_pred's shape exactly (Keras's backend
# binary_crossentropy / categorical_crossentropy raise "Arguments `target` and `output`
# must have the same shape"); the others broadcast a y_true with a last axis of 1, as
# Keras's elementwise formulas do.
_SAME_SHAPE = frozenset({"binary_crossentropy", "categorical_crossentropy", "binary_focal_crossentropy"})


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


_FUNCTIONS: Dict[str, Callable] = {f.__name__: f for f in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, binary_focal_crossentropy,
    hinge, squared_hinge, categorical_hinge, huber, log_cosh, kl_divergence, poisson, cosine_similarity)}
_ALIASES = {"bce": binary_crossentropy, "BCE": binary_crossentropy, "mse": mean_squared_error,
            "MSE": mean_squared_error, "mae": mean_absolute_error, "MAE": mean_absolute_error,
            "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
            "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
            "kld": kl_divergence, "KLD": kl_divergence}
# Parameters of each function beyond (y_true, y_pred) that reach the C++ kernel.
_FN_PARAMS = {
    "binary_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "categorical_crossentropy": ("from_logits", "label_smoothing", "axis"),
    "sparse_categorical_crossentropy": ("from_logits", "ignore_class", "axis"),
    "binary_focal_crossentropy": ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing",
                                  "axis"),
    "huber": ("delta",),
    "cosine_similarity": ("axis",),
}


# ----------------------------------------------------------------------------- classes
from ._naming import to_snake_case as _snake  # noqa: E402


def _standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{{'sum_over_batch_size', 'sum', None, 'none', 'mean', 'mean_with_sample_weight'}}. "
            f"Received: reduction={reduction!r}")
    return reduction


def _reduce(values: np.ndarray, sample_weight, reduction, fn: str, mask=None) -> Any:
    """Keras reduce_weighted_values: v_i = w_i l_i, then the reduction (float64 sums)."""
    v = values.astype(np.float64)
    sw = None
    if mask is not None:
        m = mask.astype(np.float64)
        if reduction in ("mean", "sum_over_batch_size") and m.size:
            valid = m.sum()
            m = m * (m.size / valid if valid else 0.0)
        sw = m
    if sample_weight is not None:
        w = _as_f32(sample_weight, fn, "sample_weight").astype(np.float64)
        if sw is not None:
            a, b = _squeeze_or_expand(sw, w)
            w = a * b
        sw = w
    weights_for_divisor = sw
    if sw is not None:
        vv, ww = _squeeze_or_expand(v, sw)
        try:
            v = vv * ww
        except ValueError:
            raise ValueError(
                f"{fn}: sample_weight.shape={np.shape(sample_weight)} does not match the per-sample "
                f"losses of shape {values.shape} (use a scalar, shape {values.shape} or "
                f"{values.shape + (1,)})") from None
    if reduction in (None, "none") or v.shape in ((), (0,)):
        return v.astype(np.float32)
    total = v.sum()
    if reduction == "sum":
        return np.float32(total)
    if reduction == "mean_with_sample_weight" and weights_for_divisor is not None:
        d = float(np.sum(weights_for_divisor))
        return np.float32(total / d if d else 0.0)
    return np.float32(total / v.size if v.size else 0.0)


class Loss:
    """Base class: ``Loss(name=None, reduction="sum_over_batch_size", dtype=None)``.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses; calling the
    object applies ``sample_weight`` and the reduction (Keras 3). Only float32 is
    supported as dtype.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {name!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)
        if dtype is not None:
            name_ = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
            try:
                ok = np.dtype(name_) == np.float32
            except TypeError:
                ok = False
            if not ok:
                raise ValueError(f"{type(self).__name__}: ranvier computes losses in float32; got dtype={dtype!r}")
        self._dtype = "float32"

    @property
    def dtype(self) -> str:
        """The compute dtype: always ``"float32"``."""
        return self._dtype

    def call(self, y_true, y_pred):
        """Per-sample losses of ``(y_true, y_pred)``, before ``sample_weight`` and the
        reduction; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def _call_with_mask(self, y_true, y_pred):
        return np.asarray(self.call(y_true, y_pred), dtype=np.float32), None

    def __call__(self, y_true, y_pred, sample_weight=None):
        values, mask = self._call_with_mask(y_true, y_pred)
        return _reduce(values, sample_weight, self.reduction, self.name, mask=mask)

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (``name``, ``reduction`` and the loss's own)."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        """Rebuilds the loss from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """``LossFunctionWrapper(fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs)``.

    Wraps a loss function (plus keyword arguments passed to it) as a Loss: what
    ``compile`` does with a function or string loss. ``fn`` may also be a loss name or a
    serialized function; ``name`` defaults to ``fn.__name__``.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if isinstance(fn, (str, dict)):
            fn = deserialize(fn)
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = dict(kwargs)

    def call(self, y_true, y_pred):
        """``fn(y_true, y_pred, **kwargs)``: the per-sample losses."""
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _call_with_mask(self, y_true, y_pred):
        if self.fn is sparse_categorical_crossentropy and self._fn_kwargs.get("ignore_class") is not None:
            kw = dict(self._fn_kwargs)
            fl = _check_bool(kw.get("from_logits", False), self.name, "from_logits")
            ps, mask, _ = _per_sample("sparse_categorical_crossentropy", y_true, y_pred, self.name,
                                      {"from_logits": fl}, axis=kw.get("axis", -1),
                                      ignore_class=kw["ignore_class"])
            return ps, mask
        if self.fn in _FUNCTIONS.values():
            return self.fn(y_true, y_pred, **self._fn_kwargs), None
        yt = np.asarray(y_true)
        yp = np.asarray(y_pred)
        yt, yp = _squeeze_or_expand(yt, yp)
        return np.asarray(self.fn(yt, yp, **self._fn_kwargs), dtype=np.float32), None

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _Builtin(LossFunctionWrapper):
    """A built-in loss class: its config is Loss's plus its own arguments."""

    _fn: Optional[Callable] = None  # each built-in class sets its loss function
    _args: Tuple[str, ...] = ()

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(type(self)._fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def get_config(self):
        config = Loss.get_config(self)
        config.update({k: self._fn_kwargs[k] for k in self._args})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(_Builtin):
    """``MeanSquaredError(reduction="sum_over_batch_size", name="mean_squared_error", dtype=None)``.

    Per sample: ``mean((y_true - y_pred)^2, axis=-1)`` (see ``mean_squared_error``), then
    ``sample_weight`` and the reduction.
    """

    _fn = staticmethod(mean_squared_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(_Builtin):
    """``MeanAbsoluteError(reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None)``.

    Per sample: ``mean(|y_true - y_pred|, axis=-1)`` (see ``mean_absolute_error``).
    """

    _fn = staticmethod(mean_absolute_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Builtin):
    """``MeanAbsolutePercentageError(reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None)``.

    Per sample: ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``.
    """

    _fn = staticmethod(mean_absolute_percentage_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_Builtin):
    """``MeanSquaredLogarithmicError(reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None)``.

    Per sample: ``mean((log(y_pred + 1) - log(y_true + 1))^2, axis=-1)`` (both clipped
    below at epsilon; see ``mean_squared_logarithmic_error``).
    """

    _fn = staticmethod(mean_squared_logarithmic_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(_Builtin):
    """``CosineSimilarity(axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None)``.

    Per sample: ``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``, so -1 means
    the same direction (see ``cosine_similarity``).
    """

    _fn = staticmethod(cosine_similarity)
    _args = ("axis",)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(_Builtin):
    """``Huber(delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None)``.

    Per sample: ``mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2)`` with
    ``e = y_pred - y_true``; ``delta`` must be >= 0 (see ``huber``).
    """

    _fn = staticmethod(huber)
    _args = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        _check_num(delta, "Huber", "delta", 0.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(_Builtin):
    """``LogCosh(reduction="sum_over_batch_size", name="log_cosh", dtype=None)``.

    Per sample: ``mean(log(cosh(y_pred - y_true)), axis=-1)`` (see ``log_cosh``).
    """

    _fn = staticmethod(log_cosh)

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class Hinge(_Builtin):
    """``Hinge(reduction="sum_over_batch_size", name="hinge", dtype=None)``.

    Per sample: ``mean(max(1 - y_true * y_pred, 0), axis=-1)``; labels that are all 0 or 1
    are mapped to -1/+1 first (see ``hinge``).
    """

    _fn = staticmethod(hinge)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(_Builtin):
    """``SquaredHinge(reduction="sum_over_batch_size", name="squared_hinge", dtype=None)``.

    Per sample: ``mean(max(1 - y_true * y_pred, 0)^2, axis=-1)``, with ``Hinge``'s label
    conversion (see ``squared_hinge``).
    """

    _fn = staticmethod(squared_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(_Builtin):
    """``CategoricalHinge(reduction="sum_over_batch_size", name="categorical_hinge", dtype=None)``.

    Per sample: ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` (see
    ``categorical_hinge``).
    """

    _fn = staticmethod(categorical_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class KLDivergence(_Builtin):
    """``KLDivergence(reduction="sum_over_batch_size", name="kl_divergence", dtype=None)``.

    Per sample: ``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to
    [1e-7, 1] (see ``kl_divergence``).
    """

    _fn = staticmethod(kl_divergence)

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class Poisson(_Builtin):
    """``Poisson(reduction="sum_over_batch_size", name="poisson", dtype=None)``.

    Per sample: ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`` (see ``poisson``).
    """

    _fn = staticmethod(poisson)

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(_Builtin):
    """``BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None)``.

    Per sample: the mean over ``axis`` of the elementwise binary cross-entropy. With
    ``from_logits=False`` (the Keras default) ``y_pred`` holds probabilities, clipped to
    [1e-7, 1 - 1e-7]; with ``from_logits=True`` it holds logits. ``label_smoothing`` in
    [0, 1] moves the labels towards 0.5 (see ``binary_crossentropy``).
    """

    _fn = staticmethod(binary_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        _check_bool(from_logits, "BinaryCrossentropy", "from_logits")
        _check_num(label_smoothing, "BinaryCrossentropy", "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(_Builtin):
    """``BinaryFocalCrossentropy(apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy", dtype=None)``.

    Per sample: ``mean(w * (1 - p_t)^gamma * bce)`` with ``p_t = y p + (1 - y)(1 - p)``;
    ``w = alpha y + (1 - alpha)(1 - y)`` when ``apply_class_balancing``, else 1 (see
    ``binary_focal_crossentropy``).
    """

    _fn = staticmethod(binary_focal_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy",
                 dtype=None):
        fn = "BinaryFocalCrossentropy"
        _check_bool(apply_class_balancing, fn, "apply_class_balancing")
        _check_num(alpha, fn, "alpha")
        _check_num(gamma, fn, "gamma", 0.0)
        _check_bool(from_logits, fn, "from_logits")
        _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)


class CategoricalCrossentropy(_Builtin):
    """``CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None)``.

    Per sample: ``-sum(y_true * log(q), axis)`` for one-hot (or soft) labels, where ``q``
    is ``y_pred`` renormalized to sum 1 and clipped (``from_logits=False``, the Keras
    default) or ``softmax(y_pred)`` (``from_logits=True``). ``label_smoothing`` replaces
    ``y`` with ``y (1 - ls) + ls / num_classes`` (see ``categorical_crossentropy``).
    """

    _fn = staticmethod(categorical_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        _check_bool(from_logits, "CategoricalCrossentropy", "from_logits")
        _check_num(label_smoothing, "CategoricalCrossentropy", "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_Builtin):
    """``SparseCategoricalCrossentropy(from_logits=False, ignore_class=None, reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None)``.

    Per sample: ``-log(q[label])`` with integer labels of shape (N,) or (N, 1), ``q`` as in
    ``CategoricalCrossentropy``. Samples whose label equals ``ignore_class`` get loss 0
    and are left out of the ``"sum_over_batch_size"`` divisor; labels out of range raise
    ValueError (see ``sparse_categorical_crossentropy``).
    """

    _fn = staticmethod(sparse_categorical_crossentropy)
    _args = ("from_logits", "ignore_class")

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None, axis=-1):
        _check_bool(from_logits, "SparseCategoricalCrossentropy", "from_logits")
        if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, numbers.Integral)):
            raise TypeError(f"SparseCategoricalCrossentropy: ignore_class must be an int or None, got {ignore_class!r}")
        kwargs = {"from_logits": from_logits, "ignore_class": ignore_class}
        if axis != -1:
            kwargs["axis"] = axis
        super().__init__(reduction=reduction, name=name, dtype=dtype, **kwargs)


_CLASSES = {c.__name__: c for c in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Loss, LossFunctionWrapper)}
_LOOKUP: Dict[str, Any] = {**{k: v for k, v in _CLASSES.items() if k not in ("Loss", "LossFunctionWrapper")},
                           **_FUNCTIONS, **_ALIASES}


def _valid_names() -> str:
    return ", ".join(sorted(_LOOKUP))


# ----------------------------------------------------------------------------- registry
def serialize(loss) -> Any:
    """Keras's serialized form: a function -> {"module": "keras.losses", "class_name":
    "function", "config": name, ...}; a Loss -> {"module", "class_name", "config", ...}."""
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": None}
    name = getattr(loss, "__name__", None)
    if name in _FUNCTIONS and _FUNCTIONS[name] is loss:
        return {"module": "keras.losses", "class_name": "function", "config": name, "registered_name": name}
    if callable(loss) and name:
        return {"module": getattr(loss, "__module__", None), "class_name": "function", "config": name,
                "registered_name": name}
    raise ValueError(f"Cannot serialize loss {loss!r}: use a built-in loss ({_valid_names()})")


def deserialize(config, custom_objects: Optional[Dict[str, Any]] = None):
    """Inverse of ``serialize`` (names, function configs and class configs)."""
    custom_objects = custom_objects or {}
    if config is None:
        return None
    if isinstance(config, str):
        if config in custom_objects:
            obj = custom_objects[config]
        elif config in _LOOKUP:
            obj = _LOOKUP[config]
        else:
            raise ValueError(f"Could not interpret loss identifier: {config!r}; valid names are: {_valid_names()}")
        return obj() if inspect.isclass(obj) else obj
    if isinstance(config, dict):
        cname = config.get("class_name")
        inner = config.get("config")
        if cname == "function" or (cname is None and isinstance(inner, str)):
            return deserialize(inner, custom_objects)
        cls = (custom_objects.get(cname) or _CLASSES.get(cname)) if cname is not None else None
        if cls is None:
            raise ValueError(f"Could not interpret loss config: unknown class_name {cname!r}; known: "
                             f"{', '.join(sorted(_CLASSES))}")
        return cls.from_config(dict(inner or {}))
    raise ValueError(f"Could not interpret loss identifier: {config!r}")


def get(identifier):
    """Keras's ``losses.get``: None -> None; class names -> a new instance with defaults;
    function names and the aliases (bce/BCE, mse/MSE, mae/MAE, mape/MAPE, msle/MSLE, kld/KLD)
    -> the function; callables as is (a class is instantiated); dicts through ``deserialize``.
    Unknown names raise ValueError listing the valid ones ("logcosh", "huber_loss",
    "kullback_leibler_divergence" and "crossentropy" are not resolvable here)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _LOOKUP.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}; valid names are: "
                             f"{_valid_names()}")
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def core_spec(loss) -> Tuple[str, Dict[str, Any]]:
    """``(kind_name, params)`` of the C++ kernel computing ``loss`` (anything ``get``
    resolves). ``params`` has exactly the keys from_logits (bool), label_smoothing,
    delta, alpha, gamma (floats) and apply_class_balancing (bool); Keras defaults fill the
    keys a loss does not use. Raises ValueError for a Python loss without a C++ kernel,
    and for options the kernels do not take (axis other than -1, ignore_class)."""
    obj = get(loss)
    if obj is None:
        raise ValueError("core_spec: loss is None")
    kwargs: Dict[str, Any] = {}
    fn = obj
    if isinstance(obj, LossFunctionWrapper):
        fn = obj.fn
        kwargs = dict(obj._fn_kwargs)
    name = getattr(fn, "__name__", None)
    if name not in _FUNCTIONS or _FUNCTIONS[name] is not fn:
        what = type(obj).__name__ if isinstance(obj, Loss) else (name or repr(obj))
        raise ValueError(
            f"loss {what!r} is a Python loss with no C++ kernel; ranvier's training loop computes the loss "
            f"in C++ and supports: {', '.join(sorted(_FUNCTIONS))} (and their classes and aliases)")
    allowed = _FN_PARAMS.get(name, ())
    params = dict(PARAM_DEFAULTS)
    for key, value in kwargs.items():
        if key not in allowed:
            raise ValueError(f"core_spec: {name} has no parameter {key!r}")
        if key == "axis":
            if value != -1:
                raise ValueError(f"core_spec: {name} with axis={value!r}: the C++ loss works on the last "
                                 f"axis only (axis=-1)")
        elif key == "ignore_class":
            if value is not None:
                raise ValueError(f"core_spec: {name} with ignore_class={value!r} has no C++ kernel "
                                 f"(evaluate it in Python, or drop ignore_class)")
        else:
            params[key] = value
    return name, _core_params(params)


def core_kind(kind_name: str) -> int:
    """The C++ LossKind integer of a ``core_spec`` kind name."""
    try:
        return _KIND_INDEX[kind_name]
    except KeyError:
        raise ValueError(f"unknown loss kind {kind_name!r}; kinds: {', '.join(KIND_NAMES)}") from None


def core_reduction(loss) -> Optional[str]:
    """The reduction a loss object asks for ("sum_over_batch_size" for functions and names,
    as ``compile`` wraps them)."""
    obj = get(loss)
    return obj.reduction if isinstance(obj, Loss) else "sum_over_batch_size"
