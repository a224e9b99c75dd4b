"""Activations: C++ kernels (every ISA) against the float64 NumPy reference, Keras's
check values, the Python facade (ranvier.activations) and its contracts.

Tolerances (float32 kernel vs float64 reference), documented once here:
- elementwise forward: |y - f(x)| <= RTOL * (|f(x)| + |x f'(x)|) + FLT_MIN, RTOL = 1e-6
  (about 8 float32 ulp). The |x f'(x)| term is the function's own condition: a float32
  evaluation may behave as if x were perturbed by a few ulp (e.g. x^3 inside gelu_approx).
  It is used only for the smooth kinds; the piecewise-linear ones must be within
  RTOL * |f(x)| (their only roundings are the products). FLT_MIN: results below the
  normal range are flushed to zero (FTZ).
- elementwise backward: |dx - dy f'(x)| <= RTOL |dy| (|f'(x)| + |x f''(x)| + |y dg/dy|) + FLT_MIN,
  where the last term applies where the kernel forms f' from the output y = f(x) (as
  Keras/TF/JAX do for sigmoid, tanh, exp, elu): one ulp of y moves f' by dg/dy * ulp(y).
- row-wise (softmax/log_softmax): RTOL plus the sum's rounding bound, 6e-8 * cols relative.
- absolute floor FLT_MIN * max(1, |x|): flush-to-zero is on in the kernels, so a product
  x * g(x) whose factor g underflows the normal range (silu near x = -88) is 0.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import ranvier
from ranvier import _core
from ranvier import activations as A
from reference import activations as R

RTOL = 1e-6
FLT_MIN = float(np.finfo(np.float32).tiny)
KIND = {name: i for i, name in enumerate(_core.activation_kind_names())}

# (kind, params) cases; params are the C++ ActParams fields.
CASES = [
    ("linear", {}),
    ("relu", {}),
    ("relu", {"negative_slope": 0.5}),
    ("relu", {"max_value": 5.0}),
    ("relu", {"threshold": 5.0}),
    ("relu", {"negative_slope": 0.5, "max_value": 5.0, "threshold": 5.0}),
    ("relu", {"threshold": -1.0}),
    ("relu", {"negative_slope": 0.1, "threshold": -2.0, "max_value": 3.0}),
    ("relu", {"max_value": 6.0, "threshold": 1.0}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("leaky_relu", {"negative_slope": 0.3}),
    ("relu6", {}),
    ("elu", {"alpha": 1.0}),
    ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("celu", {"alpha": 1.0}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {}),
    ("gelu_approx", {}),
    ("sigmoid", {}),
    ("hard_sigmoid", {}),
    ("hard_silu", {}),
    ("tanh", {}),
    ("softplus", {}),
    ("softsign", {}),
    ("silu", {}),
    ("mish", {}),
    ("exponential", {}),
    ("log_sigmoid", {}),
    ("hard_tanh", {}),
    ("soft_shrink", {"threshold": 0.5}),
    ("soft_shrink", {"threshold": 0.3}),
    ("soft_shrink", {"threshold": 2.0}),
    ("soft_shrink", {"threshold": 0.0}),
]
PIECEWISE_LINEAR = {"linear", "relu", "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "hard_tanh"}
CASE_IDS = [k + ("-" + "-".join(f"{a}={b}" for a, b in p.items()) if p else "") for k, p in CASES]

SPECIALS = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-5, -1e-5, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0,
     3.0, -3.0, 5.0, -5.0, 6.0, -6.0, 10.0, -10.0, 15.0, -15.0, 20.0, -20.0, 30.0, -30.0, 87.0, -87.0,
     88.5, -88.5, 89.0, -89.0, 100.0, -100.0, 1e4, -1e4, 1e30, -1e30, 3e38, -3e38], dtype=np.float32)


def inputs(rng, n=4000):
    dense = np.linspace(-40, 40, 8001, dtype=np.float32)
    normal = (rng.standard_normal(n) * 4).astype(np.float32)
    mags = (np.exp(rng.uniform(-20, 20, n)) * rng.choice([-1, 1], n)).astype(np.float32)
    return np.concatenate([SPECIALS, dense, normal, mags])


def check(got, ref, tol, what):
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    with np.errstate(over="ignore"):  # beyond float32's range the right answer is +-inf
        ref = np.where(np.abs(ref) > np.finfo(np.float32).max, ref.astype(np.float32), ref)
    assert got.shape == ref.shape, what
    nan_g, nan_r = np.isnan(got), np.isnan(ref)
    assert np.array_equal(nan_g, nan_r), f"{what}: NaN at {np.flatnonzero(nan_g != nan_r)[:5]}"
    inf_r = np.isinf(ref)
    assert np.array_equal(got[inf_r], ref[inf_r]), f"{what}: infinities differ"
    ok = ~nan_r & ~inf_r
    err = np.abs(got[ok] - ref[ok])
    t = np.broadcast_to(tol, ref.shape)[ok]
    bad = err > t
    if bad.any():
        i = np.argmax(err - t)
        raise AssertionError(f"{what}: {bad.sum()} values out of tolerance; worst at flat index "
                             f"{np.flatnonzero(ok)[i]}: got {got[ok][i]!r}, want {ref[ok][i]!r}, "
                             f"tol {t[i]:.3g}")


def cond(f, x, **p):
    """|x f'(x)| of a float64 function, by a central difference; 0 at infinities."""
    x = np.asarray(x, np.float64)
    xs = np.where(np.isfinite(x), x, 1.0)
    with np.errstate(all="ignore"):
        c = np.abs(R.central_difference(f, xs, h=1e-6, **p) * xs)
    return np.where(np.isfinite(x) & np.isfinite(c), c, 0.0)


def forward(kind, x, **p):
    return _core.activation_forward(KIND[kind], np.ascontiguousarray(x, np.float32), **p)


def backward(kind, x, y, dy, **p):
    need_x, need_y = _core.activation_backward_needs(KIND[kind], **p)
    return _core.activation_backward(KIND[kind], x if need_x else None, y if need_y else None, dy, **p)


def dy_times_derivative(kind, x, dy, p):
    """dy * f'(x) in float64; where f'(x) itself exceeds float32's range (exp near 89) a
    float32 kernel can only return +-inf, so that is the reference there."""
    _, df = R.ACTIVATIONS[kind]
    d = df(np.asarray(x, np.float64), **p)
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(d) > np.finfo(np.float32).max, np.sign(dy) * np.sign(d) * np.inf,
                        np.asarray(dy, np.float64) * d)


def fwd_tol(kind, x, ref, p):
    f, _ = R.ACTIVATIONS[kind]
    t = np.abs(np.nan_to_num(ref, posinf=0, neginf=0))
    if kind not in PIECEWISE_LINEAR:
        t = t + cond(f, x, **p)
    return RTOL * t + ftz_floor(x)


def ftz_floor(x):
    return FLT_MIN * np.maximum(1.0, np.nan_to_num(np.abs(np.asarray(x, np.float64)), posinf=1.0))


def bwd_tol(kind, x, y, dy, p):
    _, df = R.ACTIVATIONS[kind]
    t = np.abs(np.nan_to_num(df(np.asarray(x, np.float64), **p)))
    if kind not in PIECEWISE_LINEAR:
        t = t + cond(df, x, **p)
    if kind in R.DERIVATIVE_FROM_OUTPUT:
        yy = np.nan_to_num(np.asarray(y, np.float64), posinf=0, neginf=0)
        t = t + np.abs(R.DERIVATIVE_FROM_OUTPUT[kind](yy, **p) * yy)
    return RTOL * t * np.abs(dy) + ftz_floor(x) * np.maximum(1.0, np.abs(dy))


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("kind,params", CASES, ids=CASE_IDS)
def test_forward_matches_reference(isa, rng, kind, params):
    x = inputs(rng)
    f, _ = R.ACTIVATIONS[kind]
    ref = f(x.astype(np.float64), **params)
    check(forward(kind, x, **params), ref, fwd_tol(kind, x, ref, params), f"{kind}{params} forward [{isa}]")


@pytest.mark.parametrize("kind,params", CASES, ids=CASE_IDS)
def test_backward_matches_reference(isa, rng, kind, params):
    x = inputs(rng)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y = forward(kind, x, **params)
    dref = dy_times_derivative(kind, x, dy, params)
    got = backward(kind, x, y, dy, **params)
    check(got, dref, bwd_tol(kind, x, y, dy, params), f"{kind}{params} backward [{isa}]")


@pytest.mark.parametrize("kind,params", CASES, ids=CASE_IDS)
def test_reference_derivative_matches_finite_differences(rng, kind, params):
    """The reference's analytic derivative against central differences of its forward
    (float64, h = 1e-6 relative; points within 1e-3 of a kink are skipped)."""
    f, df = R.ACTIVATIONS[kind]
    x = np.concatenate([rng.standard_normal(2000) * 4, np.linspace(-12, 12, 2001)])
    kinks = np.array([0.0, 1.0, -1.0, 3.0, -3.0, 6.0, params.get("threshold", 0.0), -params.get("threshold", 0.0),
                      params.get("max_value", 0.0)])
    x = x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > 1e-3]
    fd = R.central_difference(f, x, h=1e-6, **params)
    an = df(x, **params)
    # truncation O(h^2 f''') + cancellation O(eps |f| / h): 1e-6 relative to |f'| + |f| + 1
    np.testing.assert_allclose(fd, an, rtol=1e-6, atol=1e-6 * (1 + np.abs(f(x, **params))).max())


def test_softmax_reference_backward_matches_finite_differences(rng):
    x = rng.standard_normal((3, 7)) * 3
    dy = rng.standard_normal((3, 7))
    for fwd, bwd in ((R.softmax, R.softmax_backward), (R.log_softmax, R.log_softmax_backward)):
        an = bwd(fwd(x), dy)
        fd = np.zeros_like(x)
        h = 1e-6
        for idx in np.ndindex(*x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            fd[idx] = np.sum(dy * (fwd(xp) - fwd(xm))) / (2 * h)
        np.testing.assert_allclose(fd, an, rtol=1e-6, atol=1e-8)


SHAPES = [(1, 1), (1, 7), (3, 1), (5, 8), (7, 17), (16, 33), (64, 64), (257, 1031)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kind,params", [c for c in CASES if c[0] in (
    "relu", "gelu", "gelu_approx", "sigmoid", "tanh", "silu", "mish", "softplus", "elu")][:10])
def test_shapes(isa, rng, shape, kind, params):
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    f, df = R.ACTIVATIONS[kind]
    ref = f(x.astype(np.float64), **params)
    y = forward(kind, x, **params)
    assert y.shape == shape
    check(y, ref, fwd_tol(kind, x, ref, params), f"{kind} {shape}")
    dref = dy_times_derivative(kind, x, dy, params)
    check(backward(kind, x, y, dy, **params), dref, bwd_tol(kind, x, y, dy, params), f"{kind}' {shape}")


def test_in_place_and_aliasing(isa, rng):
    x = (rng.standard_normal((33, 17)) * 3).astype(np.float32)
    for kind, params in CASES:
        y = forward(kind, x, **params)
        z = x.copy()
        _core.activation_forward(KIND[kind], z, out=z, **params)
        np.testing.assert_array_equal(z, y, err_msg=kind)
        dy = rng.standard_normal(x.shape).astype(np.float32)
        dx = backward(kind, x, y, dy, **params)
        need_x, need_y = _core.activation_backward_needs(KIND[kind], **params)
        g = dy.copy()
        _core.activation_backward(KIND[kind], x if need_x else None, y if need_y else None, g, out=g, **params)
        np.testing.assert_array_equal(g, dx, err_msg=kind)


def test_results_do_not_depend_on_thread_count(rng):
    x = (rng.standard_normal((257, 1031)) * 4).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    before = ranvier.get_num_threads()
    try:
        outs = []
        for nt in (1, 2, 3):
            ranvier.set_num_threads(nt)
            outs.append([forward(k, x, **p) for k, p in CASES] + [forward("softmax", x), forward("log_softmax", x)]
                        + [backward(k, x, forward(k, x, **p), dy, **p) for k, p in CASES])
        for o in outs[1:]:
            for a, b in zip(outs[0], o):
                np.testing.assert_array_equal(a, b)
    finally:
        ranvier.set_num_threads(0 if before == ranvier.get_num_threads() else before)


def test_backward_needs_contract():
    # what the layers rely on: which of x / y each backward reads
    assert _core.activation_backward_needs(KIND["linear"]) == (False, False)
    assert _core.activation_backward_needs(KIND["relu"]) == (False, True)
    assert _core.activation_backward_needs(KIND["relu"], negative_slope=0.1) == (True, False)
    assert _core.activation_backward_needs(KIND["relu"], threshold=-1.0) == (True, False)
    for k in ("sigmoid", "tanh", "exponential", "softmax", "log_softmax", "relu6"):
        assert _core.activation_backward_needs(KIND[k]) == (False, True), k
    for k in ("elu", "selu", "celu"):
        assert _core.activation_backward_needs(KIND[k]) == (True, True), k
    for k in ("gelu", "gelu_approx", "silu", "mish", "softplus", "softsign", "hard_sigmoid", "hard_silu",
              "leaky_relu", "log_sigmoid"):
        assert _core.activation_backward_needs(KIND[k]) == (True, False), k
    with pytest.raises(ValueError, match="needs the forward pass"):
        _core.activation_backward(KIND["gelu"], None, None, np.ones(3, np.float32))


# ----------------------------------------------------------------------------- softmax
def softmax_inputs(rng, cols):
    rows = [rng.standard_normal(cols) * 3,
            rng.standard_normal(cols) * 3 + 1e4,          # large common offset
            rng.standard_normal(cols) * 30,               # wide spread
            np.zeros(cols),
            np.where(np.arange(cols) % 3 == 0, -np.inf, rng.standard_normal(cols))]  # masked entries
    if cols == 1:
        rows[-1] = np.array([0.5])
    return np.asarray(rows, dtype=np.float32)


@pytest.mark.parametrize("cols", [1, 2, 7, 8, 9, 16, 17, 33, 100, 1031])
def test_softmax_and_log_softmax(isa, rng, cols):
    x = softmax_inputs(rng, cols)
    x64 = x.astype(np.float64)
    m = np.max(x64, axis=-1, keepdims=True)
    rsum = 6e-8 * cols  # relative rounding bound of the row sums
    ys = forward("softmax", x)
    ref = R.softmax(x64)
    with np.errstate(invalid="ignore"):
        spread = np.nan_to_num(np.abs(x64 - m), posinf=0)
    check(ys, ref, (RTOL + rsum) * ref * (1 + spread) + FLT_MIN, f"softmax cols={cols}")
    np.testing.assert_allclose(ys.astype(np.float64).sum(axis=1), 1.0, rtol=2 * (RTOL + rsum))

    yl = forward("log_softmax", x)
    refl = R.log_softmax(x64)
    lse = np.log(np.sum(np.exp(x64 - m), axis=-1, keepdims=True))
    check(yl, refl, RTOL * (spread + lse + 1) + rsum, f"log_softmax cols={cols}")

    dy = rng.standard_normal(x.shape).astype(np.float32)
    dref = R.softmax_backward(ys, dy)  # the vjp at the kernel's own output
    tol = (RTOL + rsum) * (np.abs(ys) * (np.abs(dy) + np.sum(np.abs(dy * ys), axis=1, keepdims=True))) + FLT_MIN
    check(backward("softmax", x, ys, dy), dref, tol, f"softmax' cols={cols}")
    drefl = R.log_softmax_backward(yl, dy)
    finite = np.where(np.isfinite(yl), yl, -np.inf)
    tol = (RTOL + rsum) * (np.abs(dy) + np.exp(finite) * np.sum(np.abs(dy), axis=1, keepdims=True)
                           * (1 + np.abs(np.nan_to_num(finite, neginf=0)))) + FLT_MIN
    check(backward("log_softmax", x, yl, dy), drefl, tol, f"log_softmax' cols={cols}")


def test_softmax_special_rows(isa):
    x = np.array([[1.0, np.nan, 2.0], [np.inf, 1.0, 2.0], [-np.inf, -np.inf, 0.0], [1e30, -1e30, 0.0]],
                 dtype=np.float32)
    y = forward("softmax", x)
    assert np.isnan(y[0]).all()          # NaN in a row -> NaN row
    assert np.isnan(y[1]).all()          # +inf - max(+inf) is NaN, as Keras/JAX
    np.testing.assert_array_equal(y[2], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(y[3], [1.0, 0.0, 0.0])
    yl = forward("log_softmax", x)
    np.testing.assert_array_equal(yl[2], [-np.inf, -np.inf, 0.0])
    assert yl[3, 0] == 0.0 and yl[3, 1] == np.float32(-2e30)


def test_softmax_rank1_and_axis():
    v = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_allclose(A.softmax(v), R.softmax(v.astype(np.float64)), rtol=1e-6)
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    for axis in (0, 1, 2, -1, -2):
        ref = np.moveaxis(R.softmax(np.moveaxis(x.astype(np.float64), axis, -1)), -1, axis)
        np.testing.assert_allclose(A.softmax(x, axis=axis), ref, rtol=2e-6)
        refl = np.moveaxis(R.log_softmax(np.moveaxis(x.astype(np.float64), axis, -1)), -1, axis)
        np.testing.assert_allclose(A.log_softmax(x, axis=axis), refl, rtol=2e-6, atol=1e-6)
    with pytest.raises(ValueError, match="axis=3"):
        A.softmax(x, axis=3)


# ----------------------------------------------------------------------------- Keras check values
def test_keras_relu_examples():
    x = np.array([-10, -5, 0, 5, 10], np.float32)
    np.testing.assert_array_equal(A.relu(x, negative_slope=0.5), [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(A.relu(x, max_value=5), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(A.relu(x, threshold=5), [0, 0, 0, 0, 10])
    np.testing.assert_array_equal(A.relu(x, negative_slope=0.5, max_value=5, threshold=5), [-7.5, -5, -2.5, 0, 5])
    np.testing.assert_array_equal(A.relu(x), [0, 0, 0, 5, 10])


def test_keras_defaults_and_values():
    x = np.array([-10.0, -3.0, -1.0, 0.0, 1.0, 2.5, 3.0], np.float32)
    np.testing.assert_allclose(A.leaky_relu(x), np.where(x >= 0, x, 0.2 * x))  # function default 0.2
    # Keras 3 hard_sigmoid: relu6(x + 3) / 6 (tf.keras 2 used 0.2x + 0.5)
    np.testing.assert_allclose(A.hard_sigmoid(x), [0, 0, 1 / 3, 0.5, 2 / 3, 5.5 / 6, 1], rtol=1e-7)
    np.testing.assert_allclose(A.hard_silu(x), x * np.clip(x + 3, 0, 6) / 6, rtol=1e-7)
    # gelu: exact by default; approximate=True the tanh form
    np.testing.assert_allclose(A.gelu(np.float32(1.0)), 0.8413447460685429, rtol=1e-7)
    np.testing.assert_allclose(A.gelu(np.float32(1.0), approximate=True), 0.8411919906082768, rtol=1e-7)
    np.testing.assert_allclose(A.gelu(np.float32(-1.0)), -0.15865525393145707, rtol=1e-6)
    np.testing.assert_allclose(A.selu(np.array([1.0, -1.0], np.float32)),
                               [1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * (math.exp(-1) - 1)],
                               rtol=1e-7)
    np.testing.assert_allclose(A.elu(np.float32(-1.0), alpha=2.0), 2 * (math.exp(-1) - 1), rtol=1e-7)
    np.testing.assert_allclose(A.celu(np.float32(-1.0), alpha=2.0), 2 * math.expm1(-0.5), rtol=1e-7)
    np.testing.assert_allclose(A.softplus(np.float32(0.0)), math.log(2), rtol=1e-7)
    np.testing.assert_allclose(A.log_sigmoid(np.float32(0.0)), -math.log(2), rtol=1e-7)
    np.testing.assert_allclose(A.mish(np.float32(1.0)), math.tanh(math.log1p(math.e)), rtol=1e-6)
    assert A.sigmoid(np.float32(-100.0)) == 0.0 and A.sigmoid(np.float32(100.0)) == 1.0


def test_saturation_and_nan():
    big = np.array([np.inf, -np.inf, 1e30, -1e30, np.nan], np.float32)
    np.testing.assert_array_equal(A.tanh(big)[:4], [1, -1, 1, -1])
    np.testing.assert_array_equal(A.sigmoid(big)[:4], [1, 0, 1, 0])
    np.testing.assert_array_equal(A.exponential(big)[:4], [np.inf, 0, np.inf, 0])
    np.testing.assert_array_equal(A.softsign(big)[:4], [1, -1, 1, -1])
    for fn in (A.gelu, A.silu, A.mish, A.hard_silu, functools.partial(A.gelu, approximate=True)):
        y = fn(big)
        assert y[0] == np.inf and y[1] == 0.0 and y[2] == np.float32(1e30) and y[3] == 0.0
    for name in A.KIND_NAMES:
        y = getattr(A, name if name != "gelu_approx" else "gelu")(big)
        assert np.isnan(y[-1]), name


# ----------------------------------------------------------------------------- facade
def test_input_validation():
    with pytest.raises(TypeError, match=r"relu: x must be a floating-point array.*int64"):
        A.relu(np.arange(3))
    with pytest.raises(TypeError, match="complex"):
        A.sigmoid(np.ones(2, np.complex64))
    with pytest.raises(TypeError, match="object"):
        A.tanh(np.array([1.0, None], dtype=object))
    with pytest.raises(TypeError, match="bool"):
        A.tanh(np.array([True]))
    with pytest.raises(TypeError, match="x must be"):
        A.tanh("1.0")
    with pytest.raises(TypeError, match="negative_slope"):
        A.relu(np.ones(2), negative_slope="0.1")
    with pytest.raises(TypeError, match="approximate"):
        A.gelu(np.ones(2), approximate=1)
    with pytest.raises(ValueError, match="alpha"):
        A.celu(np.ones(2), alpha=0.0)


def test_float64_is_converted_and_results_are_float32():
    x = np.array([[0.5, -1.25], [3.0, 1e300]])
    y = A.tanh(x)
    assert y.dtype == np.float32 and y.shape == (2, 2)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(y, A.tanh(x.astype(np.float32)))
    assert A.relu(np.float16(2.0)).dtype == np.float32
    assert A.relu([1.0, -2.0]).tolist() == [1.0, 0.0]
    assert A.sigmoid(np.float64(0.0)).shape == ()
    assert A.relu(np.zeros((0, 3))).shape == (0, 3)
    xt = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(A.softmax(xt), A.softmax(np.ascontiguousarray(xt)))


def test_get_resolution():
    assert A.get(None) is A.linear
    assert A.get("relu") is A.relu
    assert A.get("swish") is A.silu and A.swish is A.silu
    assert A.get("hard_swish") is A.hard_silu and A.hard_swish is A.hard_silu
    fn = lambda v: v  # noqa: E731
    assert A.get(fn) is fn
    assert A.get({"class_name": "function", "config": "gelu", "module": "keras.activations"}) is A.gelu
    with pytest.raises(ValueError, match=r"Could not interpret.*'Relu'.*valid names are: .*relu"):
        A.get("Relu")
    with pytest.raises(ValueError, match="Could not interpret"):
        A.get(42)


def test_serialize_roundtrip():
    for name in ("relu", "gelu", "silu", "softmax", "hard_silu", "linear", "squareplus"):
        assert A.serialize(A.get(name)) == name
        assert A.deserialize(A.serialize(A.get(name))) is A.get(name)
    assert A.serialize(A.swish) == "silu"
    p = functools.partial(A.relu, max_value=6.0)
    assert A.core_spec(A.deserialize(A.serialize(p))) == A.core_spec(p)
    with pytest.raises(ValueError, match="cannot be serialized"):
        A.serialize(lambda v: v)


def test_core_spec_contract():
    inf = math.inf
    base = {"negative_slope": 0.0, "max_value": inf, "threshold": 0.0, "alpha": 1.0}
    assert A.core_spec(None) == ("linear", base)
    assert A.core_spec("relu") == ("relu", base)
    assert A.core_spec(A.relu) == ("relu", base)
    assert A.core_spec("leaky_relu") == ("leaky_relu", dict(base, negative_slope=0.2))
    assert A.core_spec("gelu") == ("gelu", base)
    assert A.core_spec(functools.partial(A.gelu, approximate=True)) == ("gelu_approx", base)
    assert A.core_spec(functools.partial(A.relu, max_value=6, negative_slope=0.1)) == (
        "relu", dict(base, max_value=6.0, negative_slope=0.1))
    assert A.core_spec(functools.partial(A.elu, alpha=0.5)) == ("elu", dict(base, alpha=0.5))
    assert A.core_spec("swish") == ("silu", base)
    assert A.core_spec("hard_swish") == ("hard_silu", base)
    for name in A.KIND_NAMES:
        if name != "gelu_approx":
            assert A.core_spec(name)[0] == name
            assert A.core_kind(name) == KIND[name]
    with pytest.raises(ValueError, match="no C.. kernel"):
        A.core_spec(lambda v: v)
    with pytest.raises(ValueError, match="no C.. kernel"):
        A.core_spec("squareplus")
    with pytest.raises(ValueError, match="axis"):
        A.core_spec(functools.partial(A.softmax, axis=0))
    with pytest.raises(ValueError, match="Could not interpret"):
        A.core_spec("nope")


def test_numpy_only_extras():
    x = np.array([-2.0, -0.75, -0.25, 0.0, 0.25, 0.75, 2.0], np.float32)
    np.testing.assert_allclose(A.squareplus(x), (x + np.sqrt(x * x + 4)) / 2, rtol=1e-6)
    np.testing.assert_allclose(A.hard_tanh(x), np.clip(x, -1, 1))
    np.testing.assert_allclose(A.soft_shrink(x), [-1.5, -0.25, 0, 0, 0, 0.25, 1.5])
    np.testing.assert_allclose(A.hard_shrink(x), [-2, -0.75, 0, 0, 0, 0.75, 2])
    np.testing.assert_allclose(A.threshold(x, 0.5, -1.0), [-1, -1, -1, -1, -1, 0.75, 2])
    np.testing.assert_allclose(A.sparse_plus(x), [0, 0.015625, 0.140625, 0.25, 0.390625, 0.765625, 2])
    np.testing.assert_allclose(A.glu(np.array([1.0, 2.0, 0.0, 0.0], np.float32)), [0.5, 1.0])
    np.testing.assert_allclose(A.sparsemax(np.array([1.0, 0.5, -1.0], np.float32)), [0.75, 0.25, 0.0])
