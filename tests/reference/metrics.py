"""NumPy float64 references of the metrics (Keras 3 semantics).

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


# ============================================================================ more metrics
# (Keras 3.15 formulas: keras/src/losses/losses.py, metrics/{probabilistic,hinge,regression,
# confusion,f_score}_metrics.py, metrics/metrics_utils.py.) Float64 throughout, from the
# float32 inputs; Keras's float32 constants where they change a result: probabilities are
# clipped to [eps, 1 - eps] as float32 (1 - eps = 0.99999988) and thresholds compared as
# float32.
EPS32 = float(np.float32(1e-7))
ONE_MINUS_EPS32 = float(np.float32(1.0) - np.float32(1e-7))


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def bce_values(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    yt, z = _bcast(y_true, y_pred)
    label_smoothing = float(np.float32(label_smoothing))  # a float32 constant in Keras
    yt = yt * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        e = np.maximum(z, 0) - z * yt + np.log1p(np.exp(-np.abs(z)))
    else:
        p = np.clip(z, EPS32, ONE_MINUS_EPS32)
        e = -(yt * np.log(p) + (1 - yt) * np.log(1 - p))
    return e.mean(axis=1)


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))


def cce_values(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    yt, z = _bcast(y_true, y_pred)
    k = z.shape[1]
    label_smoothing = float(np.float32(label_smoothing))  # a float32 constant in Keras
    yt = yt * (1.0 - label_smoothing) + label_smoothing / k
    if from_logits:
        logq = _log_softmax(z)
    else:
        logq = np.log(np.clip(z / z.sum(axis=1, keepdims=True), EPS32, ONE_MINUS_EPS32))
    return -(yt * logq).sum(axis=1)


def scce_values(y_true, y_pred, from_logits=False):
    labels = np.trunc(_f64(y_true).reshape(-1)).astype(np.int64)
    z = _f64(y_pred)
    onehot = np.zeros_like(z)
    onehot[np.arange(z.shape[0]), labels] = 1.0
    return cce_values(onehot, z, from_logits=from_logits)


def scce_metric(y_true, y_pred, sample_weight=None, from_logits=False, ignore_class=None):
    """Rows whose label is ignore_class have loss 0; Keras 3.15 masks them out of the mean
    only with sample weights (the mask multiplies them); unweighted they count as zeros."""
    labels = _f64(y_true).reshape(-1)
    keep = np.ones_like(labels, dtype=bool) if ignore_class is None else labels != ignore_class
    safe = np.where(keep, labels, 0)
    values = np.where(keep, scce_values(safe, y_pred, from_logits), 0.0)
    if sample_weight is None:
        return weighted_mean(values)
    w = _w(sample_weight, labels.shape[0]) * keep
    return weighted_mean(values, w)


def kld_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    yt = np.clip(yt, EPS32, 1.0)
    yp = np.clip(yp, EPS32, 1.0)
    return (yt * np.log(yt / yp)).sum(axis=1)


def poisson_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return (yp - yt * np.log(yp + EPS32)).mean(axis=1)


def _hinge_labels(yt):
    return 2.0 * yt - 1.0 if np.all((yt == 0) | (yt == 1)) else yt


def hinge_values(y_true, y_pred):
    """Per batch: 0/1 labels become -1/+1 when all of the batch's labels are 0 or 1."""
    yt, yp = _bcast(y_true, y_pred)
    return np.maximum(1.0 - _hinge_labels(yt) * yp, 0.0).mean(axis=1)


def squared_hinge_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return (np.maximum(1.0 - _hinge_labels(yt) * yp, 0.0) ** 2).mean(axis=1)


def categorical_hinge_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    pos = (yt * yp).sum(axis=1)
    neg = ((1.0 - yt) * yp).max(axis=1)
    return np.maximum(neg - pos + 1.0, 0.0)


def logcosh_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    return np.log(np.cosh(yp - yt)).mean(axis=1)


def cosine_values(y_true, y_pred):
    yt, yp = _bcast(y_true, y_pred)
    a = yt / np.maximum(np.linalg.norm(yt, axis=1, keepdims=True), EPS32)
    b = yp / np.maximum(np.linalg.norm(yp, axis=1, keepdims=True), EPS32)
    return (a * b).sum(axis=1)


LOSS_MEAN_KINDS = {
    "binary_crossentropy": bce_values,
    "categorical_crossentropy": cce_values,
    "sparse_categorical_crossentropy": scce_values,
    "kl_divergence": kld_values,
    "poisson": poisson_values,
    "hinge": hinge_values,
    "squared_hinge": squared_hinge_values,
    "categorical_hinge": categorical_hinge_values,
    "log_cosh_error": logcosh_values,
    "cosine_similarity": cosine_values,
}


def loss_mean_metric(kind, y_true, y_pred, sample_weight=None, **params):
    """The running mean over batches: each batch's per-sample values (hinge decides its
    label mapping per batch, so pass one batch at a time for hinge kinds)."""
    return weighted_mean(LOSS_MEAN_KINDS[kind](y_true, y_pred, **params), sample_weight)


# ---- confusion counts at arbitrary thresholds (float32 comparison, as Keras)
def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, element_weight=None):
    """(tp, fp, tn, fn), each of shape (len(thresholds),): pred > t is positive (float32),
    label != 0 is positive; elements weighted by their row's weight times element_weight."""
    yt, yp = _bcast(y_true, y_pred)
    yp32 = np.asarray(y_pred, dtype=np.float32)
    yp32 = np.broadcast_to(yp32, yp.shape)
    w = np.broadcast_to(_w(sample_weight, yp.shape[0])[:, None], yp.shape)
    if element_weight is not None:
        w = w * _f64(element_weight)
    label = yt != 0
    out = []
    for t in np.asarray(thresholds, dtype=np.float32):
        pos = yp32 > t
        out.append(((w * (label & pos)).sum(), (w * (~label & pos)).sum(),
                    (w * (~label & ~pos)).sum(), (w * (label & ~pos)).sum()))
    return np.array(out, dtype=np.float64).T


COUNT_INDEX = {"true_positives": 0, "false_positives": 1, "true_negatives": 2, "false_negatives": 3}


def even_confusion_counts(y_true, y_pred, num_thresholds, sample_weight=None, with_epsilon=False,
                          element_weight=None):
    """(tp, fp, tn, fn) at Keras's evenly spaced thresholds, computed as Keras does for them
    (metrics_utils._update_confusion_matrix_variables_optimized): p clipped to [0, 1], its
    bucket ceil(p * (T-1)) - 1 in float32 (0 at least with the -eps/1+eps ends; -1, below
    every threshold, without), and an element exceeds thresholds 0..bucket. (This differs
    from comparing p with j/(T-1) only when the float32 product rounds onto an integer.)"""
    yt, yp = _bcast(y_true, y_pred)
    p32 = np.clip(np.broadcast_to(np.asarray(y_pred, dtype=np.float32), yp.shape), 0, 1).astype(np.float32)
    bucket = np.ceil(p32 * np.float32(num_thresholds - 1)).astype(np.float32) - np.float32(1)
    bucket = np.nan_to_num(bucket, nan=0.0 if with_epsilon else -1.0)
    if with_epsilon:
        bucket = np.maximum(bucket, 0)
    bucket = bucket.astype(np.int64)
    w = np.broadcast_to(_w(sample_weight, yp.shape[0])[:, None], yp.shape)
    if element_weight is not None:
        w = w * _f64(element_weight)
    label = yt != 0
    tp, fp = [], []
    for i in range(num_thresholds):
        above = bucket >= i
        tp.append((w * (label & above)).sum())
        fp.append((w * (~label & above)).sum())
    tp, fp = np.array(tp), np.array(fp)
    return tp, fp, (w * ~label).sum() - fp, (w * label).sum() - tp


def operating_point(kind, y_true, y_pred, value, sample_weight=None, num_thresholds=200, class_id=None):
    """Keras's SensitivitySpecificityBase: thresholds [0, 1/(n-1), ..., 1] ([0.5] for n=1);
    the best dependent rate among thresholds whose constrained rate >= value, else 0."""
    yt, yp = _bcast(y_true, y_pred)
    if class_id is not None:
        yt, yp = yt[:, class_id:class_id + 1], yp[:, class_id:class_id + 1]
    if num_thresholds == 1:
        ts = [0.5]
    else:
        ts = [0.0] + [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
    if num_thresholds == 1:  # predictions are clipped to [0, 1] first (metrics_utils)
        tp, fp, tn, fn = confusion_counts(yt, np.clip(yp, 0.0, 1.0).astype(np.float32), ts, sample_weight)
    else:
        tp, fp, tn, fn = even_confusion_counts(yt, yp.astype(np.float32), num_thresholds, sample_weight)
    recall = _div(tp, tp + fn)
    precision = _div(tp, tp + fp)
    specificity = _div(tn, tn + fp)
    constrained, dependent = {
        "precision_at_recall": (recall, precision),
        "recall_at_precision": (precision, recall),
        "sensitivity_at_specificity": (specificity, recall),
        "specificity_at_sensitivity": (recall, specificity),
    }[kind]
    feasible = constrained >= value
    return float(np.max(np.where(feasible, dependent, 0.0), initial=0.0))


def _auc_from_counts(tp, fp, tn, fn, curve, summation_method):
    if curve == "PR" and summation_method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        inc = _div(slope * (dtp + intercept * np.log(np.where(ratio > 0, ratio, 1.0))),
                   np.maximum(tp[1:] + fn[1:], 0))
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


def auc_general(y_true, y_pred, sample_weight=None, num_thresholds=200, curve="ROC",
                summation_method="interpolation", multi_label=False, label_weights=None):
    """AUC with multi_label (one curve per column, averaged, label_weights-weighted) and
    label_weights without multi_label (each column's elements weighted)."""
    yt, yp = _bcast(y_true, y_pred)
    yp = np.clip(yp, 0.0, 1.0)
    ts = auc_thresholds(num_thresholds)
    if not multi_label:
        ew = None if label_weights is None else np.broadcast_to(_f64(label_weights)[None, :], yp.shape)
        return _auc_from_counts(*confusion_counts(yt, yp, ts, sample_weight, ew), curve, summation_method)
    aucs = np.array([_auc_from_counts(*confusion_counts(yt[:, j:j + 1], yp[:, j:j + 1], ts, sample_weight),
                                      curve, summation_method) for j in range(yp.shape[1])])
    if label_weights is None:
        return float(aucs.mean())
    lw = _f64(label_weights)
    return float(_div((aucs * lw).sum(), lw.sum()))


def fbeta(y_true, y_pred, sample_weight=None, average=None, beta=1.0, threshold=None):
    yt, yp = _bcast(y_true, y_pred)
    yp32 = np.asarray(y_pred, dtype=np.float32)
    if threshold is None:
        pred = (yp32 >= yp32.max(axis=1, keepdims=True)) & (np.abs(yp32) > np.float32(1e-9))
    else:
        pred = yp32 > np.float32(threshold)
    pred = pred.astype(np.float64)
    w = _w(sample_weight, yp.shape[0])[:, None]
    tp = (w * pred * yt).sum(axis=0)
    fp = (w * pred * (1 - yt)).sum(axis=0)
    fn = (w * (1 - pred) * yt).sum(axis=0)
    support = (w * yt).sum(axis=0)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    p = tp / (tp + fp + EPSILON)
    r = tp / (tp + fn + EPSILON)
    b2 = beta * beta
    f = (1 + b2) * (p * r / (b2 * p + r + EPSILON))
    if average == "weighted":
        return float((f * support / (support.sum() + EPSILON)).sum())
    if average in ("micro", "macro"):
        return float(np.mean(f))
    return f


def r2(y_true, y_pred, sample_weight=None, class_aggregation="uniform_average", num_regressors=0):
    yt, yp = _bcast(y_true, y_pred)
    w = _w(sample_weight, yp.shape[0])[:, None] * np.ones_like(yt)
    s = (w * yt).sum(axis=0)
    ss = (w * yt * yt).sum(axis=0)
    res = (w * (yt - yp) ** 2).sum(axis=0)
    cnt = w.sum(axis=0)
    total = ss - s * (s / cnt)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = 1.0 - res / total
    raw = np.where(np.isinf(raw), 0.0, raw)
    if class_aggregation == "uniform_average":
        score = raw.mean()
    elif class_aggregation == "variance_weighted_average":
        score = (total * raw).sum() / total.sum()
    else:
        score = raw
    n = yt.size  # Keras 3.15: the element count of y_true
    if num_regressors and num_regressors < n - 1:
        score = 1.0 - (1.0 - score) * (n - 1) / (n - num_regressors - 1)
    return score


def keras_mean(values, sample_weight=None):
    """Keras's Mean.update_state once: per-sample means (weights broadcast per element)."""
    v = _f64(values)
    if sample_weight is None:
        v = v.reshape(v.shape[0], -1).mean(axis=1) if v.ndim > 1 else v.reshape(-1)
        return float(v.sum() / v.size) if v.size else 0.0
    w = np.broadcast_to(_f64(sample_weight).reshape(np.shape(sample_weight) + (1,) * (v.ndim - np.ndim(sample_weight))), v.shape)
    vw = (v * w).reshape(v.shape[0], -1).mean(axis=1) if v.ndim > 1 else v * w
    ws = w.reshape(w.shape[0], -1).mean(axis=1) if w.ndim > 1 else w
    return float(_div(vw.sum(), ws.sum()))
