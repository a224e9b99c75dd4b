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
  shapes, as Keras 3's compile_utils); ``resolve_all(metrics, weighted_metrics, ...)`` does the whole
  list and gives each its log key (duplicates ``_1``, ``weighted_<name>``, as Keras 3).
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
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .. import _core, _registry
from ._base import *  # noqa: F401,F403  (its __all__)
from ._base import (  # noqa: F401
    _EPSILON,
    _MAX_AUC_THRESHOLDS,
    _NEG_INF,
    _auto_name,
    _reset_auto_names,
    _to_snake_case,
    _as_f32,
    _as_2d,
    _prepare,
    _MetricVariable,
    _initial_value,
    _DIRECTIONS,
    _CORE_CLASSES,
    _CoreMetric,
)
from ._classification import *  # noqa: F401,F403  (its __all__)
from ._classification import (  # noqa: F401
    _PrecisionRecall,
    _AUC_CURVES,
    _AUC_SUMMATION,
    _is_int,
    _parse_thresholds,
    _ConfusionCount,
    _OperatingPoint,
    _F_AVERAGES,
    _require_2d,
    _R2_AGGREGATIONS,
)
from ._samplewise import *  # noqa: F401,F403  (its __all__)
from ._samplewise import (  # noqa: F401
    _check_axis,
    _check_label_smoothing,
)
from ._reduction import *  # noqa: F401,F403  (its __all__)
from ._reduction import (  # noqa: F401
    _reduce_to_samplewise,
    _align,
    _in_top_k,
    _FUNCTION_CLASSES,
)


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



# ----------------------------------------------------------------------------- registry

# The one list of metric classes: the Python-side bases and every public class that names a
# C++ kind (a row of cpp/src/metrics/metrics.def; registered as it is defined). The string
# lookup (class name and its snake_case), deserialization and __all__ derive from it.
_ALL_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper) + tuple(_CORE_CLASSES)
# Every C++ kind (a row of metrics.def) has its class here.
_missing = set(_core.metric_kind_names()) - {getattr(c, "_kind", "") for c in _CORE_CLASSES}
assert not _missing, f"metric kinds without a class: {sorted(_missing)}"
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
__all__ += [cls.__name__ for cls in _CORE_CLASSES if cls.__name__ not in __all__]
for _cls in _ALL_CLASSES:
    _cls.__module__ = __name__  # public as ranvier.metrics.<name>
_ALL_OBJECTS: Dict[str, type] = {cls.__name__: cls for cls in _ALL_CLASSES}
_ALL_OBJECTS.update({_to_snake_case(cls.__name__): cls for cls in _ALL_CLASSES})
_ALL_OBJECTS.update(_KERAS_ALIASES)
_ALL_OBJECTS.update(_RANVIER_ALIASES)
# Abstract/base classes cannot be built from a bare string.
_NOT_FROM_STRING = {"Metric", "metric", "MeanMetricWrapper", "mean_metric_wrapper"}


def _valid_names() -> str:
    names = sorted(n for n in _ALL_OBJECTS if n not in _NOT_FROM_STRING)
    return ", ".join(names + ["accuracy", "acc"])


_FROM_STRING: Dict[str, type] = {n: c for n, c in _ALL_OBJECTS.items() if n not in _NOT_FROM_STRING}


def _serialize_duck(metric) -> Optional[Dict[str, Any]]:
    """Another library's metric object: its class and config (None for anything else)."""
    if not _is_duck_metric(metric):
        return None
    get_config = getattr(metric, "get_config", None)
    config = get_config() if callable(get_config) else {"name": getattr(metric, "name", None)}
    return {"module": type(metric).__module__, "class_name": type(metric).__name__, "config": config}


def serialize(metric):
    """``{"module", "class_name", "config", "registered_name"}`` of a Metric (Keras's layout);
    functions serialize to their name, another library's metric object to its class and
    config."""
    return _registry.serialize(metric, kind="metric", base=Metric, builtin=_ALL_CLASSES,
                               module="keras.metrics", other=_serialize_duck)


def deserialize(config, custom_objects=None):
    """Inverse of ``serialize``: a dict {"class_name", "config"} or a name (looked up in
    ``custom_objects`` first)."""
    return _registry.deserialize(
        config, custom_objects, kind="metric", registry=_ALL_OBJECTS, valid_names=_valid_names, get=get,
        unknown="Unknown {kind} class_name '{name}': a metric class of your own must be passed in "
                "custom_objects={{'{name}': {name}}}. Built-in names: {valid}")


def get(identifier):
    """A Metric (or metric function) from a name, a config dict, a class or an object.

    Names: class names ("BinaryAccuracy"), their snake_case ("binary_accuracy", "auc",
    "kl_divergence", "log_cosh_error", "f1_score", "r2_score", ...), and Keras's aliases
    bce/BCE, mse/MSE, mae/MAE, mape/MAPE, msle/MSLE; ranvier extensions: rmse/RMSE and
    tf.keras 2's kld/KLD, kullback_leibler_divergence, logcosh, log_cosh.
    ``"accuracy"``/``"acc"`` depend on the data's shapes: see ``resolve``. A class is built
    with no argument (any class, as Keras's ``metrics.get``).
    """
    return _registry.get(identifier, kind="metric", base=Metric, registry=_FROM_STRING,
                         valid_names=_valid_names, deserialize=deserialize, classes="any")


# ----------------------------------------------------------------------------- compile-time resolution

def _shape_tuple(shape) -> Tuple[int, ...]:
    return tuple(int(d) for d in (shape.shape if hasattr(shape, "shape") else shape))


def resolve_accuracy(name: str, y_true_shape, y_pred_shape) -> Metric:
    """Keras's rule for "accuracy"/"acc" (keras/src/trainers/compile_utils.py), from the shapes of y_true and y_pred:
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
    if hasattr(obj, "__name__"):  # Keras snake-cases function names too ("<lambda>" -> "lambda")
        return _to_snake_case(obj.__name__)
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
        return float(value)  # a plain float, not the EagerFloat a result() returns
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

