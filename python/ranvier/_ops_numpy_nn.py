"""NumPy versions of more ``keras.ops`` functions (re-exported by ``ranvier.ops``): the
activations (``gelu`` with Keras's ``approximate=True`` default, ``silu``, ``leaky_relu``
with ``negative_slope=0.2``, ...), ``erf``, ``logsumexp``, ``norm``, ``top_k``, ``argsort``
and the cross-entropies of ``keras.ops`` (element-wise binary, per-sample categorical and
sparse categorical, with Keras's ``epsilon()`` clipping of probabilities). Float32 in,
float32 out, as in Keras."""
from __future__ import annotations

import math
from typing import Any, Tuple

import numpy as np

from ._ops_numpy import _floating, _in, _out

__all__ = ["gelu", "silu", "swish", "leaky_relu", "elu", "selu", "softplus", "softsign", "relu6",
           "hard_sigmoid", "log_sigmoid", "erf", "logsumexp", "norm", "top_k", "argsort",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]

_EPSILON = 1e-7  # keras.config.epsilon()
_erf = np.frompyfunc(math.erf, 1, 1)


def _f(x) -> np.ndarray:
    return _floating(_in(x))


def _like(value, ref: np.ndarray):
    return _out(np.asarray(value, dtype=ref.dtype))


def erf(x):
    """The error function, element-wise."""
    a = _f(x)
    return _like(_erf(a.astype(np.float64)).astype(np.float64), a)


def gelu(x, approximate=True):
    """GELU; ``keras.ops.gelu`` defaults to the tanh approximation (the activation
    ``keras.activations.gelu`` to the exact form)."""
    a = _f(x).astype(np.float64)
    if approximate:
        y = 0.5 * a * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (a + 0.044715 * a ** 3)))
    else:
        y = 0.5 * a * (1.0 + _erf(a / math.sqrt(2.0)).astype(np.float64))
    return _like(y, _f(x))


def silu(x):
    """``x * sigmoid(x)``."""
    a = _f(x)
    return _like(a * (0.5 * (np.tanh(0.5 * a) + 1)), a)


swish = silu


def leaky_relu(x, negative_slope=0.2):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    a = _f(x)
    return _like(np.where(a >= 0, a, negative_slope * a), a)


def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    a = _f(x)
    return _like(np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0))), a)


def selu(x):
    """Scaled ELU with Keras's constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    a = _f(x)
    return _like(scale * np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0))), a)


def softplus(x):
    """``log(1 + exp(x))``, computed stably."""
    a = _f(x)
    return _like(np.logaddexp(a, 0), a)


def softsign(x):
    """``x / (1 + |x|)``."""
    a = _f(x)
    return _like(a / (1 + np.abs(a)), a)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    a = _f(x)
    return _like(np.clip(a, 0, 6), a)


def hard_sigmoid(x):
    """Keras 3's ``clip(x / 6 + 0.5, 0, 1)``."""
    a = _f(x)
    return _like(np.clip(a / 6.0 + 0.5, 0, 1), a)


def log_sigmoid(x):
    """``log(sigmoid(x))`` = ``-softplus(-x)``."""
    a = _f(x)
    return _like(-np.logaddexp(-a, 0), a)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, shifted by the maximum."""
    a = _f(x)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return _like(out if keepdims else np.squeeze(out, axis=axis), a)


def norm(x, ord=None, axis=None, keepdims=False):
    """``np.linalg.norm`` (vector or matrix norm), float32 for float32 input."""
    a = _f(x)
    return _like(np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims), a)


def top_k(x, k, sorted=True) -> Tuple[Any, Any]:
    """``(values, indices)`` of the ``k`` largest entries along the last axis (indices
    int32; ties keep the lower index first)."""
    a = _in(x)
    k = int(k)
    if k < 0 or k > a.shape[-1]:
        raise ValueError(f"top_k: k must be in [0, {a.shape[-1]}] for x.shape={a.shape}, got {k}")
    idx = np.argsort(-a, axis=-1, kind="stable")[..., :k]
    return _out(np.take_along_axis(a, idx, axis=-1)), _out(idx.astype(np.int32))


def argsort(x, axis=-1):
    """Indices that sort ``x`` along ``axis`` (int32)."""
    return _out(np.argsort(_in(x), axis=axis, kind="stable").astype(np.int32))


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy (no mean): probabilities clipped to
    ``[epsilon, 1 - epsilon]``, or the stable logits form."""
    t, o = _f(target), _f(output)
    if from_logits:
        v = np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))
    else:
        o = np.clip(o, _EPSILON, 1 - _EPSILON)
        v = -(t * np.log(o) + (1 - t) * np.log(1 - o))
    return _like(v, o)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample ``-sum(target * log(output))`` along ``axis``: probabilities are first
    divided by their sum and clipped to ``[epsilon, 1 - epsilon]``."""
    t, o = _f(target), _f(output)
    if t.shape != o.shape:
        raise ValueError(f"categorical_crossentropy: target.shape={t.shape} and output.shape={o.shape} differ")
    if from_logits:
        s = o - np.max(o, axis=axis, keepdims=True)
        logp = s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    else:
        p = np.clip(o / np.sum(o, axis=axis, keepdims=True), _EPSILON, 1 - _EPSILON)
        logp = np.log(p)
    return _like(-np.sum(t * logp, axis=axis), o)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``categorical_crossentropy`` with integer class labels (a trailing size-1 axis of
    ``target`` is dropped)."""
    t = np.asarray(_in(target))
    o = _f(output)
    if t.ndim == o.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    labels = t.astype(np.int64)
    depth = o.shape[axis]
    if labels.size and (labels.min() < 0 or labels.max() >= depth):
        raise ValueError(f"sparse_categorical_crossentropy: labels must be in [0, {depth}), "
                         f"got {int(labels.min())}..{int(labels.max())}")
    one_hot = np.moveaxis(np.eye(depth, dtype=o.dtype)[labels], -1, axis)
    return categorical_crossentropy(one_hot, o, from_logits=from_logits, axis=axis)
