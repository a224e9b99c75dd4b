"""Metrics with Keras 3's names, defaults and semantics.

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
- ``trainer_metric(metric)`` is what the C++ epoch updates: that C++ object, or for a
  Python metric (a user's ``fn(y_true, y_pred)`` in a MeanMetricWrapper, a ``Metric``
  subclass) a bridge through which the epoch calls ``update_state``/``reset_state`` once
  per batch (the documented slower path; see ``Metric``).
- The C++ kinds are one table (cpp/src/metrics/metrics.def:
  names and directions); each class here names its kind, and the string lookup derives
  from the one class list ``_ALL_CLASSES`` plus the alias tables.
- ``metric.direction`` is ``"up"``, ``"down"`` or None (callbacks' ``mode="auto"``).
"""
from __future__ import annotations

import inspect
import numbers
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _checks, _core
from . import losses as _losses

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "AUC", "Precision", "Recall",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "LogCoshError", "CosineSimilarity", "R2Score", "F1Score", "FBetaScore",
    "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "log_cosh", "huber",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_focal_crossentropy", "trainer_metric", "log_value",
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

from ._naming import auto_name as _auto_name, reset as _reset_auto_names, to_snake_case as _to_snake_case  # noqa: E402,F401


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

class _MetricVariable(np.lib.mixins.NDArrayOperatorsMixin):
    """A metric's state variable (``Metric.add_variable``): a NumPy array with Keras's
    ``assign``/``assign_add``/``assign_sub``, usable in NumPy arithmetic and ``float()``."""

    def __init__(self, value: np.ndarray, name: Optional[str]):
        self._value = value
        self._initial = value.copy()
        self.name = name

    @property
    def value(self) -> np.ndarray:
        """The current value (a NumPy array)."""
        return self._value

    @property
    def shape(self) -> Tuple[int, ...]:
        """The variable's shape."""
        return self._value.shape

    @property
    def dtype(self) -> str:
        """The variable's dtype name."""
        return str(self._value.dtype)

    def numpy(self) -> np.ndarray:
        """A copy of the current value."""
        return self._value.copy()

    def assign(self, value) -> "_MetricVariable":
        """Sets the value (broadcast to the variable's shape)."""
        self._value = np.array(np.broadcast_to(np.asarray(value, dtype=self._value.dtype), self._value.shape))
        return self

    def assign_add(self, value) -> "_MetricVariable":
        """Adds ``value`` in place."""
        return self.assign(self._value + np.asarray(value))

    def assign_sub(self, value) -> "_MetricVariable":
        """Subtracts ``value`` in place."""
        return self.assign(self._value - np.asarray(value))

    def _reset(self) -> None:
        self._value = self._initial.copy()

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [x._value if isinstance(x, _MetricVariable) else x for x in inputs]
        return getattr(ufunc, method)(*args, **kwargs)

    def __float__(self) -> float:
        return float(self._value)

    def __getitem__(self, index):
        return self._value[index]

    def __repr__(self) -> str:
        return f"<MetricVariable name={self.name} value={self._value!r}>"


def _initial_value(initializer, shape, dtype) -> np.ndarray:
    shape = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else ((shape,) if shape else ())))
    if callable(initializer) and not isinstance(initializer, str):
        return np.array(initializer(shape, dtype=dtype), dtype=dtype).reshape(shape)
    name = str(initializer).lower()
    if name in ("zeros", "zero"):
        return np.zeros(shape, dtype=dtype)
    if name in ("ones", "one"):
        return np.ones(shape, dtype=dtype)
    raise ValueError(f"add_variable: initializer must be 'zeros', 'ones' or a callable(shape, dtype), "
                     f"got {initializer!r}")


class Metric:
    """Base class of all metrics (Keras's ``keras.metrics.Metric``).

    Subclasses implement ``update_state``, ``result`` and (optionally) ``reset_state``;
    state created with ``add_variable``/``add_weight`` is reset to its initial value by
    the default ``reset_state``. ``direction`` ("up", "down" or None) tells callbacks in
    ``mode="auto"`` which way is better.

    A subclass of this class (or a plain ``fn(y_true, y_pred)``) given to ``compile``
    runs on the Python path: the C++ epoch calls its ``update_state(y_true, y_pred,
    sample_weight)`` once per batch with NumPy float32 arrays (y_true of shape
    (batch, label columns), y_pred (batch, outputs), sample_weight (batch,) or None) and
    ``reset_state()`` where Keras resets metrics. It is slower than the built-in metrics
    (which run in C++ without leaving the epoch); it must not call the model itself.
    """

    _direction: Optional[str] = None

    def __init__(self, dtype=None, name=None):
        self.name = name or _auto_name(type(self).__name__)
        self._dtype = "float32" if dtype is None else str(np.dtype(dtype))
        if not hasattr(self, "_variables"):  # add_variable may run before this __init__
            self._variables: List[_MetricVariable] = []

    @property
    def dtype(self) -> str:
        """The metric's dtype name (``"float32"`` unless given)."""
        return getattr(self, "_dtype", "float32")  # a subclass may skip Metric.__init__

    @property
    def direction(self) -> Optional[str]:
        """"up" when larger is better, "down" when smaller is better, None if unknown."""
        return self._direction

    @property
    def variables(self) -> list:
        """The state variables created with ``add_variable`` (the built-in metrics keep
        their running state in C++: empty for them)."""
        return list(getattr(self, "_variables", []))

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state variable (Keras's ``Metric.add_variable``): a NumPy-backed array with
        ``assign``, ``assign_add`` and ``assign_sub``, reset by ``reset_state()``.
        ``initializer``: "zeros", "ones" or a callable ``(shape, dtype)``."""
        if aggregation not in ("sum", "mean", "none", "only_first_replica", None):
            raise ValueError(f"add_variable: aggregation must be 'sum', 'mean', 'none' or "
                             f"'only_first_replica', got {aggregation!r}")
        var = _MetricVariable(_initial_value(initializer, shape, np.dtype(dtype or self.dtype)), name)
        if not hasattr(self, "_variables"):
            self._variables = []
        self._variables.append(var)
        return var

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """Alias of ``add_variable`` (Keras keeps both)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype,
                                 aggregation=aggregation, name=name)

    def update_state(self, *args, **kwargs):
        """Accumulates one batch, usually ``update_state(y_true, y_pred, sample_weight=None)``."""
        raise NotImplementedError

    def result(self):
        """The metric's value over everything accumulated since the last reset."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Clears the accumulated state (the model does so at the start of every epoch);
        by default, every ``add_variable`` variable goes back to its initial value."""
        for v in getattr(self, "_variables", []):
            v._reset()

    def core_spec(self) -> Optional[Tuple[str, Dict[str, Any]]]:
        """(kind_name, params) of the C++ metric computing this one; None if Python-only."""
        return None

    def _trainer_metric(self):
        """The ``_core.Metric`` the C++ epoch updates: for a Python metric, a bridge that
        calls ``update_state``/``reset_state`` once per batch (the slower path). A new one
        each call, held by the trainer only: were the metric to hold it too, the reference
        cycle through the C++ object would never be collected."""
        return _core.python_metric(self._bridge_update, self.reset_state)

    def _bridge_update(self, y_true, y_pred, sample_weight) -> None:
        if sample_weight is None:
            self.update_state(y_true, y_pred)
        else:
            self.update_state(y_true, y_pred, sample_weight=sample_weight)

    def _state(self) -> List[float]:
        """The running state to merge across processes (Python metrics: none)."""
        return []

    def _set_state(self, state: Sequence[float]) -> None:
        if len(state):
            raise ValueError(f"{type(self).__name__}: a Python metric has no mergeable state")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (``name``, ``dtype`` and the metric's own)."""
        return {"name": getattr(self, "name", None) or _to_snake_case(type(self).__name__), "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        """Creates the metric from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


_DIRECTIONS = {1: "up", -1: "down", 0: None}


class _CoreMetric(Metric):
    """A metric computed by one C++ ``_core.Metric`` (kind + params)."""

    _kind: str = ""
    _sparse = False
    _same_shape = False  # confusion-matrix metrics: y_true and y_pred element by element

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The direction comes from the C++ table of kinds (cpp/src/metrics/metrics.def).
        if cls.__dict__.get("_kind"):
            cls._direction = _DIRECTIONS[_core.metric_direction(cls._kind)]

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

    def _trainer_metric(self):
        return self._core_metric

    def _vector_result(self) -> bool:
        """True when ``result()`` is an array (one value per threshold / class / column)."""
        return False

    def _flattens_elements(self) -> bool:
        """True for the kinds that count every element on its own (confusion counts,
        precision/recall without top_k/class_id, AUC over one curve, *At without class_id):
        those accept a weight per element, as Keras does."""
        return False

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if (sample_weight is not None and np.ndim(sample_weight) == 2 and np.shape(sample_weight)[1] > 1
                and self._flattens_elements()):
            # one weight per element: every element becomes a row of its own
            yp = _as_2d(_as_f32(y_pred, "y_pred"), "y_pred", type(self).__name__)
            yt = _as_2d(_as_f32(y_true, "y_true"), "y_true", type(self).__name__)
            w = _as_f32(sample_weight, "sample_weight")
            if self._same_shape and yt.shape[1] != yp.shape[1]:
                raise ValueError(
                    f"{type(self).__name__}: y_true and y_pred must have the same shape, got "
                    f"y_true.shape={np.shape(y_true)}, y_pred.shape={np.shape(y_pred)}")
            try:
                yt = np.broadcast_to(yt, yp.shape)
                w = np.broadcast_to(w, yp.shape)
            except ValueError:
                raise ValueError(
                    f"{type(self).__name__}: y_true.shape={np.shape(y_true)} and sample_weight.shape="
                    f"{np.shape(sample_weight)} must broadcast to y_pred.shape={np.shape(y_pred)}") from None
            y_true, y_pred, sample_weight = yt.reshape(-1, 1), yp.reshape(-1, 1), w.reshape(-1)
        yt, yp, sw = _prepare(type(self).__name__, y_true, y_pred, sample_weight, self._sparse,
                              self._same_shape)
        self._core_metric.update(yt, yp, sw)

    def result(self):
        if self._vector_result():
            return np.asarray(self._core_metric.result_values(), dtype=np.float64)
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

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class BinaryAccuracy(_CoreMetric):
    """How often ``(y_pred > threshold)`` equals the binary label (strictly greater)."""
    _kind = "binary_accuracy"

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

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SparseCategoricalAccuracy(_CoreMetric):
    """How often argmax(y_pred) equals the integer label."""
    _kind = "sparse_categorical_accuracy"
    _sparse = True

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class TopKCategoricalAccuracy(_CoreMetric):
    """How often argmax(y_true) is among the k largest predictions."""
    _kind = "top_k_categorical_accuracy"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = _checks.check_int(k, "k", "TopKCategoricalAccuracy", -_checks.INT32_MAX - 1, _checks.INT32_MAX)
        super().__init__(name=name, dtype=dtype, k=self.k)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(_CoreMetric):
    """How often the integer label is among the k largest predictions."""
    _kind = "sparse_top_k_categorical_accuracy"
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

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsoluteError(_CoreMetric):
    """Running mean of ``mean(|y_true - y_pred|, axis=-1)``."""
    _kind = "mean_absolute_error"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsolutePercentageError(_CoreMetric):
    """Running mean of ``100 * mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1)``."""
    _kind = "mean_absolute_percentage_error"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_CoreMetric):
    """Running mean of mean((log(max(p,1e-7)+1) - log(max(y,1e-7)+1))**2, axis=-1)."""
    _kind = "mean_squared_logarithmic_error"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class RootMeanSquaredError(_CoreMetric):
    """sqrt of the running (weighted) mean of squared errors."""
    _kind = "root_mean_squared_error"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


# ----------------------------------------------------------------------------- confusion metrics

class _PrecisionRecall(_CoreMetric):
    _same_shape = True

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        cls = type(self).__name__
        self.init_thresholds = thresholds
        values = _parse_thresholds(thresholds, 0.5 if top_k is None else _NEG_INF)
        if top_k is not None and int(top_k) < 1:
            raise ValueError(f"{cls}: top_k must be a positive integer, got top_k={top_k}")
        if class_id is not None and int(class_id) < 0:
            raise ValueError(f"{cls}: class_id must be >= 0, got class_id={class_id}")
        _checks.check_optional_int(top_k, "top_k", cls, 1, _checks.INT32_MAX)
        _checks.check_optional_int(class_id, "class_id", cls, 0, _checks.INT32_MAX)
        self.top_k = top_k
        self.class_id = class_id
        # A list, as Keras's; one threshold gives a float result, several an array.
        self.thresholds = values
        params: Dict[str, Any] = {"threshold": values[0]} if len(values) == 1 else {"thresholds": values}
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

    def _vector_result(self) -> bool:
        return len(self.thresholds) > 1

    def _flattens_elements(self) -> bool:
        return self.top_k is None and self.class_id is None

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
    Goadrich's interpolation for PR. Multi-column data is flattened (multi_label=False,
    ``label_weights`` weighting each column's elements); with ``multi_label=True`` each
    column is its own curve and the result is their mean (or ``label_weights``-weighted
    mean).
    """
    _kind = "auc"
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
        if num_labels is not None and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        if num_labels is not None and (not _is_int(num_labels) or num_labels < 1):
            raise ValueError(f"AUC: num_labels must be a positive int, got num_labels={num_labels!r}")
        lw = None
        if label_weights is not None:
            lw = np.asarray(label_weights, dtype=np.float64).reshape(-1)
            if lw.size == 0 or not np.all(np.isfinite(lw)) or np.any(lw < 0):
                raise ValueError(f"All values of `label_weights` must be non-negative. Received: {label_weights!r}")
            if num_labels is not None and lw.size != num_labels:
                raise ValueError(f"AUC: label_weights has {lw.size} values but num_labels={num_labels}")
        self._init_from_thresholds = thresholds is not None
        self._uneven = False
        if thresholds is not None:
            ts = sorted(float(t) for t in thresholds)
            full = np.array([0.0] + ts + [1.0])
            even = np.arange(len(full), dtype=np.float32) / (len(full) - 1)
            # Keras's is_evenly_distributed_thresholds: then the bucketed path, else each
            # prediction is compared with every (sorted) threshold.
            self._uneven = len(full) < 3 or not np.allclose(full, even, atol=_EPSILON)
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
        self.multi_label = bool(multi_label)
        self.num_labels = None if num_labels is None else int(num_labels)
        self.label_weights = lw
        self._from_logits = bool(from_logits)
        params: Dict[str, Any] = {"multi_label": True} if self.multi_label else {}
        if self.num_labels is not None:
            params["num_labels"] = self.num_labels
        if lw is not None:
            params["label_weights"] = [float(v) for v in lw]
        if self._uneven:
            params["thresholds"] = [float(np.float32(t)) for t in self.thresholds]
        super().__init__(name=name, dtype=dtype, num_thresholds=self.num_thresholds,
                         curve=_AUC_CURVES[curve], summation_method=_AUC_SUMMATION[summation_method],
                         from_logits=self._from_logits, **params)

    def _flattens_elements(self) -> bool:
        return not self.multi_label and self.label_weights is None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.multi_label and np.ndim(y_pred) != 2:
            raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. "
                             f"Found rank {np.ndim(y_pred)}. Full shape received for `y_pred`: {np.shape(y_pred)}")
        super().update_state(y_true, y_pred, sample_weight)

    @property
    def thresholds(self) -> List[float]:
        """The ``num_thresholds`` bucket edges, ``[-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1 + 1e-7]``
        (or the given thresholds, sorted, between the same ends)."""
        if getattr(self, "_init_from_thresholds", False):
            return [0.0 - _EPSILON] + list(self._given_thresholds) + [1.0 + _EPSILON]
        inner = [(i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        return [0.0 - _EPSILON] + inner + [1.0 + _EPSILON]

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# ----------------------------------------------------------------------------- confusion counts

def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _parse_thresholds(thresholds, default: float) -> List[float]:
    """Keras's parse_init_thresholds: None -> [default]; a float or a list, each in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(np.asarray(thresholds, dtype=np.float64).reshape(-1)) \
        if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    try:
        values = [float(t) for t in values]
    except (TypeError, ValueError):
        raise ValueError(f"Threshold values must be numbers in [0, 1]. Received: {thresholds!r}") from None
    if not values or any(not (0.0 <= t <= 1.0) for t in values):
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds!r}")
    return values


class _ConfusionCount(_CoreMetric):
    """A weighted count of one confusion-matrix cell at each threshold (prediction >
    threshold is positive; a label != 0 is positive); every element counts (flattened),
    weighted by its row's ``sample_weight``. The result is a float for one threshold,
    else an array with one count per threshold."""

    _same_shape = True  # element by element, as Keras (no broadcasting of y_true)

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        super().__init__(name=name, dtype=dtype, thresholds=list(self.thresholds))

    def _vector_result(self) -> bool:
        return len(self.thresholds) > 1

    def _flattens_elements(self) -> bool:
        return True

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """Weighted count of positive labels predicted positive (``y_pred > thresholds``)."""
    _kind = "true_positives"


class FalsePositives(_ConfusionCount):
    """Weighted count of negative labels predicted positive (``y_pred > thresholds``)."""
    _kind = "false_positives"


class TrueNegatives(_ConfusionCount):
    """Weighted count of negative labels predicted negative (``y_pred <= thresholds``)."""
    _kind = "true_negatives"


class FalseNegatives(_ConfusionCount):
    """Weighted count of positive labels predicted negative (``y_pred <= thresholds``)."""
    _kind = "false_negatives"


# ----------------------------------------------------------------------------- operating points

class _OperatingPoint(_CoreMetric):
    """Keras's SensitivitySpecificityBase: confusion counts at ``num_thresholds`` evenly
    spaced thresholds ``[0, 1/(n-1), ..., 1]`` (``[0.5]`` when n = 1); the result is the
    largest dependent rate among the thresholds whose constrained rate is >= the target,
    0.0 if none. ``class_id`` uses column ``class_id`` only (y_pred must be 2-D)."""

    _target_name = ""
    _same_shape = True  # element by element, as Keras (no broadcasting of y_true)

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        cls = type(self).__name__
        try:
            bad = not (0.0 <= float(value) <= 1.0)
        except (TypeError, ValueError):
            bad = True
        if bad:
            raise ValueError(f"Argument `{self._target_name}` must be in the range [0, 1]. "
                             f"Received: {self._target_name}={value!r}")
        if not _is_int(num_thresholds) or num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds!r}")
        if num_thresholds > 2**24:
            raise ValueError(f"{cls}: num_thresholds={num_thresholds} is above ranvier's limit 2**24 (the "
                             f"buckets take 16 bytes per threshold)")
        if class_id is not None and (not _is_int(class_id) or class_id < 0):
            raise ValueError(f"{cls}: class_id must be a non-negative int, got class_id={class_id!r}")
        self.value = value
        setattr(self, self._target_name, value)
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        if self.num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = [0.0] + [(i + 1) * 1.0 / (self.num_thresholds - 1)
                                       for i in range(self.num_thresholds - 2)] + [1.0]
        params: Dict[str, Any] = {"value": float(value), "num_thresholds": self.num_thresholds}
        if class_id is not None:
            params["class_id"] = int(class_id)
        super().__init__(name=name, dtype=dtype, **params)

    def _flattens_elements(self) -> bool:
        return self.class_id is None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.class_id is not None and np.ndim(y_pred) != 2:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {np.shape(y_pred)}")
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._target_name: self.value}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SensitivityAtSpecificity(_OperatingPoint):
    """Best sensitivity (recall, tp/(tp+fn)) where specificity (tn/(tn+fp)) >= ``specificity``."""
    _kind = "sensitivity_at_specificity"
    _target_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_OperatingPoint):
    """Best specificity (tn/(tn+fp)) where sensitivity (tp/(tp+fn)) >= ``sensitivity``."""
    _kind = "specificity_at_sensitivity"
    _target_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_OperatingPoint):
    """Best precision (tp/(tp+fp)) where recall (tp/(tp+fn)) >= ``recall``."""
    _kind = "precision_at_recall"
    _target_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_OperatingPoint):
    """Best recall (tp/(tp+fn)) where precision (tp/(tp+fp)) >= ``precision``."""
    _kind = "recall_at_precision"
    _target_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


# ----------------------------------------------------------------------------- scores

_F_AVERAGES = {None: 0, "micro": 1, "macro": 2, "weighted": 3}


def _require_2d(cls: str, y_true, y_pred) -> None:
    if np.ndim(y_pred) != 2 or np.ndim(y_true) != 2:
        raise ValueError(
            f"{cls} expects 2D inputs with shape (batch_size, output_dim). Received input "
            f"shapes: y_pred.shape={np.shape(y_pred)} and y_true.shape={np.shape(y_true)}.")


class FBetaScore(_CoreMetric):
    """F-beta score per class: ``(1 + beta^2) * P * R / (beta^2 * P + R)`` from weighted
    counts (P = tp/(tp+fp+eps), R = tp/(tp+fn+eps)); predictions binarized at
    ``y_pred > threshold``, or, with ``threshold=None``, 1 at each row's maximum.
    ``average``: None (an array, one score per class), "micro" (global counts), "macro"
    (mean of the classes' scores) or "weighted" (by each class's support). 2-D inputs."""
    _kind = "fbeta_score"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in _F_AVERAGES:
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype, average=_F_AVERAGES[average], beta=float(beta),
                         threshold=-1.0 if threshold is None else float(threshold))

    def _vector_result(self) -> bool:
        return self.average is None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        _require_2d(type(self).__name__, y_true, y_pred)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score (FBetaScore with beta=1.0): the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


_R2_AGGREGATIONS = {None: 0, "uniform_average": 1, "variance_weighted_average": 2}


class R2Score(_CoreMetric):
    """Coefficient of determination per output column, ``1 - SS_res / SS_tot`` (weighted),
    aggregated by ``class_aggregation``: "uniform_average" (mean), "variance_weighted_average"
    (weighted by SS_tot) or None (an array, one per column). ``num_regressors`` > 0 gives
    the adjusted R2 with n = the number of y_true elements (Keras 3.15), falling back to
    plain R2 with a warning when num_regressors >= n - 1. 2-D inputs."""
    _kind = "r2_score"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in _R2_AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{tuple(_R2_AGGREGATIONS)}. Received: class_aggregation={class_aggregation}")
        if not _is_int(num_regressors) or num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        super().__init__(name=name, dtype=dtype, class_aggregation=_R2_AGGREGATIONS[class_aggregation],
                         num_regressors=self.num_regressors)

    def _vector_result(self) -> bool:
        return self.class_aggregation is None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = np.asarray(y_true), np.asarray(y_pred)
        if yt.ndim == yp.ndim - 1 and yp.ndim >= 1 and yp.shape[-1] == 1:  # squeeze_or_expand
            yt = yt[..., None]
        elif yp.ndim == yt.ndim - 1 and yt.ndim >= 1 and yt.shape[-1] == 1:
            yp = yp[..., None]
        _require_2d("R2Score", yt, yp)
        super().update_state(yt, yp, sample_weight)

    def result(self):
        if self.num_regressors:
            n = self._state()[0] if self._state() else 0.0
            if self.num_regressors > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                              "Falling back to standard R2 score.", stacklevel=2)
            elif self.num_regressors == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
        return super().result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ----------------------------------------------------------------------------- mean of a loss

def _check_axis(cls: str, axis) -> int:
    if axis not in (-1, 1):
        raise ValueError(f"{cls}: ranvier computes over the last axis of (samples, values) data: "
                         f"axis must be -1 (or 1), got axis={axis!r}")
    return -1


def _check_label_smoothing(cls: str, label_smoothing) -> float:
    try:
        ls = float(label_smoothing)
    except (TypeError, ValueError):
        ls = float("nan")
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"{cls}: label_smoothing must be a float in [0, 1], got {label_smoothing!r}")
    return ls


class BinaryCrossentropy(_CoreMetric):
    """Running mean of ``binary_crossentropy`` (per sample: the mean over the row of the
    elementwise cross-entropy; predictions clipped to [1e-7, 1 - 1e-7], or logits)."""
    _kind = "binary_crossentropy"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        self.from_logits = bool(from_logits)
        self.label_smoothing = label_smoothing
        super().__init__(name=name, dtype=dtype, from_logits=self.from_logits,
                         label_smoothing=_check_label_smoothing("BinaryCrossentropy", label_smoothing))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_CoreMetric):
    """Running mean of ``categorical_crossentropy`` over one-hot (or probability) labels:
    ``-sum(y * log(q))`` with q = p / sum(p) clipped, or ``log_softmax`` of logits."""
    _kind = "categorical_crossentropy"

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        self.from_logits = bool(from_logits)
        self.label_smoothing = label_smoothing
        self.axis = axis
        _check_axis("CategoricalCrossentropy", axis)
        super().__init__(name=name, dtype=dtype, from_logits=self.from_logits,
                         label_smoothing=_check_label_smoothing("CategoricalCrossentropy", label_smoothing))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(_CoreMetric):
    """Running mean of ``sparse_categorical_crossentropy`` over integer labels (shape (n,)
    or (n, 1)). Rows whose label equals ``ignore_class`` have loss 0 and, as in Keras 3.15,
    are left out of the mean when there are sample weights (unweighted, they count as 0)."""
    _kind = "sparse_categorical_crossentropy"
    _sparse = True

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        if ignore_class is not None and not _is_int(ignore_class):
            raise ValueError(f"SparseCategoricalCrossentropy: ignore_class must be an int or None, "
                             f"got {ignore_class!r}")
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class
        self.axis = axis
        _check_axis("SparseCategoricalCrossentropy", axis)
        params: Dict[str, Any] = {"from_logits": self.from_logits}
        if ignore_class is not None:
            params.update(has_ignore_class=True, ignore_class=int(ignore_class))
        super().__init__(name=name, dtype=dtype, **params)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class KLDivergence(_CoreMetric):
    """Running mean of ``sum(y * log(y / p))`` per sample (y, p clipped to [1e-7, 1])."""
    _kind = "kl_divergence"

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name=name, dtype=dtype)


class Poisson(_CoreMetric):
    """Running mean of ``mean(p - y * log(p + 1e-7))`` per sample."""
    _kind = "poisson"

    def __init__(self, name="poisson", dtype=None):
        super().__init__(name=name, dtype=dtype)


class Hinge(_CoreMetric):
    """Running mean of ``mean(max(1 - y * p, 0))``; 0/1 labels become -1/+1 when every
    label of the batch is 0 or 1."""
    _kind = "hinge"

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SquaredHinge(_CoreMetric):
    """Running mean of ``mean(max(1 - y * p, 0) ** 2)`` (labels mapped as in Hinge)."""
    _kind = "squared_hinge"

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class CategoricalHinge(_CoreMetric):
    """Running mean of ``max(max((1 - y) * p) - sum(y * p) + 1, 0)`` per sample."""
    _kind = "categorical_hinge"

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class LogCoshError(_CoreMetric):
    """Running mean of ``mean(log(cosh(p - y)))`` per sample (computed stably). Named
    "logcosh" as in Keras."""
    _kind = "log_cosh_error"

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name=name, dtype=dtype)


class CosineSimilarity(_CoreMetric):
    """Running mean of the cosine similarity of each sample's y_true and y_pred rows
    (+cos: 1 when they point the same way; the loss of the same name is -cos)."""
    _kind = "cosine_similarity"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        self.axis = axis
        _check_axis("CosineSimilarity", axis)
        super().__init__(name=name, dtype=dtype)


# ----------------------------------------------------------------------------- Python-side means

def _reduce_to_samplewise(values, sample_weight, reduce_fn, what: str):
    """Keras's reduce_to_samplewise_values, in float64: the weights are brought to the
    values' rank (squeeze/expand a trailing 1), the values reduced over the axes the
    weights lack, multiplied by the (broadcast) weights, then reduced to one value per
    sample; the weights likewise. Returns (values, weights or None)."""
    v = np.asarray(values, dtype=np.float64)
    if sample_weight is None:
        if v.ndim > 1:
            v = reduce_fn(v, axis=tuple(range(1, v.ndim)))
        return v, None
    w = np.asarray(sample_weight, dtype=np.float64)
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


# ----------------------------------------------------------------------------- registry

# The one list of metric classes: the string lookup (class name and its snake_case) and
# deserialization derive from it, and each C++ class names its kind (cpp/src/metrics/metrics.def).
_ALL_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper,
    # regression
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score,
    # classification
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
    # hinge
    Hinge, SquaredHinge, CategoricalHinge,
    # probabilistic
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    # accuracy
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    # F-scores
    F1Score, FBetaScore,
)
# Keras 3's aliases.
_KERAS_ALIASES: Dict[str, type] = {
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
}
# ranvier extensions (not Keras 3 names; Keras 3 raises "Could not interpret metric
# identifier" for them): rmse, and the names tf.keras 2 accepted, so that older scripts run.
_RANVIER_ALIASES: Dict[str, type] = {
    "rmse": RootMeanSquaredError, "RMSE": RootMeanSquaredError,
    "kld": KLDivergence, "KLD": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "logcosh": LogCoshError, "log_cosh": LogCoshError,
}
_ALL_OBJECTS: Dict[str, type] = {cls.__name__: cls for cls in _ALL_CLASSES}
_ALL_OBJECTS.update({_to_snake_case(cls.__name__): cls for cls in _ALL_CLASSES})
_ALL_OBJECTS.update(_KERAS_ALIASES)
_ALL_OBJECTS.update(_RANVIER_ALIASES)
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
    if _is_duck_metric(metric):  # another library's metric object: its class and config
        get_config = getattr(metric, "get_config", None)
        config = get_config() if callable(get_config) else {"name": getattr(metric, "name", None)}
        return {"module": type(metric).__module__, "class_name": type(metric).__name__, "config": config}
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
        raise ValueError(f"Unknown metric class_name '{name}': a metric class of your own must be passed "
                         f"in custom_objects={{'{name}': {name}}}. Built-in names: {_valid_names()}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A Metric (or metric function) from a name, a config dict, a class or an object.

    Names: class names ("BinaryAccuracy"), their snake_case ("binary_accuracy", "auc",
    "kl_divergence", "log_cosh_error", "f1_score", "r2_score", ...), and Keras's aliases
    bce/BCE, mse/MSE, mae/MAE, mape/MAPE, msle/MSLE; ranvier extensions: rmse/RMSE and
    tf.keras 2's kld/KLD, kullback_leibler_divergence, logcosh, log_cosh.
    ``"accuracy"``/``"acc"`` depend on the data's shapes: see ``resolve``.
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
    if isinstance(getattr(obj, "name", None), str) and obj.name:
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
    if _is_duck_metric(identifier):
        return _DuckMetric(identifier)
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        obj = resolve_accuracy(identifier, y_true_shape, y_pred_shape)
    else:
        obj = get(identifier)
    name = identifier if isinstance(identifier, str) else _object_name(obj)
    if not isinstance(obj, Metric):
        try:
            cls = _FUNCTION_CLASSES.get(obj)
        except TypeError:  # an unhashable callable
            cls = None
        obj = cls() if cls is not None else MeanMetricWrapper(obj)
    obj.name = name
    return obj


def _is_duck_metric(obj) -> bool:
    """A metric object of another library (e.g. a ``keras.metrics.Metric`` instance): not one
    of ours, not a class, with ``update_state``, ``result`` and ``reset_state`` methods."""
    return (not isinstance(obj, Metric) and not inspect.isclass(obj)
            and all(callable(getattr(obj, a, None)) for a in ("update_state", "result", "reset_state")))


class _DuckMetric(Metric):
    """Runs another library's metric object (duck-typed: ``update_state``, ``result``,
    ``reset_state``) on the Python path; named by its ``name`` attribute."""

    def __init__(self, metric):
        name = getattr(metric, "name", None)
        super().__init__(name=name if isinstance(name, str) and name else _object_name(metric))
        self._metric = metric
        direction = getattr(metric, "_direction", None)
        self._direction = direction if direction in ("up", "down") else None

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Calls the wrapped metric's ``update_state``."""
        if sample_weight is None:
            self._metric.update_state(y_true, y_pred)
        else:
            self._metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self):
        """The wrapped metric's result as NumPy (tensors are converted)."""
        value = self._metric.result()
        if hasattr(value, "numpy"):
            value = value.numpy()
        return value

    def reset_state(self) -> None:
        """Calls the wrapped metric's ``reset_state``."""
        self._metric.reset_state()


def trainer_metric(metric: Metric):
    """The ``_core.Metric`` the C++ epoch updates for ``metric``: the built-in metric's own
    C++ object, or for a Python metric (a user function's MeanMetricWrapper, a Metric
    subclass, Mean/Sum) a bridge that calls its ``update_state``/``reset_state`` per batch."""
    return metric._trainer_metric()


def log_value(value):
    """A metric result as the logs hold it: a Python float for a scalar (or a one-element
    array), else a float64 NumPy array (confusion counts at several thresholds, per-class
    F-scores, per-column R2), as Keras's History keeps arrays."""
    if isinstance(value, float):
        return value
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return float(arr)
    return arr


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
        if not (m is None or isinstance(m, (str, Metric)) or callable(m) or _is_duck_metric(m)):
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
