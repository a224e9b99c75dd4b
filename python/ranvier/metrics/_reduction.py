"""Python-side reductions (``Mean``, ``Sum``, ``MeanMetricWrapper``) and the metric
functions (``accuracy``, ``mean_squared_error``, ...)."""
from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from .. import _checks
from .. import losses as _losses
from ._base import (  # noqa: F401
    _EPSILON, _auto_name, Metric,
)
from ._classification import (  # noqa: F401
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
)
from ._samplewise import (  # noqa: F401
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, LogCoshError,
)

# ----------------------------------------------------------------------------- Python-side means

__all__ = [
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "mse",
    "MSE",
    "mae",
    "MAE",
    "mape",
    "MAPE",
    "msle",
    "MSLE",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "kl_divergence",
    "poisson",
    "log_cosh",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
]


def _real_array(x, name: str, what: str, dtype=np.float64) -> np.ndarray:
    """``x`` as an array of real numbers (``dtype``): bool, int and float arrays (and lists,
    pandas objects) as they are; an object array only when every element is a real number.
    None, datetimes, complex numbers and strings are a TypeError naming ``name``, as every
    other metric input (they were coerced: None to NaN, a datetime to its day count)."""
    arr = _checks.as_numeric_array(x, name, what)
    if arr.dtype.kind == "O":
        for i, v in enumerate(arr.reshape(-1).tolist()):
            if not isinstance(v, numbers.Real):
                pos = ", ".join(str(int(j)) for j in np.unravel_index(i, arr.shape)) if arr.ndim else ""
                raise TypeError(f"{what}: {name} must hold real numbers, got {name}[{pos}]={v!r} "
                                f"(a {type(v).__name__})")
    elif arr.dtype.kind not in "fiub":
        raise TypeError(f"{what}: {name} must hold real numbers (float, int or bool), got dtype={arr.dtype}")
    return np.asarray(arr, dtype=dtype)


def _reduce_to_samplewise(values, sample_weight, reduce_fn, what: str):
    """Keras's reduce_to_samplewise_values, in float64: the weights are brought to the
    values' rank (squeeze/expand a trailing 1), the values reduced over the axes the
    weights lack, multiplied by the (broadcast) weights, then reduced to one value per
    sample; the weights likewise. Returns (values, weights or None)."""
    v = _real_array(values, "values", what)
    if sample_weight is None:
        if v.ndim > 1:
            v = reduce_fn(v, axis=tuple(range(1, v.ndim)))
        return v, None
    w = _real_array(sample_weight, "sample_weight", what)
    if w.ndim == v.ndim + 1 and w.shape[-1] == 1:  # squeeze_or_expand_to_same_rank
        w = w.reshape(w.shape[:-1])
    elif v.ndim == w.ndim + 1 and v.shape[-1] == 1:
        v = v.reshape(v.shape[:-1])
    if v.ndim > w.ndim:
        v = reduce_fn(v, axis=tuple(range(w.ndim, v.ndim)))
    try:
        w = np.broadcast_to(w, v.shape)
    except ValueError:
        raise ValueError(f"{what}: sample_weight.shape={np.shape(sample_weight)} cannot be broadcast to "
                         f"the values' shape {np.shape(values)}") from None
    v = v * w
    if w.ndim > 1:
        w = reduce_fn(w, axis=tuple(range(1, w.ndim)))
    if v.ndim > 1:
        v = reduce_fn(v, axis=tuple(range(1, v.ndim)))
    return v, w


class Mean(Metric):
    """Weighted running mean of ``values`` (Keras's ``Mean``): per sample, the mean over the
    non-batch axes; ``total += sum(w * v)``, ``count += sum(w)`` (or the number of
    samples), ``result = total / count`` (0 when count is 0). Float64 state, in Python."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Adds ``values`` weighted by ``sample_weight`` (a scalar, per sample, or per
        element: broadcast to the values as Keras does)."""
        v, w = _reduce_to_samplewise(values, sample_weight, np.mean, type(self).__name__)
        self.total += float(np.sum(v))
        if w is not None:
            self.count += float(np.sum(w))
        else:
            self.count += float(v.shape[0]) if v.ndim >= 1 else 1.0

    def result(self) -> float:
        return 0.0 if self.count == 0 else self.total / self.count

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0


class Sum(Metric):
    """Weighted running sum of ``values`` (Keras's ``Sum``): ``total += sum(w * v)``.
    Float64 state, in Python."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Adds the sum of ``values``, each multiplied by its ``sample_weight`` (a scalar,
        per sample, or per element) when given."""
        v, _ = _reduce_to_samplewise(values, sample_weight, np.sum, type(self).__name__)
        self.total += float(np.sum(v))

    def result(self) -> float:
        return self.total

    def reset_state(self) -> None:
        self.total = 0.0


class MeanMetricWrapper(Mean):
    """Running mean of ``fn(y_true, y_pred, **kwargs)`` (a user function), computed in Python.

    Given to ``compile`` (a plain function becomes one of these, named after it), it runs
    on the Python path: the C++ epoch calls it once per batch (see ``Metric``)."""

    def __init__(self, fn: Callable, name=None, dtype=None, **kwargs):
        super().__init__(name=name or _auto_name("MeanMetricWrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if getattr(fn, "__module__", None) == "ranvier.losses":  # a loss: smaller is better
            self._direction = "down"

    # Keras's MeanMetricWrapper takes (y_true, y_pred) where its base Mean takes values.
    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # type: ignore[override]
        """Adds ``fn(y_true, y_pred, **kwargs)`` (inputs as float32, ranks aligned as Keras
        does) to the running mean, weighted by ``sample_weight``."""
        what = f"{type(self).__name__} '{self.name}'"
        yp = _real_array(y_pred, "y_pred", what, np.float32)
        yt = _real_array(y_true, "y_true", what, np.float32)
        if yt.ndim == yp.ndim - 1 and yp.ndim >= 1 and yp.shape[-1] == 1:
            yt = yt.reshape(yt.shape + (1,))  # squeeze_or_expand_to_same_rank
        elif yp.ndim == yt.ndim - 1 and yt.ndim >= 1 and yt.shape[-1] == 1:
            yp = yp.reshape(yp.shape + (1,))
        values = self._fn(yt, yp, **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "fn": self._fn, **self._fn_kwargs}


# ----------------------------------------------------------------------------- functions (NumPy)

def _align(y_true, y_pred):
    yp = np.asarray(y_pred, dtype=np.float32)
    yt = np.asarray(y_true, dtype=np.float32)
    if yt.ndim == yp.ndim - 1 and yp.ndim >= 1 and yp.shape[-1] == 1:
        yt = yt[..., None]
    elif yp.ndim == yt.ndim - 1 and yt.ndim >= 1 and yt.shape[-1] == 1:
        yp = yp[..., None]
    return yt, yp


def accuracy(y_true, y_pred):
    """Elementwise 1.0 where y_true == y_pred, else 0.0."""
    yt, yp = _align(y_true, y_pred)
    return (yt == yp).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Elementwise 1.0 where (y_pred > threshold) equals y_true."""
    yt, yp = _align(y_true, y_pred)
    return (yt == (yp > np.float32(threshold)).astype(np.float32)).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where argmax(y_true) == argmax(y_pred)."""
    yt = np.asarray(y_true, dtype=np.float32)
    yp = np.asarray(y_pred, dtype=np.float32)
    return (np.argmax(yt, axis=-1) == np.argmax(yp, axis=-1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where the integer label equals argmax(y_pred)."""
    yp = np.asarray(y_pred, dtype=np.float32)
    yt = np.asarray(y_true, dtype=np.float32)
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    return (yt == np.argmax(yp, axis=-1).astype(np.float32)).astype(np.float32)


def _in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    n, c = predictions.shape
    valid = (targets >= 0) & (targets < c)
    safe = np.where(valid, targets, 0)
    at = predictions[np.arange(n), safe]
    at = np.where(np.isnan(at), -np.inf, at)
    greater = np.sum(predictions > at[:, None], axis=-1)
    return valid & (greater < k)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample 1.0 where argmax(y_true) is among the k largest predictions (ties count)."""
    yp = np.asarray(y_pred, dtype=np.float32).reshape(-1, np.shape(y_pred)[-1])
    targets = np.argmax(np.asarray(y_true, dtype=np.float32), axis=-1).reshape(-1)
    return _in_top_k(targets, yp, k).astype(np.float32)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample 1.0 where the integer label is among the k largest predictions."""
    if from_sorted_ids:
        ids = np.asarray(y_pred)[..., :k]
        yt = np.asarray(y_true).reshape(-1, 1)
        return np.any(ids.reshape(yt.shape[0], -1) == yt, axis=-1).astype(np.float32)
    yp = np.asarray(y_pred, dtype=np.float32).reshape(-1, np.shape(y_pred)[-1])
    yt = np.asarray(y_true, dtype=np.float32).reshape(-1)
    with np.errstate(invalid="ignore"):
        targets = np.where(np.isfinite(yt), np.trunc(yt), -1).astype(np.int64)
    return _in_top_k(targets, yp, k).astype(np.float32)


def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred)^2, axis=-1)`` in NumPy (float32)."""
    yt, yp = _align(y_true, y_pred)
    return np.mean(np.square(yp - yt), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)`` in NumPy (float32)."""
    yt, yp = _align(y_true, y_pred)
    return np.mean(np.abs(yp - yt), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)`` in NumPy."""
    yt, yp = _align(y_true, y_pred)
    diff = np.abs((yt - yp) / np.maximum(np.abs(yt), np.float32(_EPSILON)))
    return np.float32(100.0) * np.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2, axis=-1)`` in NumPy."""
    yt, yp = _align(y_true, y_pred)
    a = np.log(np.maximum(yp, np.float32(_EPSILON)) + np.float32(1.0))
    b = np.log(np.maximum(yt, np.float32(_EPSILON)) + np.float32(1.0))
    return np.mean(np.square(a - b), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

# Keras's keras.metrics also exports the loss functions (per-sample values, NumPy here).
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
categorical_hinge = _losses.categorical_hinge
kl_divergence = _losses.kl_divergence
poisson = _losses.poisson
log_cosh = _losses.log_cosh
huber = _losses.huber
binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
binary_focal_crossentropy = _losses.binary_focal_crossentropy

# A function given to compile runs as its C++ class, named by the function's name (other
# functions run on the Python path, in a MeanMetricWrapper).
_FUNCTION_CLASSES = {
    accuracy: Accuracy,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    log_cosh: LogCoshError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    _losses.mean_squared_error: MeanSquaredError,
    _losses.mean_absolute_error: MeanAbsoluteError,
    _losses.mean_absolute_percentage_error: MeanAbsolutePercentageError,
    _losses.mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
}
