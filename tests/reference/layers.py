"""NumPy float64 references for the layers (Keras 3).

Written from the Keras formulas, not from ranvier's code. Every function takes and
returns float64 arrays; row-major (batch, features) data.
"""
from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------- activations used by the Dense tests
# (value, derivative as a function of (z, y)); softmax is handled separately (row Jacobian).


def _sigmoid(z):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


ACTIVATIONS = {
    "linear": (lambda z: z, lambda z, y: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, y: (z > 0).astype(np.float64)),
    "tanh": (np.tanh, lambda z, y: 1.0 - y * y),
    "sigmoid": (_sigmoid, lambda z, y: y * (1.0 - y)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
            lambda z, y: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))),
    "softplus": (lambda z: np.logaddexp(z, 0.0), lambda z, y: _sigmoid(z)),
}


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def activation(name, z):
    if name == "softmax":
        return softmax(z)
    return ACTIVATIONS[name][0](z)


def activation_backward(name, z, y, dy):
    """dL/dz from dL/dy."""
    if name == "softmax":
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
    return dy * ACTIVATIONS[name][1](z, y)


# ----------------------------------------------------------------------------- regularizers / constraints
def penalty(w, l1=0.0, l2=0.0):
    """Keras L1L2: l1 * sum|w| + l2 * sum w^2 (no 1/2)."""
    w = np.asarray(w, np.float64)
    return float(l1 * np.abs(w).sum() + l2 * (w * w).sum())


def penalty_grad(w, l1=0.0, l2=0.0):
    w = np.asarray(w, np.float64)
    return l1 * np.sign(w) + 2.0 * l2 * w


def _norms(w, axis):
    return np.sqrt(np.sum(w * w, axis=axis, keepdims=True))


def max_norm(w, max_value=2.0, axis=0):
    n = _norms(w, axis)
    return w * (np.clip(n, 0, max_value) / (1e-7 + n))


def unit_norm(w, axis=0):
    return w / (1e-7 + _norms(w, axis))


def min_max_norm(w, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
    n = _norms(w, axis)
    desired = rate * np.clip(n, min_value, max_value) + (1 - rate) * n
    return w * (desired / (1e-7 + n))


def non_neg(w):
    return np.maximum(w, 0.0)


# ----------------------------------------------------------------------------- Dense
def dense_forward(x, kernel, bias=None, act="linear"):
    """(y, z): z = x @ kernel + bias, y = act(z)."""
    z = x @ kernel
    if bias is not None:
        z = z + bias
    return activation(act, z), z


def dense_backward(x, kernel, z, y, dy, act="linear", dy_is_preactivation=False, activity=(0.0, 0.0)):
    """(dx, dkernel, dbias) of L with dL/dy = dy; the activity penalty
    (l1 sum|y| + l2 sum y^2) / batch is part of L."""
    batch = x.shape[0]
    l1, l2 = activity
    act_g = penalty_grad(y, l1, l2) / batch
    if dy_is_preactivation:
        dz = dy + activation_backward(act, z, y, act_g)
    else:
        dz = activation_backward(act, z, y, dy + act_g)
    return dz @ kernel.T, x.T @ dz, dz.sum(axis=0)


def activity_penalty(y, l1=0.0, l2=0.0):
    return penalty(y, l1, l2) / y.shape[0]


# ----------------------------------------------------------------------------- BatchNormalization
def bn_train_forward(x, gamma, beta, eps=1e-3):
    """(y, mean, biased var) with batch statistics."""
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return y, mean, var


def bn_moving_update(moving_mean, moving_var, mean, var, momentum=0.99):
    return (moving_mean * momentum + mean * (1 - momentum),
            moving_var * momentum + var * (1 - momentum))


def bn_inference(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    return gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta


def bn_train_backward(x, gamma, dy, eps=1e-3):
    """(dx, dgamma, dbeta) of the batch-statistics forward."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv
    dbeta = dy.sum(axis=0)
    dgamma = (dy * xhat).sum(axis=0)
    dx = gamma * inv / n * (n * dy - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------- LayerNormalization
def ln_forward(x, gamma, beta, eps=1e-3):
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def ln_backward(x, gamma, dy, eps=1e-3):
    n = x.shape[1]
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv
    g = dy * gamma
    dx = inv / n * (n * g - g.sum(axis=1, keepdims=True) - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


# ----------------------------------------------------------------------------- Dropout
# The mask is specified (not just its distribution): keep(i) iff bits(i) >= round(rate * 2^32),
# bits(i) = the high (even i) or low (odd i) 32 bits of
# splitmix64_mix(key + (i // 2 + 1) * golden), key = mix(seed ^ mix(step + golden))
# (dropout.cpp's contract).
_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix64(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dropout_bits(seed, step, index):
    key = _mix64(np.uint64(seed) ^ _mix64(np.uint64((step + _GOLDEN) & _M64)))
    idx = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _mix64(key + (idx // np.uint64(2) + np.uint64(1)) * np.uint64(_GOLDEN))
    return np.where(idx % np.uint64(2) == 0, h >> np.uint64(32), h & np.uint64(0xFFFFFFFF))


def dropout_threshold(rate):
    if rate <= 0:
        return 0
    if rate >= 1:
        return 1 << 32
    return int(round(float(np.float32(rate)) * 2.0 ** 32))


def dropout_mask(seed, step, rows, cols, rate, broadcast_rows=False, broadcast_cols=False):
    """Boolean keep mask of shape (rows, cols)."""
    r = np.zeros((rows, 1), np.uint64) if broadcast_rows else np.arange(rows, dtype=np.uint64)[:, None]
    c = np.zeros((1, cols), np.uint64) if broadcast_cols else np.arange(cols, dtype=np.uint64)[None, :]
    stride = np.uint64(1 if broadcast_cols else cols)
    idx = r * stride + c
    return dropout_bits(seed, step, idx) >= np.uint64(dropout_threshold(rate))


def dropout_forward(x, mask, rate):
    keep = 1.0 - float(np.float32(rate))
    return np.where(mask, x / keep, 0.0)


# ----------------------------------------------------------------------------- finite differences
def central_difference(f, x, direction, h=1e-6):
    """(f(x + h d) - f(x - h d)) / 2h, in float64."""
    return (f(x + h * direction) - f(x - h * direction)) / (2.0 * h)
