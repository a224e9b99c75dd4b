"""Built-in metrics computed in C++: accuracies, errors, precision/recall, AUC,
confusion counts, the *At operating points, F-scores and R2Score."""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Dict, List

import numpy as np

from .. import _checks
from ._base import (  # noqa: F401
    _EPSILON, _MAX_AUC_THRESHOLDS, _NEG_INF, _CoreMetric,
)

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "RootMeanSquaredError",
    "Precision",
    "Recall",
    "AUC",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "FBetaScore",
    "F1Score",
    "R2Score",
]


class Accuracy(_CoreMetric):
    """How often predictions equal labels exactly (mean over the last axis)."""
    _kind = "accuracy"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class BinaryAccuracy(_CoreMetric):
    """How often ``(y_pred > threshold)`` equals the binary label (strictly greater). Any
    finite ``threshold`` (Keras 3): 0.5 for probabilities, 0.0 for logits."""
    _kind = "binary_accuracy"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        # Keras 3 takes any number: 0.0 is the threshold of a model that outputs logits
        # (the TensorFlow text-classification tutorial's BinaryAccuracy(threshold=0.0))
        if threshold is not None:
            _checks.check_float32(threshold, "threshold", "BinaryAccuracy")  # finite, a float32
        self.threshold = 0.5 if threshold is None else threshold
        super().__init__(name=name, dtype=dtype, threshold=float(self.threshold))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(_CoreMetric):
    """How often argmax(y_pred) equals argmax(one-hot y_true) (ties -> first index)."""
    _kind = "categorical_accuracy"
    _rowwise = True

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
    _rowwise = True

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
        # Keras 3 writes from_sorted_ids only when it is True (never, here).
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


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

