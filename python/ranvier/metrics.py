"""Metrics with Keras 3's names, defaults and semantics (keras-spec section 6).

Every built-in metric computes in C++ (``ranvier._core.Metric``, running state in
doubles): ``update_state`` here and the model's training loop drive the very same
C++ object, so a metric reports the same number whichever of them fed it.

    >>> m = ranvier.metrics.BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    >>> m.result()
    0.75

For the model (``compile``/``fit``):

- ``resolve(identifier, y_true_shape, y_pred_shape)`` turns one user metric into a
  Metric object named as Keras names it (``"accuracy"``/``"acc"`` resolved from the
  shapes, spec 6.1); ``resolve_all(metrics, weighted_metrics, ...)`` does the whole
  list and gives each its log key (duplicates ``_1``, ``weighted_<name>``; spec 6.2).
- ``metric.core_spec()`` -> ``(kind_name, params)`` for C++ metrics (None for a
  Python-only metric such as a user function); ``metric._core_metric`` is the C++
  object itself (``_core.Metric``, held by ``std::shared_ptr``).
- ``metric.direction`` is ``"up"``, ``"down"`` or None (callbacks' ``mode="auto"``).
"""
from __future__ import annotations

import collections
import inspect
import numbers
import re
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _checks, _core

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "AUC", "Precision", "Recall",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "mse", "mae", "mape", "msle",
    "get", "serialize", "deserialize", "resolve", "resolve_accuracy", "resolve_all",
    "ResolvedMetric", "metric_direction",
]

_EPSILON = 1e-7   # Keras's backend.epsilon()
_MAX_AUC_THRESHOLDS = 2**24  # as the C++ core (kMaxAucThresholds)
_NEG_INF = -1e10  # Keras's metrics_utils.NEG_INF (threshold used with top_k)


# ----------------------------------------------------------------------------- naming

def _to_snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: "RootMeanSquaredError" -> "root_mean_squared_error"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_name_uids: Dict[str, int] = collections.defaultdict(int)


def _auto_name(class_name: str) -> str:
    """Keras's naming.auto_name: snake_case, made unique in the session ("auc", "auc_1")."""
    base = _to_snake_case(class_name)
    unique = f"{base}_{_name_uids[base]}" if base in _name_uids else base
    _name_uids[base] += 1
    return unique


def _reset_auto_names() -> None:
    """Forgets the names handed out by ``_auto_name`` (like keras.backend.clear_session)."""
    _name_uids.clear()


# ----------------------------------------------------------------------------- inputs

def _as_f32(x, what: str) -> np.ndarray:
    arr = _checks.as_numeric_array(x, what, "metric")  # pandas: non-numeric columns named
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{what} must be numeric, got dtype={arr.dtype}")
    out = np.asarray(arr, dtype=np.float32)
    return out if out.flags.aligned else out.copy()  # the C++ metrics load aligned floats


def _as_2d(arr: np.ndarray, what: str, metric: str) -> np.ndarray:
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim == 2:
        return arr
    raise ValueError(f"{metric}: {what} must have rank 1 or 2 (samples, values), got {what}.shape={arr.shape}")


def _prepare(metric: str, y_true, y_pred, sample_weight, sparse: bool, same_shape: bool = False):
    """Aligns (y_true, y_pred, sample_weight) as Keras does and returns C-contiguous float32
    arrays of shapes (n, c), (n, k), (n,) or None for ``_core.Metric.update``.
    ``same_shape``: y_true and y_pred must have the same number of columns (the
    confusion-matrix metrics compare them element by element: no broadcasting)."""
    yt = _as_f32(y_true, "y_true")
    yp = _as_f32(y_pred, "y_pred")
    yt_shape, yp_shape = yt.shape, yp.shape
    yp = _as_2d(yp, "y_pred", metric)
    if sparse:
        # Integer labels, one per sample: (n,) or (n, 1) (a trailing 1 is squeezed).
        if yt.ndim == 2 and yt.shape[1] == 1:
            yt = yt.reshape(-1, 1)
        elif yt.ndim <= 1:
            yt = yt.reshape(-1, 1)
        else:
            raise ValueError(
                f"{metric}: y_true must hold one integer label per sample, shape (n,) or (n, 1); "
                f"got y_true.shape={yt_shape} with y_pred.shape={yp_shape}")
    else:
        yt = _as_2d(yt, "y_true", metric)
        c, k = yt.shape[1], yp.shape[1]
        if c != k and same_shape:
            raise ValueError(
                f"{metric}: y_true and y_pred must have the same shape, got y_true.shape={yt_shape}, "
                f"y_pred.shape={yp_shape}")
        if c != k and c != 1:
            if k == 1:  # broadcast a single prediction column over y_true's columns (NumPy rule)
                yp = np.ascontiguousarray(np.broadcast_to(yp, (yp.shape[0], c)))
            else:
                raise ValueError(
                    f"{metric}: y_true and y_pred shapes are incompatible: y_true.shape={yt_shape}, "
                    f"y_pred.shape={yp_shape} (last dimensions must match, or one of them be 1)")
    yt = np.ascontiguousarray(yt)
    yp = np.ascontiguousarray(yp)
    n = yp.shape[0]
    if yt.shape[0] != n:
        raise ValueError(
            f"{metric}: y_true and y_pred have different numbers of samples: "
            f"y_true.shape={yt_shape}, y_pred.shape={yp_shape}")
    sw = None
    if sample_weight is not None:
        sw = _as_f32(sample_weight, "sample_weight")
        sw_shape = sw.shape
        if sw.ndim == 0:
            sw = np.full((n,), float(sw), dtype=np.float32)
        elif sw.ndim == 2 and sw.shape[1] == 1:
            sw = sw.reshape(-1)
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(
                f"{metric}: sample_weight must have shape (n,) or (n, 1) with n={n} samples; "
                f"got sample_weight.shape={sw_shape}")
        sw = np.ascontiguousarray(sw)
    return yt, yp, sw


# ----------------------------------------------------------------------------- base classes

class Metric:
    """Base class of all metrics (Keras's ``keras.metrics.Metric``).

    Subclasses implement ``update_state``, ``result`` and ``reset_state``. ``direction``
    ("up", "down" or None) tells callbacks in ``mode="auto"`` which way is better.
    """

    _direction: Optional[str] = None

    def __init__(self, dtype=None, name=None):
        self.name = name or _auto_name(type(self).__name__)
        self._dtype = "float32" if dtype is None else str(np.dtype(dtype))

    @property
    def dtype(self) -> str:
        """The metric's dtype name (``"float32"`` unless given)."""
        return self._dtype

    @property
    def direction(self) -> Optional[str]:
        """"up" when larger is better, "down" when smaller is better, None if unknown."""
        return self._direction

    @property
    def variables(self) -> list:
        """Keras's state variables: always empty here (ranvier keeps the running state
        inside the metric object)."""
        return []

    def update_state(self, *args, **kwargs):
        """Accumulates one batch, usually ``update_state(y_true, y_pred, sample_weight=None)``."""
        raise NotImplementedError

    def result(self):
        """The metric's value over everything accumulated since the last reset, a float."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Clears the accumulated state (the model does so at the start of every epoch)."""
        raise NotImplementedError

    def core_spec(self) -> Optional[Tuple[str, Dict[str, Any]]]:
        """(kind_name, params) of the C++ metric computing this one; None if Python-only."""
        return None

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (``name``, ``dtype`` and the metric's own)."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        """Creates the metric from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


class _CoreMetric(Metric):
    """A metric computed by one C++ ``_core.Metric`` (kind + params)."""

    _kind: str = ""
    _sparse = False
    _same_shape = False  # confusion-matrix metrics: y_true and y_pred element by element

    def __init__(self, name=None, dtype=None, **params):
        super().__init__(dtype=dtype, name=name)
        self._params = dict(params)
        cp = _core.MetricParams()
        for key, value in self._params.items():
            if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
                # MetricParams' integers are C++ ints: a ValueError naming the argument and
                # its limit, not pybind11's "incompatible function arguments"
                _checks.check_int(value, key, type(self).__name__, -_checks.INT32_MAX - 1, _checks.INT32_MAX)
            setattr(cp, key, value)
        self._core_metric = _core.Metric(self._kind, cp)

    def core_spec(self) -> Tuple[str, Dict[str, Any]]:
        return self._kind, dict(self._params)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp, sw = _prepare(type(self).__name__, y_true, y_pred, sample_weight, self._sparse,
                              self._same_shape)
        self._core_metric.update(yt, yp, sw)

    def result(self) -> float:
        return float(self._core_metric.result())

    def reset_state(self) -> None:
        self._core_metric.reset()

    def _state(self) -> List[float]:
        """The running state (a list of sums; merging = elementwise addition)."""
        return list(self._core_metric.state())

    def _set_state(self, state: Sequence[float]) -> None:
        self._core_metric.set_state([float(v) for v in state])


# ----------------------------------------------------------------------------- accuracy family

class Accuracy(_CoreMetric):
    """How often predictions equal labels exactly (mean over the last axis)."""
    _kind = "accuracy"
    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class BinaryAccuracy(_CoreMetric):
    """How often ``(y_pred > threshold)`` equals the binary label (strictly greater)."""
    _kind = "binary_accuracy"
    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not (0 < threshold < 1):  # NaN included
            raise ValueError(
                "Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                f"Received: threshold={threshold}")
        self.threshold = 0.5 if threshold is None else threshold
        super().__init__(name=name, dtype=dtype, threshold=float(self.threshold))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(_CoreMetric):
    """How often argmax(y_pred) equals argmax(one-hot y_true) (ties -> first index)."""
    _kind = "categorical_accuracy"
    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SparseCategoricalAccuracy(_CoreMetric):
    """How often argmax(y_pred) equals the integer label."""
    _kind = "sparse_categorical_accuracy"
    _direction = "up"
    _sparse = True

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class TopKCategoricalAccuracy(_CoreMetric):
    """How often argmax(y_true) is among the k largest predictions."""
    _kind = "top_k_categorical_accuracy"
    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = _checks.check_int(k, "k", "TopKCategoricalAccuracy", -_checks.INT32_MAX - 1, _checks.INT32_MAX)
        super().__init__(name=name, dtype=dtype, k=self.k)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(_CoreMetric):
    """How often the integer label is among the k largest predictions."""
    _kind = "sparse_top_k_categorical_accuracy"
    _direction = "up"
    _sparse = True

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        if from_sorted_ids:
            raise NotImplementedError(
                "SparseTopKCategoricalAccuracy(from_sorted_ids=True) is not supported by ranvier")
        self.k = _checks.check_int(k, "k", "SparseTopKCategoricalAccuracy", -_checks.INT32_MAX - 1, _checks.INT32_MAX)
        self.from_sorted_ids = False
        super().__init__(name=name, dtype=dtype, k=self.k)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k,
                "from_sorted_ids": self.from_sorted_ids}


# ----------------------------------------------------------------------------- regression

class MeanSquaredError(_CoreMetric):
    """Running mean of mean((y_true - y_pred)**2, axis=-1)."""
    _kind = "mean_squared_error"
    _direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsoluteError(_CoreMetric):
    """Running mean of ``mean(|y_true - y_pred|, axis=-1)``."""
    _kind = "mean_absolute_error"
    _direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsolutePercentageError(_CoreMetric):
    """Running mean of ``100 * mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1)``."""
    _kind = "mean_absolute_percentage_error"
    _direction = "down"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_CoreMetric):
    """Running mean of mean((log(max(p,1e-7)+1) - log(max(y,1e-7)+1))**2, axis=-1)."""
    _kind = "mean_squared_logarithmic_error"
    _direction = "down"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class RootMeanSquaredError(_CoreMetric):
    """sqrt of the running (weighted) mean of squared errors."""
    _kind = "root_mean_squared_error"
    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


# ----------------------------------------------------------------------------- confusion metrics

def _single_threshold(thresholds, default: float, cls: str) -> Tuple[Any, float]:
    if thresholds is None:
        return None, default
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or not 0 <= t <= 1]  # NaN included
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    if len(values) != 1:
        raise NotImplementedError(
            f"{cls}: ranvier computes one threshold per metric; got thresholds={thresholds!r}. "
            f"Use one {cls}(thresholds=t) per threshold.")
    return thresholds, float(values[0])


class _PrecisionRecall(_CoreMetric):
    _direction = "up"
    _same_shape = True

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        cls = type(self).__name__
        self.init_thresholds, threshold = _single_threshold(
            thresholds, 0.5 if top_k is None else _NEG_INF, cls)
        if top_k is not None and int(top_k) < 1:
            raise ValueError(f"{cls}: top_k must be a positive integer, got top_k={top_k}")
        if class_id is not None and int(class_id) < 0:
            raise ValueError(f"{cls}: class_id must be >= 0, got class_id={class_id}")
        _checks.check_optional_int(top_k, "top_k", cls, 1, _checks.INT32_MAX)
        _checks.check_optional_int(class_id, "class_id", cls, 0, _checks.INT32_MAX)
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = threshold
        params: Dict[str, Any] = {"threshold": threshold}
        if top_k is not None:
            params["top_k"] = int(top_k)
        if class_id is not None:
            params["class_id"] = int(class_id)
        super().__init__(name=name, dtype=dtype, **params)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.class_id is not None and np.ndim(y_pred) == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {np.shape(y_pred)}")
        if self.top_k is not None and np.ndim(y_pred) == 1:
            # Keras applies top_k along the last axis: a 1-D y_pred is ONE row of predictions.
            if sample_weight is not None and np.ndim(sample_weight) > 0:
                sw = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
                if sw.size > 1 and not np.all(sw == sw[0]):
                    raise NotImplementedError(
                        f"{type(self).__name__}(top_k=...): per-element sample weights on 1-D "
                        "input are not supported; pass 2-D (samples, classes) arrays")
                sample_weight = sw[:1]
            y_true = np.reshape(np.asarray(y_true), (1, -1))
            y_pred = np.reshape(np.asarray(y_pred), (1, -1))
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp) with predictions ``> thresholds`` (default 0.5); labels cast to bool."""
    _kind = "precision"


class Recall(_PrecisionRecall):
    """tp / (tp + fn) with predictions ``> thresholds`` (default 0.5); labels cast to bool."""
    _kind = "recall"


_AUC_CURVES = {"ROC": 0, "roc": 0, "PR": 1, "pr": 1}
_AUC_SUMMATION = {"interpolation": 0, "Interpolation": 0, "minoring": 1, "Minoring": 1,
                  "majoring": 2, "Majoring": 2}


class AUC(_CoreMetric):
    """Area under the ROC (default) or PR curve, Keras's bucketed approximation.

    Thresholds ``{-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1+1e-7}`` with T=num_thresholds;
    ``summation_method="interpolation"`` uses the trapezoid rule for ROC and Davis &
    Goadrich's interpolation for PR. Multi-column data is flattened (multi_label=False).
    """
    _kind = "auc"
    _direction = "up"
    _same_shape = True

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if curve not in _AUC_CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        if summation_method not in _AUC_SUMMATION:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]')
        if multi_label or num_labels is not None or label_weights is not None:
            raise NotImplementedError(
                "AUC(multi_label=True / num_labels / label_weights) is not supported by ranvier; "
                "multi-column data is flattened (multi_label=False)")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            ts = sorted(float(t) for t in thresholds)
            full = np.array([0.0] + ts + [1.0])
            even = np.arange(len(full), dtype=np.float32) / (len(full) - 1)
            if len(full) < 3 or not np.allclose(full, even, atol=_EPSILON):
                raise NotImplementedError(
                    "AUC(thresholds=...) is supported only for evenly spaced thresholds "
                    f"(i/(n+1) for i = 1..n); got thresholds={thresholds!r}")
            num_thresholds = len(ts) + 2
            self._given_thresholds = ts
        elif isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral) \
                or num_thresholds <= 1:
            raise ValueError(
                f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}")
        if thresholds is None:  # past the C++ int: "too large", naming the limit
            _checks.check_int(num_thresholds, "num_thresholds", "AUC", 2, _checks.INT32_MAX)
        if num_thresholds > _MAX_AUC_THRESHOLDS:  # within it: the buckets' memory bound
            raise ValueError(
                f"AUC: num_thresholds={num_thresholds} is above ranvier's limit {_MAX_AUC_THRESHOLDS} (2**24; "
                f"the buckets take 16 bytes per threshold)")
        self.num_thresholds = int(num_thresholds)
        self.curve = "ROC" if _AUC_CURVES[curve] == 0 else "PR"
        self.summation_method = summation_method.lower()
        self.multi_label = False
        self.num_labels = None
        self.label_weights = None
        self._from_logits = bool(from_logits)
        super().__init__(name=name, dtype=dtype, num_thresholds=self.num_thresholds,
                         curve=_AUC_CURVES[curve], summation_method=_AUC_SUMMATION[summation_method],
                         from_logits=self._from_logits)

    @property
    def thresholds(self) -> List[float]:
        """The ``num_thresholds`` bucket edges, ``[-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1 + 1e-7]``."""
        inner = [(i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        return [0.0 - _EPSILON] + inner + [1.0 + _EPSILON]

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": False, "num_labels": None, "label_weights": None,
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# ----------------------------------------------------------------------------- Python-side means

def _samplewise(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        return values.reshape(1)
    if values.ndim > 1:
        return values.reshape(values.shape[0], -1).mean(axis=1)
    return values


def _weights_for(sample_weight, n: int, what: str) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        return np.full(n, float(w))
    if w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    if w.ndim == 1 and w.shape[0] == n:
        return w
    if w.shape[0] == n:  # per-element weights: reduce like the values (mean over the rest)
        return w.reshape(n, -1).mean(axis=1)
    raise ValueError(f"{what}: sample_weight.shape={np.shape(sample_weight)} does not match {n} samples")


class Mean(Metric):
    """Weighted running mean of values (per-sample means over non-batch axes), float64 state."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Adds ``values`` (one value per sample: means over the non-batch axes), weighted
        by ``sample_weight`` (scalar or per sample; default 1)."""
        v = _samplewise(values)
        w = _weights_for(sample_weight, v.shape[0], type(self).__name__)
        self.total += float(np.sum(v * w))
        self.count += float(np.sum(w))

    def result(self) -> float:
        return 0.0 if self.count == 0 else self.total / self.count

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0


class Sum(Metric):
    """Weighted running sum of values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Adds the sum of ``values``, each multiplied by its ``sample_weight`` (broadcast
        over the trailing axes) when given."""
        v = np.asarray(values, dtype=np.float64)
        if sample_weight is not None:
            v = v * np.broadcast_to(np.asarray(sample_weight, dtype=np.float64).reshape(
                np.shape(sample_weight) + (1,) * max(0, v.ndim - np.ndim(sample_weight))), v.shape)
        self.total += float(np.sum(v))

    def result(self) -> float:
        return self.total

    def reset_state(self) -> None:
        self.total = 0.0


class MeanMetricWrapper(Mean):
    """Running mean of ``fn(y_true, y_pred, **kwargs)`` (a user function), computed in Python.

    The model cannot run such a metric in C++ (``core_spec()`` is None)."""

    def __init__(self, fn: Callable, name=None, dtype=None, **kwargs):
        super().__init__(name=name or _auto_name("MeanMetricWrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    # Keras's MeanMetricWrapper takes (y_true, y_pred) where its base Mean takes values.
    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # type: ignore[override]
        """Adds ``fn(y_true, y_pred, **kwargs)`` (inputs as float32, ranks aligned as Keras
        does) to the running mean, weighted by ``sample_weight``."""
        yp = np.asarray(y_pred, dtype=np.float32)
        yt = np.asarray(y_true, dtype=np.float32)
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

# A function given to compile runs as its C++ class, named by the function's name.
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
}


# ----------------------------------------------------------------------------- registry

_ALL_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, AUC, Precision, Recall,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
)
_ALL_OBJECTS: Dict[str, type] = {cls.__name__: cls for cls in _ALL_CLASSES}
_ALL_OBJECTS.update({_to_snake_case(cls.__name__): cls for cls in _ALL_CLASSES})
_ALL_OBJECTS.update({
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    # ranvier extension (not a Keras alias): "rmse"
    "rmse": RootMeanSquaredError, "RMSE": RootMeanSquaredError,
})
# Abstract/base classes cannot be built from a bare string.
_NOT_FROM_STRING = {"Metric", "metric", "MeanMetricWrapper", "mean_metric_wrapper"}


def _valid_names() -> str:
    names = sorted(n for n in _ALL_OBJECTS if n not in _NOT_FROM_STRING)
    return ", ".join(names + ["accuracy", "acc"])


def serialize(metric) -> Dict[str, Any]:
    """{"class_name", "config"} of a Metric (functions serialize to their name)."""
    if isinstance(metric, Metric):
        return {"module": "ranvier.metrics", "class_name": type(metric).__name__,
                "config": metric.get_config()}
    if callable(metric) and hasattr(metric, "__name__"):
        return metric.__name__
    raise ValueError(f"Cannot serialize metric {metric!r}")


def deserialize(config, custom_objects=None):
    """Inverse of ``serialize``: a dict {"class_name", "config"} or a name."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(custom_objects.get(config, config))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret metric config: {config!r}")
    name = config["class_name"]
    cls = custom_objects.get(name) or _ALL_OBJECTS.get(name)
    if cls is None:
        raise ValueError(f"Unknown metric class_name '{name}'. Valid names: {_valid_names()}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A Metric (or metric function) from a name, a config dict, a class or an object.

    Names: class names ("BinaryAccuracy"), their snake_case ("binary_accuracy", "auc"),
    and the aliases mse/MSE, mae/MAE, mape/MAPE, msle/MSLE (plus rmse/RMSE, a ranvier
    extension). ``"accuracy"``/``"acc"`` depend on the data's shapes: see ``resolve``.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _ALL_OBJECTS.get(identifier)
        if obj is None or identifier in _NOT_FROM_STRING:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}. Valid names: {_valid_names()}")
    else:
        obj = identifier
    if callable(obj) or isinstance(obj, Metric):
        if inspect.isclass(obj):
            obj = obj()
        return obj
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


# ----------------------------------------------------------------------------- compile-time resolution

def _shape_tuple(shape) -> Tuple[int, ...]:
    return tuple(int(d) for d in (shape.shape if hasattr(shape, "shape") else shape))


def resolve_accuracy(name: str, y_true_shape, y_pred_shape) -> Metric:
    """Keras's rule for "accuracy"/"acc" (spec 6.1), from the shapes of y_true and y_pred:
    y_pred's last dim 1 -> BinaryAccuracy; rank(y_true) < rank(y_pred), or y_true's last dim
    1 with y_pred's > 1 -> SparseCategoricalAccuracy; else CategoricalAccuracy. The metric is
    named ``name`` (the string the user gave)."""
    yt = _shape_tuple(y_true_shape)
    yp = _shape_tuple(y_pred_shape)
    yt_last = yt[-1] if yt else 1
    yp_last = yp[-1] if yp else 1
    if yp_last == 1:
        return BinaryAccuracy(name=str(name))
    if len(yt) < len(yp) or (yt_last == 1 and yp_last > 1):
        return SparseCategoricalAccuracy(name=str(name))
    return CategoricalAccuracy(name=str(name))


def _object_name(obj) -> str:
    if isinstance(obj, Metric):
        return obj.name
    if hasattr(obj, "name") and isinstance(obj.name, str):
        return obj.name
    if hasattr(obj, "__name__"):
        return _to_snake_case(obj.__name__) if inspect.isclass(obj) else obj.__name__
    return _to_snake_case(type(obj).__name__)


def resolve(identifier, y_true_shape, y_pred_shape) -> Optional[Metric]:
    """One entry of compile's ``metrics`` -> a Metric object named as Keras names it.

    A string is the metric's name ("mse" logs as ``mse``); an object keeps its name
    (``MeanSquaredError()`` -> ``mean_squared_error``); a function becomes its metric
    class (or a MeanMetricWrapper for a user function) named after the function.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        obj = resolve_accuracy(identifier, y_true_shape, y_pred_shape)
    else:
        obj = get(identifier)
    name = identifier if isinstance(identifier, str) else _object_name(obj)
    if not isinstance(obj, Metric):
        cls = _FUNCTION_CLASSES.get(obj)
        obj = cls() if cls is not None else MeanMetricWrapper(obj)
    obj.name = name
    return obj


class ResolvedMetric(NamedTuple):
    key: str          # the log key ("accuracy", "mse_1", "weighted_accuracy"); val_ added by the model
    metric: Metric    # the object to update (its C++ twin: metric._core_metric)
    weighted: bool    # True for weighted_metrics: updated with sample/class weights


def _as_list(metrics, argument_name: str) -> list:
    if not metrics:
        return []
    if isinstance(metrics, dict):
        raise ValueError(
            f"Argument `{argument_name}` can only be provided as a dict when the model also "
            f"returns a dict of outputs. Received {argument_name}={metrics}")
    if not isinstance(metrics, (list, tuple)):
        raise ValueError(
            f"Expected `{argument_name}` argument to be a list, tuple, or dict. Received instead: "
            f"{argument_name}={metrics} of type {type(metrics)}")
    for m in metrics:
        if not (m is None or isinstance(m, (str, Metric)) or callable(m)):
            raise ValueError(
                f"Expected all entries in the `{argument_name}` list to be metric objects. "
                f"Received instead:\n{argument_name}={metrics}")
    return [m for m in metrics if m is not None]


def resolve_all(metrics, weighted_metrics, y_true_shape, y_pred_shape) -> List[ResolvedMetric]:
    """compile's ``metrics`` and ``weighted_metrics`` -> [(key, metric, weighted)], in
    compile order (unweighted first), with Keras's naming of duplicates: a repeated name
    gets ``_1``, ``_2``...; a weighted metric whose name is taken becomes ``weighted_<name>``
    (then ``weighted_<name>_1``...)."""
    # _as_list drops None entries, so every resolve() below returns a Metric
    plain = [r for r in (resolve(m, y_true_shape, y_pred_shape) for m in _as_list(metrics, "metrics"))
             if r is not None]
    weighted = [r for r in (resolve(m, y_true_shape, y_pred_shape)
                            for m in _as_list(weighted_metrics, "weighted_metrics")) if r is not None]
    out: List[ResolvedMetric] = []
    counters: Dict[str, int] = {}
    for m in plain:
        name = m.name
        if name not in counters:
            counters[name] = 1
        else:
            index = counters[name]
            counters[name] += 1
            name = f"{name}_{index}"
        out.append(ResolvedMetric(name, m, False))
    for m in weighted:
        name = m.name
        if name not in counters:
            counters[name] = 1
        else:
            name = f"weighted_{m.name}"
            if name not in counters:
                counters[name] = 1
            else:
                index = counters[name]
                counters[name] += 1
                name = f"{name}_{index}"
        out.append(ResolvedMetric(name, m, True))
    return out


def metric_direction(resolved: Sequence, name: str) -> Optional[str]:
    """For ``model._metric_direction(name)``: "max"/"min" for the compiled metric whose
    ``name`` is ``name`` (a ``val_`` prefix removed first; "loss" -> "min"), else None.
    ``resolved`` is the list from ``resolve_all`` (or plain Metric objects). As Keras,
    matches on ``metric.name`` and the last match wins."""
    if name.startswith("val_"):
        name = name[len("val_"):]
    direction = "min" if name == "loss" else None
    for entry in resolved:
        m = entry.metric if isinstance(entry, ResolvedMetric) else entry
        if getattr(m, "name", None) == name:
            d = getattr(m, "_direction", None)
            if d is not None:
                direction = "max" if d == "up" else "min"
    return direction
