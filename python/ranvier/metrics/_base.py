"""The metric base classes: input checks, ``Metric`` (the Python-side base, Keras's
Metric API) and ``_CoreMetric`` (a metric computed by one C++ ``_core.Metric``, its kind
a row of cpp/src/metrics/metrics.def)."""
from __future__ import annotations

import functools
import numbers
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _checks, _core, _tensor

__all__ = [
    "Metric",
]


_EPSILON = 1e-7   # Keras's backend.epsilon()
_MAX_AUC_THRESHOLDS = 2**24  # as the C++ core (kMaxAucThresholds)
_NEG_INF = -1e10  # Keras's metrics_utils.NEG_INF (threshold used with top_k)


# ----------------------------------------------------------------------------- naming

from .._naming import auto_name as _auto_name, reset as _reset_auto_names, to_snake_case as _to_snake_case  # noqa: E402,F401


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

    def __init_subclass__(cls, **kwargs):
        """A subclass's ``result`` is wrapped so that its value has the ``numpy()`` method of
        Keras's eager tensors: a scalar is a Python float (``EagerFloat``), an array a float32
        array, as Keras returns them."""
        super().__init_subclass__(**kwargs)
        result = cls.__dict__.get("result")
        if result is None or getattr(result, "_eager_result", False):
            return

        @functools.wraps(result)
        def wrapped(self):
            return _tensor.eager_result(result(self))

        wrapped._eager_result = True
        cls.result = wrapped

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
# Every public C++-backed metric class, in definition order (the lookups derive from it).
_CORE_CLASSES: List[type] = []


class _CoreMetric(Metric):
    """A metric computed by one C++ ``_core.Metric`` (kind + params)."""

    _kind: str = ""
    _sparse = False
    _same_shape = False  # confusion-matrix metrics: y_true and y_pred element by element
    # kinds that reduce each sample over its last axis (a sum, a dot, an argmax): Keras takes
    # a pair of 1-D arrays as ONE sample of k values, not k samples of one value
    _rowwise = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The direction comes from the C++ table of kinds (cpp/src/metrics/metrics.def).
        if cls.__dict__.get("_kind"):
            cls._direction = _DIRECTIONS[_core.metric_direction(cls._kind)]
        if not cls.__name__.startswith("_") and cls.__module__.startswith("ranvier.metrics"):
            _CORE_CLASSES.append(cls)

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
        if self._rowwise and np.ndim(y_true) == 1 and np.ndim(y_pred) == 1:
            y_true, y_pred = np.reshape(y_true, (1, -1)), np.reshape(y_pred, (1, -1))
            if sample_weight is not None and np.size(sample_weight) == 1:
                sample_weight = np.reshape(sample_weight, (1,))
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

