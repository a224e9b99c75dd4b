"""NumPy float64 references of the activations (Keras 3 semantics).

Each entry of ``ACTIVATIONS`` maps a kind name (ranvier's C++ ActKind name) to
``(forward, derivative)`` functions of a float64 array ``x`` and keyword parameters
(negative_slope, max_value, threshold, alpha: the ones the kind uses). ``derivative`` is
the analytic dy/dx. Values at +-inf are the mathematical limits (e.g. gelu(-inf) = 0),
NaN propagates. Row-wise kinds (softmax, log_softmax) have their own functions with
the vector-Jacobian product as backward.
"""
from __future__ import annotations

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _f(x):
    return np.asarray(x, dtype=np.float64)


def erf(x):
    return _erf(_f(x))


def erfc(x):
    return _erfc(_f(x))


def normcdf(x):
    """Phi(x) = erfc(-x/sqrt2)/2 (full relative accuracy in the left tail)."""
    return 0.5 * erfc(-_f(x) / math.sqrt(2.0))


def normpdf(x):
    x = _f(x)
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def sigmoid(x):
    x = _f(x)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    x = _f(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _with_limits(x, y, neg_inf, pos_inf):
    """Sets the values at -inf / +inf to the given limits (NaN stays NaN)."""
    y = np.where(np.isneginf(x), neg_inf, y)
    return np.where(np.isposinf(x), pos_inf, y)


def _safe(x):
    """x with infinities replaced by 0 (their results are set from the limits)."""
    return np.where(np.isinf(x), 0.0, x)


# ---- elementwise kinds: forward f(x, **p) and derivative df(x, **p) ----------------------
def linear(x, **_):
    return _f(x).copy()


def d_linear(x, **_):
    return np.ones_like(_f(x))


def relu(x, negative_slope=0.0, max_value=math.inf, threshold=0.0, **_):
    """Keras 3: p = x if x > t else 0; clip(p, 0, m) if m given; p - s*max(t - x, 0)."""
    x = _f(x)
    s, m, t = float(negative_slope), float(max_value), float(threshold)
    if s != 0.0 and math.isinf(m) and t == 0.0:
        return np.where(x >= 0, x, s * x)
    with np.errstate(invalid="ignore"):
        p = np.where(x > t, x, 0.0)
        if not math.isinf(m):
            p = np.clip(p, 0.0, m)
        if s != 0.0:
            p = p - s * np.maximum(t - x, 0.0)
    return np.where(np.isnan(x), np.nan, p)


def d_relu(x, negative_slope=0.0, max_value=math.inf, threshold=0.0, **_):
    """1 where the positive part passes (x > t, and 0 < x < m when clipped), + s below t.
    relu'(0) = 0 and leaky'(0) = 1 (TF/JAX)."""
    x = _f(x)
    s, m, t = float(negative_slope), float(max_value), float(threshold)
    if s != 0.0 and math.isinf(m) and t == 0.0:
        d = np.where(x >= 0, 1.0, s)
    else:
        on = x > t
        if not math.isinf(m):
            on &= (x > 0) & (x < m)
        d = on.astype(np.float64) + np.where(x < t, s, 0.0)
    return np.where(np.isnan(x), np.nan, d)


def leaky_relu(x, negative_slope=0.2, **_):
    x = _f(x)
    return np.where(x >= 0, x, negative_slope * x)


def d_leaky_relu(x, negative_slope=0.2, **_):
    x = _f(x)
    return np.where(np.isnan(x), np.nan, np.where(x >= 0, 1.0, negative_slope))


def relu6(x, **_):
    return np.clip(_f(x), 0.0, 6.0)


def d_relu6(x, **_):
    x = _f(x)
    return np.where(np.isnan(x), np.nan, ((x > 0) & (x < 6)).astype(np.float64))


def elu(x, alpha=1.0, **_):
    x = _f(x)
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def d_elu(x, alpha=1.0, **_):
    x = _f(x)
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def selu(x, **_):
    return SELU_SCALE * elu(x, alpha=SELU_ALPHA)


def d_selu(x, **_):
    return SELU_SCALE * d_elu(x, alpha=SELU_ALPHA)


def celu(x, alpha=1.0, **_):
    x = _f(x)
    with np.errstate(invalid="ignore"):
        return np.maximum(x, 0.0) + alpha * np.expm1(np.minimum(x, 0.0) / alpha)


def d_celu(x, alpha=1.0, **_):
    x = _f(x)
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0) / alpha))


def gelu(x, **_):
    """Exact: x * Phi(x)."""
    x = _f(x)
    xs = _safe(x)
    return _with_limits(x, xs * normcdf(xs), 0.0, np.inf)


def d_gelu(x, **_):
    x = _f(x)
    xs = _safe(x)
    return _with_limits(x, normcdf(xs) + xs * normpdf(xs), 0.0, 1.0)


def gelu_approx(x, **_):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _f(x)
    xs = np.clip(_safe(x), -1e3, 1e3)  # saturated far before +-1e3
    u = SQRT_2_OVER_PI * (xs + GELU_C * xs**3)
    y = np.where(xs >= 0, 0.5 * xs * (1.0 + np.tanh(u)), xs * sigmoid(2.0 * u))  # no cancellation
    y = np.where(np.abs(_safe(x)) > 1e3, np.where(x > 0, x, 0.0), y)
    return _with_limits(x, y, 0.0, np.inf)


def d_gelu_approx(x, **_):
    x = _f(x)
    xs = np.clip(_safe(x), -1e3, 1e3)
    u = SQRT_2_OVER_PI * (xs + GELU_C * xs**3)
    du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * xs**2)
    s = sigmoid(2.0 * u)
    d = s + xs * 2.0 * du * s * (1.0 - s)
    d = np.where(np.abs(_safe(x)) > 1e3, np.where(x > 0, 1.0, 0.0), d)
    return _with_limits(x, d, 0.0, 1.0)


def d_sigmoid(x, **_):
    s = sigmoid(x)
    return s * (1.0 - s)


def hard_sigmoid(x, **_):
    """Keras 3: relu6(x + 3) / 6."""
    return np.clip(_f(x) + 3.0, 0.0, 6.0) / 6.0


def d_hard_sigmoid(x, **_):
    x = _f(x)
    return np.where(np.isnan(x), np.nan, np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0))


def hard_silu(x, **_):
    x = _f(x)
    xs = _safe(x)
    return _with_limits(x, xs * np.clip(xs + 3.0, 0.0, 6.0) / 6.0, 0.0, np.inf)


def d_hard_silu(x, **_):
    x = _f(x)
    d = np.where(x >= 3, 1.0, np.where(x > -3, (2.0 * x + 3.0) / 6.0, 0.0))
    return np.where(np.isnan(x), np.nan, d)


def tanh(x, **_):
    return np.tanh(_f(x))


def d_tanh(x, **_):
    t = np.tanh(_f(x))
    return 1.0 - t * t


def d_softplus(x, **_):
    return sigmoid(x)


def softsign(x, **_):
    x = _f(x)
    xs = _safe(x)
    return _with_limits(x, xs / (1.0 + np.abs(xs)), -1.0, 1.0)


def d_softsign(x, **_):
    x = _f(x)
    with np.errstate(over="ignore"):
        a = 1.0 + np.abs(x)
        return 1.0 / (a * a)


def silu(x, **_):
    x = _f(x)
    xs = _safe(x)
    return _with_limits(x, xs * sigmoid(xs), 0.0, np.inf)


def d_silu(x, **_):
    x = _f(x)
    xs = _safe(x)
    s = sigmoid(xs)
    return _with_limits(x, s * (1.0 + xs * (1.0 - s)), 0.0, 1.0)


def mish(x, **_):
    x = _f(x)
    xs = _safe(x)
    return _with_limits(x, xs * np.tanh(softplus(xs)), 0.0, np.inf)


def d_mish(x, **_):
    x = _f(x)
    xs = _safe(x)
    t = np.tanh(softplus(xs))
    return _with_limits(x, t + xs * sigmoid(xs) * (1.0 - t * t), 0.0, 1.0)


def exponential(x, **_):
    with np.errstate(over="ignore"):
        return np.exp(_f(x))


def d_exponential(x, **_):
    return exponential(x)


def log_sigmoid(x, **_):
    return -softplus(-_f(x))


def d_log_sigmoid(x, **_):
    return sigmoid(-_f(x))


def hard_tanh(x, **_):
    """Keras 3 / JAX: where(x > 1, 1, where(x < -1, -1, x))."""
    return np.clip(_f(x), -1.0, 1.0)


def d_hard_tanh(x, **_):
    x = _f(x)
    return np.where(np.isnan(x), np.nan, ((x >= -1) & (x <= 1)).astype(np.float64))


def soft_shrink(x, threshold=0.5, **_):
    """Keras 3: x - t if x > t, x + t if x < -t, else 0 (NaN kept: ranvier's rule). t is
    the float32 threshold, as float32 tensors compare against it in Keras too."""
    x, t = _f(x), float(np.float32(threshold))
    return np.where(np.isnan(x), np.nan, np.where(x > t, x - t, np.where(x < -t, x + t, 0.0)))


def d_soft_shrink(x, threshold=0.5, **_):
    x, t = _f(x), float(np.float32(threshold))
    return np.where(np.isnan(x), np.nan, ((x > t) | (x < -t)).astype(np.float64))


ACTIVATIONS = {
    "linear": (linear, d_linear),
    "relu": (relu, d_relu),
    "leaky_relu": (leaky_relu, d_leaky_relu),
    "relu6": (relu6, d_relu6),
    "elu": (elu, d_elu),
    "selu": (selu, d_selu),
    "celu": (celu, d_celu),
    "gelu": (gelu, d_gelu),
    "gelu_approx": (gelu_approx, d_gelu_approx),
    "sigmoid": (lambda x, **_: sigmoid(x), d_sigmoid),
    "hard_sigmoid": (hard_sigmoid, d_hard_sigmoid),
    "hard_silu": (hard_silu, d_hard_silu),
    "tanh": (tanh, d_tanh),
    "softplus": (lambda x, **_: softplus(x), d_softplus),
    "softsign": (softsign, d_softsign),
    "silu": (silu, d_silu),
    "mish": (mish, d_mish),
    "exponential": (exponential, d_exponential),
    "hard_tanh": (hard_tanh, d_hard_tanh),
    "soft_shrink": (soft_shrink, d_soft_shrink),
    "log_sigmoid": (log_sigmoid, d_log_sigmoid),
}

# Where the kernel forms the derivative from the output y = f(x): d(derivative)/dy.
# A rounding of y by one ulp moves the derivative by this times ulp(y) (tests use it
# to size their tolerance; Keras/TF/JAX compute these derivatives from y the same way).
DERIVATIVE_FROM_OUTPUT = {
    "sigmoid": lambda y, **_: 1.0 - 2.0 * y,
    "tanh": lambda y, **_: -2.0 * y,
    "exponential": lambda y, **_: np.ones_like(y),
    "elu": lambda y, **_: np.ones_like(y),
    "selu": lambda y, **_: np.ones_like(y),
    "celu": lambda y, alpha=1.0, **_: np.full_like(y, 1.0 / alpha),
}


# ---- row-wise kinds (along the last axis) --------------------------------------------
def softmax(x):
    x = _f(x)
    m = np.max(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.exp(x - m)
        return e / np.sum(e, axis=-1, keepdims=True)


def softmax_backward(y, dy):
    """Vector-Jacobian product: y * (dy - sum(dy * y))."""
    y, dy = _f(y), _f(dy)
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


def log_softmax(x):
    x = _f(x)
    m = np.max(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        s = x - m
        return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))


def log_softmax_backward(y, dy):
    """dy - softmax * sum(dy), softmax = exp(y)."""
    y, dy = _f(y), _f(dy)
    return dy - np.exp(y) * np.sum(dy, axis=-1, keepdims=True)


def central_difference(f, x, h=1e-6, **params):
    """(f(x + h') - f(x - h')) / (2h'), h' = h * max(1, |x|), in float64."""
    x = _f(x)
    hh = h * np.maximum(1.0, np.abs(x))
    return (f(x + hh, **params) - f(x - hh, **params)) / (2.0 * hh)
