"""NumPy float64 references of the losses (Keras 3 semantics).

Per-sample functions take y_true (n, c) (c == k, or c == 1 broadcast along the row;
sparse: integer labels (n,) or (n, 1)) and y_pred (n, k) and return ``(values, grad)``:
values (n,) are the per-sample losses l_i, grad (n, k) is dl_i / d y_pred (analytic).
The clipping constants are float32's, as Keras computes in float32: eps = 1e-7 and
1 - eps = 0.99999988 (so the largest clipped BCE element is 15.942385).
Where a clip is active the gradient is 0 (what autodiff of the clipped formula gives).
"""
from __future__ import annotations

import math

import numpy as np

EPS = float(np.float32(1e-7))
ONE_MINUS_EPS = float(np.float32(1.0) - np.float32(1e-7))


def _f(a):
    return np.asarray(a, dtype=np.float64)


def _yt(y_true, y_pred):
    yt, yp = _f(y_true), _f(y_pred)
    if yt.ndim == 1:
        yt = yt[:, None]
    return np.broadcast_to(yt, yp.shape).copy(), yp


def _inside(x, lo, hi):
    return ((x > lo) & (x < hi)).astype(np.float64)


def sigmoid(z):
    z = _f(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def mean_squared_error(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    k = p.shape[1]
    return np.mean((p - y) ** 2, axis=1), 2 * (p - y) / k


def mean_absolute_error(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    return np.mean(np.abs(p - y), axis=1), np.sign(p - y) / p.shape[1]


def mean_absolute_percentage_error(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    den = np.maximum(np.abs(y), EPS)
    return 100 * np.mean(np.abs(p - y) / den, axis=1), 100 * np.sign(p - y) / den / p.shape[1]


def mean_squared_logarithmic_error(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    pc = np.maximum(p, EPS)
    e = np.log(pc + 1) - np.log(np.maximum(y, EPS) + 1)
    return np.mean(e * e, axis=1), 2 * e / (pc + 1) * (p > EPS) / p.shape[1]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y, p = _yt(y_true, y_pred)
    k = p.shape[1]
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        v = np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
        return np.mean(v, axis=1), (sigmoid(p) - y) / k
    q = np.clip(p, EPS, ONE_MINUS_EPS)
    v = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    g = (-y / q + (1 - y) / (1 - q)) * _inside(p, EPS, ONE_MINUS_EPS)
    return np.mean(v, axis=1), g / k


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y, p = _yt(y_true, y_pred)
    k = p.shape[1]
    y = y * (1 - label_smoothing) + label_smoothing / k
    if from_logits:
        m = np.max(p, axis=1, keepdims=True)
        lse = np.log(np.sum(np.exp(p - m), axis=1, keepdims=True))
        logq = (p - m) - lse
        soft = np.exp(logq)
        return -np.sum(y * logq, axis=1), soft * np.sum(y, axis=1, keepdims=True) - y
    s = np.sum(p, axis=1, keepdims=True)
    r = p / s
    q = np.clip(r, EPS, ONE_MINUS_EPS)
    c = _inside(r, EPS, ONE_MINUS_EPS)
    v = -np.sum(y * np.log(q), axis=1)
    # d/dp_m of -sum_j y_j log(clip(p_j / s)): (1/s) (sum_j y_j c_j r_j / q_j - y_m c_m / q_m)
    g = (np.sum(y * c * r / q, axis=1, keepdims=True) - y * c / q) / s
    return v, g


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    p = _f(y_pred)
    labels = _f(y_true).reshape(-1).astype(np.int64)
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), labels] = 1.0
    return categorical_crossentropy(onehot, p, from_logits=from_logits)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0):
    y, z = _yt(y_true, y_pred)
    k = z.shape[1]
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    p = sigmoid(z) if from_logits else z
    q = np.clip(p, EPS, ONE_MINUS_EPS)
    b = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    db = (-y / q + (1 - y) / (1 - q)) * _inside(p, EPS, ONE_MINUS_EPS)
    base = 1 - (y * p + (1 - y) * (1 - p))
    f = base**gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        fp = np.where(gamma == 0, 0.0, gamma * base ** (gamma - 1)) if gamma != 1 else np.ones_like(base)
    wt = y * alpha + (1 - y) * (1 - alpha) if apply_class_balancing else 1.0
    v = wt * f * b
    if from_logits:
        e = np.exp(-np.abs(z))
        dpdz = e / (1 + e) ** 2  # = p (1 - p), without rounding p to 1
        d = wt * (fp * (1 - 2 * y) * b * dpdz + f * (p - y) * _inside(p, EPS, ONE_MINUS_EPS))
    else:
        d = wt * (fp * (1 - 2 * y) * b + f * db)
    return np.mean(v, axis=1), d / k


def binary_focal_gradient_terms(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                                from_logits=False, label_smoothing=0.0):
    """Magnitudes of the terms of the focal gradient that cancel or carry float32 roundings
    (f' (1 - 2y) b and f db, plus the absolute roundings of b and 1 - 2y), scaled as the
    gradient; tests size their tolerance with it."""
    y, z = _yt(y_true, y_pred)
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    p = sigmoid(z) if from_logits else z
    q = np.clip(p, EPS, ONE_MINUS_EPS)
    b = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    db = (np.abs(y / q) + np.abs((1 - y) / (1 - q))) * _inside(p, EPS, ONE_MINUS_EPS)
    base = np.abs(1 - (y * p + (1 - y) * (1 - p)))
    with np.errstate(divide="ignore", invalid="ignore"):
        fp = gamma * base ** (gamma - 1) if gamma >= 1 else np.where(base > 0, gamma * base ** (gamma - 1), 0.0)
    wt = np.abs(y * alpha + (1 - y) * (1 - alpha)) if apply_class_balancing else 1.0
    # absolute roundings: b (1 - q rounded: ulp(1) per unit label), 1 - 2y (y rounded by smoothing)
    d = wt * (np.abs(fp) * (np.abs(b) * (np.abs(1 - 2 * y) + 2 * np.abs(y) + 1) + np.abs(y) + np.abs(1 - y))
              + base**gamma * db)
    if from_logits:
        e = np.exp(-np.abs(z))
        d = d * e / (1 + e) ** 2 + wt * base**gamma * (np.abs(p) + np.abs(y))
    return d / z.shape[1]


def _hinge_labels(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def hinge(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    y = _hinge_labels(y)
    h = 1 - y * p
    return np.mean(np.maximum(h, 0), axis=1), np.where(h > 0, -y, 0.0) / p.shape[1]


def squared_hinge(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    y = _hinge_labels(y)
    h = np.maximum(1 - y * p, 0)
    return np.mean(h * h, axis=1), -2 * h * y / p.shape[1]


def categorical_hinge(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    pos = np.sum(y * p, axis=1)
    a = (1 - y) * p
    neg = np.max(a, axis=1)
    v = neg - pos + 1
    tie = (a == neg[:, None]).astype(np.float64)
    tie /= tie.sum(axis=1, keepdims=True)  # the max's gradient is shared among ties (TF, JAX)
    g = np.where((v > 0)[:, None], -y + (1 - y) * tie, 0.0)
    return np.maximum(v, 0), g


def huber(y_true, y_pred, delta=1.0):
    y, p = _yt(y_true, y_pred)
    e = p - y
    a = np.abs(e)
    v = np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta)
    g = np.where(a <= delta, e, delta * np.sign(e))
    return np.mean(v, axis=1), g / p.shape[1]


def log_cosh(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    e = p - y
    v = e + np.logaddexp(-2 * e, 0) - math.log(2)
    return np.mean(v, axis=1), np.tanh(e) / p.shape[1]


def kl_divergence(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    yc = np.clip(y, EPS, 1)
    pc = np.clip(p, EPS, 1)
    return np.sum(yc * np.log(yc / pc), axis=1), -yc / pc * _inside(p, EPS, 1)


def poisson(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    return np.mean(p - y * np.log(p + EPS), axis=1), (1 - y / (p + EPS)) / p.shape[1]


def cosine_similarity(y_true, y_pred):
    y, p = _yt(y_true, y_pred)
    ny = np.sqrt(np.sum(y * y, axis=1, keepdims=True))
    np_ = np.sqrt(np.sum(p * p, axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        ay = np.minimum(1 / ny, 1 / EPS)
        ap = np.minimum(1 / np_, 1 / EPS)
    yh, ph = y * ay, p * ap
    c = np.sum(yh * ph, axis=1, keepdims=True)
    clipped = np_ <= EPS
    g = np.where(clipped, -yh * ap, -ap * (yh - c * ph))
    return -c[:, 0], g


def _focal_parts(y_true, y_pred, alpha, gamma, from_logits, label_smoothing):
    """Keras 3's categorical_focal_crossentropy, its a_j = dl/dq_j (0 where q_j was
    clipped), u = p / sum p (softmax(z) from logits) and s = sum p (1 from logits)."""
    y, p = _yt(y_true, y_pred)
    k = p.shape[1]
    y = y * (1 - label_smoothing) + label_smoothing / k
    if from_logits:
        e = np.exp(p - np.max(p, axis=1, keepdims=True))
        u = e / np.sum(e, axis=1, keepdims=True)
        s = np.ones((p.shape[0], 1))
    else:
        s = np.sum(p, axis=1, keepdims=True)
        u = p / s
    q = np.clip(u, EPS, ONE_MINUS_EPS)
    c = _inside(u, EPS, ONE_MINUS_EPS)
    om = 1 - q
    f = om ** gamma
    fp = gamma * om ** (gamma - 1) if gamma != 0 else np.zeros_like(om)
    v = np.sum(alpha * f * (-y * np.log(q)), axis=1)
    a = c * alpha * y * (fp * np.log(q) - f / q)
    return v, a, u, s


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    """sum_j alpha (1 - q_j)^gamma (-y_j log q_j), q = clip(p / sum p) (softmax(z) from logits).
    Gradient: (a_m - A) / s with respect to p, u_m (a_m - A) with respect to z, A = sum_j a_j u_j."""
    v, a, u, s = _focal_parts(y_true, y_pred, alpha, gamma, from_logits, label_smoothing)
    big_a = np.sum(a * u, axis=1, keepdims=True)
    return v, (u * (a - big_a) if from_logits else (a - big_a) / s)


def categorical_focal_gradient_terms(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                     label_smoothing=0.0):
    """Magnitudes of the terms that cancel in the focal gradient, a_m - A (per element)."""
    _, a, u, s = _focal_parts(y_true, y_pred, alpha, gamma, from_logits, label_smoothing)
    t = np.abs(a) + np.sum(np.abs(a * u), axis=1, keepdims=True)
    return u * t if from_logits else t / np.abs(s)


LOSSES = {
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "huber": huber,
    "log_cosh": log_cosh,
    "kl_divergence": kl_divergence,
    "poisson": poisson,
    "cosine_similarity": cosine_similarity,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
}


# ---- fused gradients with respect to the logits (gradient of the UNCLIPPED loss)
def softmax(z):
    z = _f(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fused_softmax_cce_grad(y_true, q, label_smoothing=0.0):
    y, q = _yt(y_true, q)
    k = q.shape[1]
    y = y * (1 - label_smoothing) + label_smoothing / k
    return q * y.sum(axis=1, keepdims=True) - y


def fused_softmax_scce_grad(labels, q):
    q = _f(q)
    g = q.copy()
    g[np.arange(q.shape[0]), _f(labels).reshape(-1).astype(np.int64)] -= 1.0
    return g


def fused_sigmoid_bce_grad(y_true, q, label_smoothing=0.0):
    y, q = _yt(y_true, q)
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    return (q - y) / q.shape[1]


# ---- Keras's pipeline (spec 2.2) -------------------------------------------------------
def squeeze_or_expand(x1, x2):
    """keras squeeze_or_expand_to_same_rank (expand_rank_1=True)."""
    x1, x2 = np.asarray(x1), np.asarray(x2)
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


def reduce(values, sample_weight=None, reduction="sum_over_batch_size"):
    """reduce_weighted_values: weights (aligned) multiply, then the reduction."""
    v = _f(values)
    if sample_weight is not None:
        sw = _f(sample_weight)
        v, sw = squeeze_or_expand(v, sw)
        v = v * sw
    if reduction in (None, "none") or v.shape in ((), (0,)):
        return v
    total = v.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        d = _f(sample_weight).sum()
        return 0.0 if d == 0 else total / d
    return total / v.size
