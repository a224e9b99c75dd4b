"""Built-in metrics computed in C++ as the mean of a per-sample value over the last
axis: the cross-entropies, hinges, KL divergence, Poisson, log-cosh and similarity."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ._base import (  # noqa: F401
    _CoreMetric,
)
from ._classification import (  # noqa: F401
    _is_int,
)


# ----------------------------------------------------------------------------- mean of a loss

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "LogCoshError",
    "CosineSimilarity",
    "PearsonCorrelation",
]


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
    _rowwise = True

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
    _rowwise = True

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
    _rowwise = True

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
    _rowwise = True

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        self.axis = axis
        _check_axis("CosineSimilarity", axis)
        super().__init__(name=name, dtype=dtype)


class PearsonCorrelation(_CoreMetric):
    """Running mean of the Pearson correlation of each sample's y_true and y_pred rows
    (Keras 3's ``keras.metrics.PearsonCorrelation``: each row centred and divided by its
    population std, then the mean of the products; a row without spread gives NaN).

    1-D ``y_true``/``y_pred`` are one row, as Keras reduces the last axis: the whole batch
    gives one correlation, counted once."""
    _kind = "pearson_correlation"

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        self.axis = axis
        _check_axis("PearsonCorrelation", axis)
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if np.ndim(y_true) == 1 and np.ndim(y_pred) == 1:
            if sample_weight is not None and np.size(sample_weight) != 1:
                raise ValueError(
                    "PearsonCorrelation: with 1-D y_true and y_pred the batch is one row (one value), so "
                    f"sample_weight must be a scalar; got sample_weight.shape={np.shape(sample_weight)}")
            y_true, y_pred = np.reshape(y_true, (1, -1)), np.reshape(y_pred, (1, -1))
            if sample_weight is not None:
                sample_weight = np.reshape(sample_weight, (1,))
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
