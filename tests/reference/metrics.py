"""NumPy float64 references of the metrics (keras-spec section 6.3, Keras 3 semantics).

Inputs: y_true (n, c), y_pred (n, k) (c == k, or c == 1 broadcast; sparse kinds c == 1),
sample_weight (n,) or None. Each function returns the metric's result for ONE update
(a running metric over several batches equals the function on the concatenated data,
except that it is what the tests check).
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-7
NEG_INF = -1e10


def _w(sample_weight, n):
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    return np.asarray(sample_weight, dtype=np.float64).reshape(n)


def _bcast(y_true, y_pred):
    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    return np.broadcast_to(yt, yp.shape) if yt.shape[1] == 1 else yt, yp


def weighted_mean(per_sample, sample_weight=None):
    """Keras Mean: sum(w * v) / sum(w), 0 when sum(w) == 0."""
    v = np.asarray(per_sample, dtype=np.float64)
    w = _w(sample_weight, v.shape[0])
    den = w.sum()
    return 0.0 if den == 0 else float((w * v).sum() / den)


# ---- per-sample values
def accuracy_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return (yt == yp).mean(axis=1)


def binary_accuracy_values(y_true, y_pred, threshold=0.5):
    yt, yp = _bcast(y_true, y_pred)
    # Keras compares float32 predictions with the float32 threshold.
    pred = (np.asarray(y_pred, dtype=np.float32) > np.float32(threshold)).astype(np.float64)
    return (yt == pred).mean(axis=1)


def _argmax_nan_first(a):
    a = np.asarray(a, dtype=np.float64)
    out = np.argmax(a, axis=1)  # NumPy: first maximum; a NaN counts as the maximum
    return out


def categorical_accuracy_values(y_true, y_pred):
    return (_argmax_nan_first(y_true) == _argmax_nan_first(y_pred)).astype(np.float64)


def sparse_categorical_accuracy_values(y_true, y_pred):
    labels = np.asarray(y_true, dtype=np.float64).reshape(-1)
    return (labels == _argmax_nan_first(y_pred)).astype(np.float64)


def in_top_k(targets, y_pred, k):
    """Keras (JAX) in_top_k: fewer than k scores strictly greater than the target's."""
    yp = np.asarray(y_pred, dtype=np.float64)
    n, c = yp.shape
    out = np.zeros(n, dtype=np.float64)
    for i in range(n):
        t = int(targets[i])
        if t < 0 or t >= c:
            continue
        s = yp[i, t]
        if np.isnan(s):
            s = -np.inf
        out[i] = 1.0 if np.sum(yp[i] > s) < k else 0.0
    return out


def top_k_categorical_accuracy_values(y_true, y_pred, k=5):
    return in_top_k(_argmax_nan_first(y_true), y_pred, k)


def sparse_top_k_categorical_accuracy_values(y_true, y_pred, k=5):
    labels = np.asarray(y_true, dtype=np.float64).reshape(-1)
    targets = np.where(np.isfinite(labels), np.trunc(labels), -1)
    return in_top_k(targets, y_pred, k)


def mse_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return ((yp - yt) ** 2).mean(axis=1)


def mae_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return np.abs(yp - yt).mean(axis=1)


def mape_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return 100.0 * np.abs((yt - yp) / np.maximum(np.abs(yt), EPSILON)).mean(axis=1)


def msle_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    a = np.log(np.maximum(yp, EPSILON) + 1.0)
    b = np.log(np.maximum(yt, EPSILON) + 1.0)
    return ((a - b) ** 2).mean(axis=1)


MEAN_KINDS = {
    "accuracy": accuracy_values,
    "binary_accuracy": binary_accuracy_values,
    "categorical_accuracy": categorical_accuracy_values,
    "sparse_categorical_accuracy": sparse_categorical_accuracy_values,
    "top_k_categorical_accuracy": top_k_categorical_accuracy_values,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy_values,
    "mean_squared_error": mse_values,
    "mean_absolute_error": mae_values,
    "mean_absolute_percentage_error": mape_values,
    "mean_squared_logarithmic_error": msle_values,
    "root_mean_squared_error": mse_values,
}


def mean_metric(kind, y_true, y_pred, sample_weight=None, **params):
    r = weighted_mean(MEAN_KINDS[kind](y_true, y_pred, **params), sample_weight)
    return float(np.sqrt(r)) if kind == "root_mean_squared_error" else r


# ---- confusion metrics
def confusion(y_true, y_pred, thresholds, sample_weight=None):
    """Weighted (tp, fp, tn, fn) per threshold: pred > t is positive, label != 0 is positive.
    All elements flattened; each element carries its row's weight."""
    yt, yp = _bcast(y_true, y_pred)
    w = np.broadcast_to(_w(sample_weight, yp.shape[0])[:, None], yp.shape).reshape(-1)
    label = (yt != 0).reshape(-1)
    pred = yp.reshape(-1)
    out = []
    for t in thresholds:
        pos = pred > t
        out.append(((w * (label & pos)).sum(), (w * (~label & pos)).sum(),
                    (w * (~label & ~pos)).sum(), (w * (label & ~pos)).sum()))
    return np.array(out, dtype=np.float64).T  # rows tp, fp, tn, fn


def _div(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _filter_top_k(yp, k):
    """Keras _filter_top_k: keep each row's k largest (ties -> lower index), others NEG_INF."""
    out = np.full_like(yp, NEG_INF)
    for i in range(yp.shape[0]):
        order = sorted(range(yp.shape[1]), key=lambda j: (-yp[i, j], j))[:k]
        out[i, order] = yp[i, order]
    return out


def precision_recall(kind, y_true, y_pred, sample_weight=None, threshold=None, top_k=None,
                     class_id=None):
    yt, yp = _bcast(y_true, y_pred)
    if threshold is None:
        threshold = 0.5 if top_k is None else NEG_INF
    if top_k is not None:
        yp = _filter_top_k(yp, top_k)
    if class_id is not None:
        yt = yt[:, class_id:class_id + 1]
        yp = yp[:, class_id:class_id + 1]
    tp, fp, tn, fn = confusion(yt, yp, [threshold], sample_weight)[:, 0]
    return float(_div(tp, tp + fp)) if kind == "precision" else float(_div(tp, tp + fn))


def auc_thresholds(num_thresholds):
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])


def auc(y_true, y_pred, sample_weight=None, num_thresholds=200, curve="ROC",
        summation_method="interpolation", from_logits=False):
    yp = np.asarray(y_pred, dtype=np.float64)
    if from_logits:
        yp = 1.0 / (1.0 + np.exp(-yp))
    yp = np.clip(yp, 0.0, 1.0)
    tp, fp, tn, fn = confusion(y_true, yp, auc_thresholds(num_thresholds), sample_weight)
    if curve == "PR" and summation_method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        inc = _div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return float(inc.sum())
    recall = _div(tp, tp + fn)
    if curve == "ROC":
        x, y = _div(fp, fp + tn), recall
    else:
        x, y = recall, _div(tp, tp + fp)
    if summation_method == "interpolation":
        h = (y[:-1] + y[1:]) / 2
    elif summation_method == "minoring":
        h = np.minimum(y[:-1], y[1:])
    else:
        h = np.maximum(y[:-1], y[1:])
    return float(((x[:-1] - x[1:]) * h).sum())


def to_categorical(y, num_classes=None):
    """Keras to_categorical: integer labels -> one-hot float, trailing 1 squeezed."""
    y = np.array(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(y)) + 1
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1
    return out.reshape(shape + (num_classes,))
