"""Losses: C++ kernels (every ISA) against the float64 NumPy reference (values and
gradients), the fused activation+loss gradients, Keras's check values, the reduction /
sample_weight pipeline of ranvier.losses, and its registry and errors.

Tolerances (float32 kernel vs float64 reference), documented once here:
- values: |l - ref| <= RTOL_k (|ref| + M) + ATOL, RTOL_k = 1e-6 + 6e-8 k: a few ulp per
  element plus the worst-case rounding of a float32 sum of k terms; M = the same reduction
  of the terms' absolute values (so cancelling terms, e.g. in poisson, are covered);
  ATOL = 4 ulp(1) * sum(y) for the categorical cross-entropies, whose terms take the log
  of the rounded ratio p / sum(p).
- gradients: |g - ref| <= RTOL_k (|ref| + row max |ref| for the row-coupled losses) + COND,
  COND covering a difference of two logs (msle) and the clipped-ratio logs as above.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import ranvier
from ranvier import _core
from ranvier import losses as L
from reference import losses as RL

U = 6e-8  # float32 unit roundoff
FLT_MIN = float(np.finfo(np.float32).tiny)
KIND = {name: i for i, name in enumerate(_core.loss_kind_names())}
ROW_COUPLED = {"categorical_crossentropy", "sparse_categorical_crossentropy", "categorical_hinge",
               "cosine_similarity", "categorical_focal_crossentropy"}

CASES = [
    ("mean_squared_error", {}),
    ("mean_absolute_error", {}),
    ("mean_absolute_percentage_error", {}),
    ("mean_squared_logarithmic_error", {}),
    ("binary_crossentropy", {}),
    ("binary_crossentropy", {"label_smoothing": 0.1}),
    ("binary_crossentropy", {"from_logits": True}),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.2}),
    ("categorical_crossentropy", {}),
    ("categorical_crossentropy", {"label_smoothing": 0.1}),
    ("categorical_crossentropy", {"from_logits": True}),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.3}),
    ("sparse_categorical_crossentropy", {}),
    ("sparse_categorical_crossentropy", {"from_logits": True}),
    ("binary_focal_crossentropy", {}),
    ("binary_focal_crossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0}),
    ("binary_focal_crossentropy", {"gamma": 1.5, "label_smoothing": 0.1}),
    ("binary_focal_crossentropy", {"gamma": 0.0}),
    ("binary_focal_crossentropy", {"from_logits": True, "gamma": 1.0}),
    ("hinge", {}),
    ("squared_hinge", {}),
    ("categorical_hinge", {}),
    ("huber", {}),
    ("huber", {"delta": 0.3}),
    ("log_cosh", {}),
    ("kl_divergence", {}),
    ("poisson", {}),
    ("cosine_similarity", {}),
    ("categorical_focal_crossentropy", {}),
    ("categorical_focal_crossentropy", {"alpha": 0.5, "gamma": 0.0}),
    ("categorical_focal_crossentropy", {"gamma": 1.5, "label_smoothing": 0.1}),
    ("categorical_focal_crossentropy", {"from_logits": True}),
    ("categorical_focal_crossentropy", {"from_logits": True, "gamma": 3.0, "alpha": 1.0, "label_smoothing": 0.2}),
]
IDS = [k + ("-" + "-".join(f"{a}={b}" for a, b in p.items()) if p else "") for k, p in CASES]
SHAPES = [(1, 1), (3, 1), (17, 1), (1, 7), (5, 8), (7, 17), (33, 10), (257, 1031)]


def make_inputs(name, params, n, k, rng, variant=0):
    """(y_true, y_pred) float32 for a loss, with edge values mixed in."""
    logits = params.get("from_logits", False)
    if name in ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error", "huber",
                "log_cosh", "cosine_similarity"):
        y = rng.standard_normal((n, k)) * 3
        p = rng.standard_normal((n, k)) * 3
        p.flat[::7] = y.flat[::7]            # exact equality: sign(0), kinks
        y.flat[3::11] = 0.0                  # mape's max(|y|, eps)
        if name == "log_cosh":
            p.flat[5::13] = y.flat[5::13] + rng.choice([-60.0, 60.0])
        if name == "cosine_similarity" and n > 2:
            p[1] = 0.0                       # norm floored at eps
            y[2] = 0.0
    elif name == "mean_squared_logarithmic_error":
        y = rng.uniform(0, 10, (n, k))
        p = rng.uniform(-1, 10, (n, k))
        p.flat[::9] = 0.0
    elif name == "poisson":
        y = rng.poisson(3.0, (n, k)).astype(np.float64)
        p = rng.uniform(0.01, 6, (n, k))
    elif name == "kl_divergence":
        y = rng.dirichlet(np.ones(k), n) if k > 1 else rng.uniform(0, 1, (n, 1))
        p = rng.dirichlet(np.ones(k), n) if k > 1 else rng.uniform(0, 1, (n, 1))
        y.flat[::5] = 0.0
        p.flat[2::7] = 1.5
    elif name in ("binary_crossentropy", "binary_focal_crossentropy"):
        y = rng.integers(0, 2, (n, k)).astype(np.float64)
        if variant == 1:
            y = rng.uniform(0, 1, (n, k))
        if logits:
            p = rng.standard_normal((n, k)) * 5
            p.flat[::11] = 60.0
            p.flat[1::13] = -1e4
        else:
            p = rng.uniform(0, 1, (n, k))
            edge = np.array([0.0, 1.0, 1e-8, 1 - 1e-8, 1e-7, float(np.float32(1) - np.float32(1e-7)), 0.5])
            p.flat[::5] = edge[np.arange(p.flat[::5].size) % edge.size]
    elif name in ("categorical_crossentropy", "sparse_categorical_crossentropy", "categorical_hinge",
                  "categorical_focal_crossentropy"):
        lab = rng.integers(0, k, n)
        y = np.eye(k)[lab]
        if name in ("categorical_crossentropy", "categorical_focal_crossentropy") and variant == 1:
            y = rng.dirichlet(np.ones(k), n)
        if logits:
            p = rng.standard_normal((n, k)) * 3
            if n > 1:
                p[0] += 1e4                  # large common offset
        elif name == "categorical_hinge":
            p = rng.standard_normal((n, k))
            if n > 2:
                p[2] = 0.0                   # ties in the max
        else:
            p = rng.uniform(0, 1, (n, k))
            p.flat[::6] = 0.0                # clipped after renormalization
            p[:, 0] += 1e-3
            if n > 1:
                p[1] = 0.0
                p[1, lab[1]] = 3.0           # q = 1 -> clipped at 1 - eps
        if name == "sparse_categorical_crossentropy":
            y = lab[:, None].astype(np.float64)
    elif name in ("hinge", "squared_hinge"):
        y = rng.integers(0, 2, (n, k)).astype(np.float64)     # 0/1 -> converted to -1/+1
        if variant == 1:
            y = 2 * y - 1
        if variant == 2:
            y[0, 0] = 0.5                                       # not all binary: no conversion
        p = rng.standard_normal((n, k)) * 2
    else:
        raise AssertionError(name)
    return y.astype(np.float32), p.astype(np.float32)


def magnitude(name, params, y, p):
    """Per-sample reduction of |terms| (the scale a float32 sum of the terms errs on)."""
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    if name == "poisson":
        return np.mean(np.abs(p64) + np.abs(y64 * np.log(p64 + RL.EPS)), axis=1)
    if name == "kl_divergence":
        yc, pc = np.clip(y64, RL.EPS, 1), np.clip(p64, RL.EPS, 1)
        return np.sum(np.abs(yc * np.log(yc / pc)), axis=1)
    if name == "cosine_similarity":
        return np.ones(y.shape[0])
    if name == "mean_squared_logarithmic_error":  # e = log(p + 1) - log(y + 1) cancels
        lp = np.log(np.maximum(p64, RL.EPS) + 1)
        ly = np.log(np.maximum(y64, RL.EPS) + 1)
        return np.mean(2 * np.abs(lp - ly) * (lp + ly), axis=1)
    if name == "log_cosh":
        e = p64 - y64
        return np.mean(np.abs(e) + np.logaddexp(-2 * e, 0) + math.log(2), axis=1)
    if name == "categorical_hinge":
        return np.sum(np.abs(y64 * p64), axis=1) + np.max(np.abs(p64), axis=1) + 1
    if name == "categorical_crossentropy" and params.get("from_logits"):
        m = p64.max(axis=1, keepdims=True)
        return np.sum(np.abs(y64) * (np.abs(p64 - m) + np.log(np.exp(p64 - m).sum(axis=1, keepdims=True))), axis=1)
    if name == "sparse_categorical_crossentropy" and params.get("from_logits"):
        m = p64.max(axis=1, keepdims=True)
        return np.abs(p64 - m).max(axis=1) + np.log(np.exp(p64 - m).sum(axis=1))
    if name == "binary_crossentropy" and params.get("from_logits"):
        return np.mean(np.abs(p64) * (1 + np.abs(y64)) + 1, axis=1)
    return np.zeros(y.shape[0])


def value_tol(name, params, y, p, ref):
    k = p.shape[1]
    rtol = 1e-6 + U * k
    t = rtol * (np.abs(np.nan_to_num(ref)) + magnitude(name, params, y, p))
    if (name == "binary_crossentropy" and not params.get("from_logits")) or name == "binary_focal_crossentropy":
        # log(1 - q): 1 - q is rounded to float32 (as in Keras), one ulp of 1 absolute
        t = t + 4 * U * np.mean(np.abs(y) + np.abs(1 - y.astype(np.float64)), axis=1)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
                "categorical_focal_crossentropy"):
        # log of a rounded ratio (p / sum p, y / p, a rounded softmax): one ulp absolute per unit of y
        ysum = np.ones(y.shape[0]) if name.startswith("sparse") else np.sum(np.abs(y), axis=1)
        t = t + 4 * U * (ysum + 1)
    return t + FLT_MIN


def grad_tol(name, params, y, p, gref, ws):
    """ws (n, 1): the weight * grad_scale the reference gradient was multiplied by."""
    k = p.shape[1]
    rtol = 1e-6 + U * k
    a = np.abs(np.nan_to_num(gref))
    t = rtol * a
    if name in ROW_COUPLED:
        t = t + rtol * a.max(axis=1, keepdims=True)
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    cond = np.zeros_like(p64)  # magnitude of the terms that cancel in the gradient (unweighted)
    if name == "mean_squared_logarithmic_error":
        p1 = np.maximum(p64, RL.EPS) + 1
        y1 = np.maximum(y64, RL.EPS) + 1
        cond = (np.abs(np.log(p1)) + np.abs(np.log(y1)) + 1) / p1 / k
    elif name == "poisson":  # 1 - y / (p + eps)
        cond = (1 + np.abs(y64 / (p64 + RL.EPS))) / k
    elif name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        yy = np.eye(k)[y64[:, 0].astype(int)] if name.startswith("sparse") else y64
        ysum = np.sum(np.abs(yy), axis=1, keepdims=True) + 1
        if params.get("from_logits"):
            cond = ysum * np.ones_like(p64)  # q sum(y) - y
        else:
            s = np.sum(p64, axis=1, keepdims=True)
            q = np.clip(p64 / s, RL.EPS, 1)
            cond = (ysum + np.abs(yy) / q) / np.abs(s)
    elif name == "binary_crossentropy":  # q - y (smoothed y is rounded) cancels
        ys = y64 * (1 - params.get("label_smoothing", 0.0)) + 0.5 * params.get("label_smoothing", 0.0)
        if params.get("from_logits"):
            cond = (RL.sigmoid(p64) + np.abs(ys)) / k
        else:
            q = np.clip(p64, RL.EPS, RL.ONE_MINUS_EPS)
            cond = (q + np.abs(ys)) / (q * (1 - q)) / k
    elif name == "binary_focal_crossentropy":
        cond = RL.binary_focal_gradient_terms(y, p, **params)
    elif name == "categorical_focal_crossentropy":
        cond = RL.categorical_focal_gradient_terms(y, p, **params)
    elif name == "cosine_similarity":
        ny = np.sqrt(np.sum(y64 * y64, axis=1, keepdims=True))
        npp = np.sqrt(np.sum(p64 * p64, axis=1, keepdims=True))
        ap = 1 / np.maximum(npp, RL.EPS)
        cond = ap * (np.abs(y64) / np.maximum(ny, RL.EPS) + np.abs(p64) * ap)
    return t + 8 * U * cond * np.abs(ws) + FLT_MIN


def focal_logits_slack(y, p, params):
    """Keras runs the focal probability path on p = sigmoid(z) in float32: p carries a few
    ulp, and log(1 - p) amplifies that near p = 1. Allowed: the reference's change when p
    moves by 4 ulp (z by 4u / (1 - p)); returns (value slack, unweighted gradient slack)."""
    ref, gref = RL.binary_focal_crossentropy(y, p, **params)
    sig = RL.sigmoid(p)
    zp = p.astype(np.float64) + 4 * U / np.maximum(1 - sig, 1e-30)
    ref2, gref2 = RL.binary_focal_crossentropy(y, zp, **params)
    return np.abs(ref2 - ref), np.abs(gref2 - gref)


def run(name, y, p, w=None, scale=1.0, **params):
    return _core.loss_forward_backward(KIND[name], y, p, w, scale, True, **params)


def check(got, ref, tol, what):
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    assert np.array_equal(np.isnan(got), np.isnan(ref)), f"{what}: NaN positions differ"
    ok = ~np.isnan(ref)
    err = np.abs(got - ref)[ok]
    t = np.broadcast_to(tol, ref.shape)[ok]
    if (err > t).any():
        i = int(np.argmax(err - t))
        raise AssertionError(f"{what}: {(err > t).sum()} values out of tolerance; worst: got "
                             f"{got[ok][i]!r} want {ref[ok][i]!r} tol {t[i]:.3g}")


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_values_and_gradients(isa, rng, name, params, shape):
    n, k = shape
    for variant in (0, 1, 2):
        y, p = make_inputs(name, params, n, k, rng, variant)
        w = rng.uniform(0, 2, n).astype(np.float32)
        scale = 1.0 / n
        ps, g = run(name, y, p, w, scale, **params)
        ref, gref = RL.LOSSES[name](y, p, **params)
        what = f"{name}{params} {shape} v{variant} [{isa}]"
        vtol = value_tol(name, params, y, p, ref)
        gw = gref * (w[:, None] * scale)
        gtol = grad_tol(name, params, y, p, gw, w[:, None] * scale)
        if name == "binary_focal_crossentropy" and params.get("from_logits"):
            vs, gs = focal_logits_slack(y, p, params)
            vtol = vtol + vs
            gtol = gtol + gs * np.abs(w[:, None] * scale)
        check(ps, ref, vtol, what + " values")
        check(g, gw, gtol, what + " gradient")


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_reference_gradient_matches_finite_differences(rng, name, params):
    """Analytic reference gradient vs central differences of the reference values
    (float64, h = 1e-6 relative), at points away from clips and kinks."""
    n, k = 6, 5
    y, p = make_inputs(name, params, n, k, rng)
    p = p.astype(np.float64)
    if name in ("binary_crossentropy", "binary_focal_crossentropy") and not params.get("from_logits"):
        p = np.clip(p, 0.05, 0.95)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy",
                "categorical_focal_crossentropy") and not params.get("from_logits"):
        p = p + 0.1
    if name == "mean_squared_logarithmic_error":
        p = np.abs(p) + 0.1
    if name == "kl_divergence":
        p = np.clip(p, 0.05, 0.95)
    if name in ("mean_absolute_error", "mean_absolute_percentage_error", "huber"):
        p = p + 0.01 * (np.abs(p - y) < 0.02)  # away from e = 0 and |e| = delta
    if name == "categorical_hinge":
        p = p + np.arange(k) * 1e-3              # no exact ties
    if name == "cosine_similarity":
        p = p + 0.1                              # no zero rows: the norm floor is a clip
    if name in ("hinge", "squared_hinge"):
        yy = 2 * y - 1 if np.all((y == 0) | (y == 1)) else y
        p = np.where(np.abs(1 - yy * p) < 1e-3, p + 0.01, p)
    _, an = RL.LOSSES[name](y, p, **params)
    fd = np.zeros_like(p)
    for idx in np.ndindex(*p.shape):
        h = 1e-6 * max(1.0, abs(p[idx]))
        pp, pm = p.copy(), p.copy()
        pp[idx] += h
        pm[idx] -= h
        fd[idx] = (RL.LOSSES[name](y, pp, **params)[0][idx[0]] - RL.LOSSES[name](y, pm, **params)[0][idx[0]]) / (2 * h)
    np.testing.assert_allclose(fd, an, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(an).max()))


def test_nan_propagates(isa, rng):
    for name, params in CASES:
        y, p = make_inputs(name, params, 4, 6, rng)
        p[2, 3] = np.nan
        ps, _ = run(name, y, p, **params)
        assert np.isnan(ps[2]), name
        assert not np.isnan(ps[[0, 1, 3]]).any(), name


def test_infinite_predictions(isa):
    inf = np.float32(np.inf)
    ps, _ = run("mean_squared_error", np.zeros((2, 2), np.float32), np.array([[inf, 0], [-inf, 1]], np.float32))
    assert ps[0] == np.inf and ps[1] == np.inf
    ps, _ = run("huber", np.zeros((1, 2), np.float32), np.array([[inf, 0]], np.float32))
    assert ps[0] == np.inf
    # probabilities are clipped first: +-inf behaves as 1 - eps / eps, gradient 0 there
    ps, g = run("binary_crossentropy", np.array([[1.0, 0.0]], np.float32), np.array([[-inf, inf]], np.float32))
    np.testing.assert_allclose(ps, [(16.118095 + 15.942385) / 2], rtol=1e-6)
    np.testing.assert_array_equal(g, 0.0)
    ps, _ = run("hinge", np.array([[1.0, -1.0]], np.float32), np.array([[inf, inf]], np.float32))
    assert ps[0] == np.inf  # max(1 - (+1)(inf), 0) = 0, max(1 - (-1)(inf), 0) = inf
    ps, _ = run("hinge", np.array([[1.0]], np.float32), np.array([[inf]], np.float32))
    assert ps[0] == 0.0


def test_clipping_values(isa):
    # BCE's clip at [1e-7, 1 - 1e-7] in float32: p = 1 with y = 0 gives -log(1.1920929e-7) =
    # 15.942385 (1 - eps rounds to 0.99999988); p = 0 with y = 1 gives -log(1e-7) = 16.118095
    ps, g = run("binary_crossentropy", np.array([[1.0], [0.0]], np.float32), np.array([[0.0], [1.0]], np.float32))
    np.testing.assert_allclose(ps, [16.118095, 15.942385], rtol=1e-6)
    np.testing.assert_array_equal(g, 0.0)  # the gradient follows the clip
    ps, g = run("categorical_crossentropy", np.array([[0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32))
    np.testing.assert_allclose(ps, [-math.log(1e-7)], rtol=1e-6)


def test_results_do_not_depend_on_thread_count(rng):
    before = ranvier.get_num_threads()
    try:
        outs = []
        for nt in (1, 2, 3):
            ranvier.set_num_threads(nt)
            o = []
            for name, params in CASES:
                y, p = make_inputs(name, params, 301, 257, np.random.default_rng(5))
                o.extend(run(name, y, p, **params))
            outs.append(o)
        for o in outs[1:]:
            for a, b in zip(outs[0], o):
                np.testing.assert_array_equal(a, b)
    finally:
        ranvier.set_num_threads(0)
        if before != ranvier.get_num_threads():
            ranvier.set_num_threads(before)


def test_sparse_labels_out_of_range_raise(isa):
    p = np.full((3, 4), 0.25, np.float32)
    for bad in (4.0, -1.0, np.nan, 7.0):
        labels = np.array([[0.0], [bad], [1.0]], np.float32)
        with pytest.raises(ValueError, match=r"label .* \(row 1\) is out of range for 4 classes"):
            run("sparse_categorical_crossentropy", labels, p)
    with pytest.raises(ValueError, match="out of range for 4 classes"):
        _core.loss_forward_backward_fused(KIND["sparse_categorical_crossentropy"],
                                          _core.activation_kind_names().index("softmax"),
                                          np.array([[9.0]], np.float32), p[:1])


def test_kernel_argument_errors():
    p = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="y_true has 3 columns, y_pred has 4"):
        run("mean_squared_error", np.ones((3, 3), np.float32), p)
    with pytest.raises(ValueError, match="one integer label per row"):
        run("sparse_categorical_crossentropy", np.ones((3, 4), np.float32), p)


def test_broadcast_y_true_column(isa, rng):
    y = rng.standard_normal((9, 1)).astype(np.float32)
    p = rng.standard_normal((9, 13)).astype(np.float32)
    for name in ("mean_squared_error", "huber", "hinge", "cosine_similarity", "categorical_hinge"):
        ps, g = run(name, y, p)
        ps2, g2 = run(name, np.ascontiguousarray(np.broadcast_to(y, p.shape)), p)
        np.testing.assert_allclose(ps, ps2, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(g, g2, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- fused
ACT = {name: i for i, name in enumerate(_core.activation_kind_names())}


@pytest.mark.parametrize("k", [1, 2, 7, 8, 9, 64, 1031])
def test_fused_gradients(isa, rng, k):
    n = 19
    z = (rng.standard_normal((n, k)) * 4).astype(np.float32)
    z[0] *= 10  # saturated: the clipped path's gradient would be 0 there
    lab = rng.integers(0, k, n)
    onehot = np.eye(k, dtype=np.float32)[lab]
    w = rng.uniform(0, 2, n).astype(np.float32)
    q = _core.activation_forward(ACT["softmax"], z)
    rtol = 1e-6 + U * k  # the sum of the (smoothed) labels over k classes is rounded
    for ls in (0.0, 0.1):
        ps, g = _core.loss_forward_backward_fused(KIND["categorical_crossentropy"], ACT["softmax"], onehot, q,
                                                  w, 0.5, label_smoothing=ls)
        ps_plain, _ = run("categorical_crossentropy", onehot, q, label_smoothing=ls)
        np.testing.assert_array_equal(ps, ps_plain)  # values: the clipped path, as Keras (JAX)
        gref = RL.fused_softmax_cce_grad(onehot, q, label_smoothing=ls) * (w[:, None] * 0.5)
        np.testing.assert_allclose(g, gref, rtol=rtol, atol=rtol * np.abs(gref).max())
    ps, g = _core.loss_forward_backward_fused(KIND["sparse_categorical_crossentropy"], ACT["softmax"],
                                              lab[:, None].astype(np.float32), q, w, 0.5)
    np.testing.assert_array_equal(ps, run("sparse_categorical_crossentropy", lab[:, None].astype(np.float32), q)[0])
    gref = RL.fused_softmax_scce_grad(lab, q) * (w[:, None] * 0.5)
    np.testing.assert_allclose(g, gref, rtol=rtol, atol=rtol * np.abs(gref).max())

    y = rng.integers(0, 2, (n, k)).astype(np.float32)
    s = _core.activation_forward(ACT["sigmoid"], z)
    ps, g = _core.loss_forward_backward_fused(KIND["binary_crossentropy"], ACT["sigmoid"], y, s, w, 0.5,
                                              label_smoothing=0.2)
    np.testing.assert_array_equal(ps, run("binary_crossentropy", y, s, label_smoothing=0.2)[0])
    gref = RL.fused_sigmoid_bce_grad(y, s, label_smoothing=0.2) * (w[:, None] * 0.5)
    np.testing.assert_allclose(g, gref, rtol=rtol, atol=rtol * np.abs(gref).max())


def test_fused_gradient_is_the_unclipped_loss_gradient(rng):
    """(q - y) is the derivative w.r.t. the logits of the UNCLIPPED loss composed with the
    activation: central differences in float64 of -sum y log softmax(z) and of the
    logits-form BCE."""
    z = rng.standard_normal((4, 5)) * 2
    y = np.eye(5)[rng.integers(0, 5, 4)]
    h = 1e-6
    fd = np.zeros_like(z)
    f = lambda zz: RL.categorical_crossentropy(y, zz, from_logits=True)[0]  # noqa: E731
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        fd[idx] = (f(zp)[idx[0]] - f(zm)[idx[0]]) / (2 * h)
    np.testing.assert_allclose(fd, RL.fused_softmax_cce_grad(y, RL.softmax(z)), rtol=1e-6, atol=1e-9)
    yb = rng.integers(0, 2, (4, 5)).astype(np.float64)
    fb = lambda zz: RL.binary_crossentropy(yb, zz, from_logits=True)[0]  # noqa: E731
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        fd[idx] = (fb(zp)[idx[0]] - fb(zm)[idx[0]]) / (2 * h)
    np.testing.assert_allclose(fd, RL.fused_sigmoid_bce_grad(yb, RL.sigmoid(z)), rtol=1e-6, atol=1e-9)


def test_fuses_with():
    cce, scce, bce = KIND["categorical_crossentropy"], KIND["sparse_categorical_crossentropy"], KIND["binary_crossentropy"]
    assert _core.loss_fuses_with(cce, ACT["softmax"]) and _core.loss_fuses_with(scce, ACT["softmax"])
    assert _core.loss_fuses_with(bce, ACT["sigmoid"])
    assert not _core.loss_fuses_with(cce, ACT["softmax"], from_logits=True)
    assert not _core.loss_fuses_with(bce, ACT["softmax"])
    assert not _core.loss_fuses_with(KIND["mean_squared_error"], ACT["sigmoid"])
    with pytest.raises(ValueError, match="does not fuse"):
        _core.loss_forward_backward_fused(KIND["mean_squared_error"], ACT["sigmoid"], np.ones((2, 2), np.float32),
                                          np.ones((2, 2), np.float32))


# ----------------------------------------------------------------------------- Keras check values
def test_keras_reduction_examples():
    y_true = np.array([[1, 9, 2], [-5, -2, 6]], np.float32)
    y_pred = np.array([[4, 8, 12], [8, 1, 3]], np.float32)
    mse = L.MeanSquaredError()
    np.testing.assert_allclose(mse(y_true, y_pred), 49.5, rtol=1e-6)
    np.testing.assert_allclose(mse(y_true, y_pred, sample_weight=2.3), 113.85, rtol=1e-6)
    np.testing.assert_allclose(mse(y_true, y_pred, sample_weight=[[1.2], [3.4]]), 767.8 / 6, rtol=1e-6)
    np.testing.assert_allclose(mse(y_true, y_pred, sample_weight=np.array([1.2, 3.4])), 767.8 / 6, rtol=1e-6)
    np.testing.assert_allclose(L.MeanSquaredError(reduction="mean_with_sample_weight")(
        y_true, y_pred, sample_weight=[[1.2], [3.4]]), 55.6377, rtol=1e-5)
    np.testing.assert_allclose(L.MeanSquaredError(reduction="sum")(y_true, y_pred), 99.0, rtol=1e-6)
    np.testing.assert_allclose(L.MeanSquaredError(reduction=None)(y_true, y_pred), [36.666668, 62.333332], rtol=1e-6)
    np.testing.assert_allclose(L.MeanSquaredError(reduction="none")(y_true, y_pred, sample_weight=[1.2, 3.4]),
                               [44.0, 211.93333], rtol=1e-6)
    # a zero weight still counts in N
    np.testing.assert_allclose(mse(y_true, y_pred, sample_weight=[0.0, 1.0]), 62.333332 / 2, rtol=1e-6)


def test_keras_crossentropy_check_values():
    bce = L.BinaryCrossentropy()
    y, p = np.array([[1, 0], [1, 0]], np.float32), np.array([[1, 1], [1, 0]], np.float32)
    np.testing.assert_allclose(bce(y, p), 3.9855962, rtol=1e-6)
    np.testing.assert_allclose(L.binary_crossentropy(y, p), [7.9711924, 1.1920929e-7], rtol=1e-5)
    z = np.array([[10, -10, 10], [10, 10, -10]], np.float32)
    np.testing.assert_allclose(L.BinaryCrossentropy(from_logits=True)(np.array([[1, 0, 1], [0, 1, 1]]), z),
                               3.333379, rtol=1e-5)
    cce = L.CategoricalCrossentropy()
    p3 = np.array([[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]], np.float32)
    np.testing.assert_allclose(cce(np.eye(3, dtype=np.float32), p3), 0.3239681, rtol=1e-6)
    np.testing.assert_allclose(L.categorical_crossentropy(np.eye(3), p3)[1], 0.8046684, rtol=1e-6)
    # keras docstring examples (printed to 3-4 digits)
    yt = np.array([0, 1, 0, 0])
    zp = np.array([-18.6, 0.51, 2.94, -12.8])
    np.testing.assert_allclose(L.BinaryCrossentropy(from_logits=True)(yt, zp), 0.8654, atol=1e-4)
    np.testing.assert_allclose(L.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)(yt, zp), 0.691, atol=1e-3)
    np.testing.assert_allclose(L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2.0, from_logits=True)(yt, zp),
                               0.51, atol=1e-2)
    y2, z2 = np.array([[0, 1], [0, 0]]), np.array([[-18.6, 0.51], [2.94, -12.8]])
    np.testing.assert_allclose(L.BinaryCrossentropy(from_logits=True)(y2, z2, sample_weight=[0.8, 0.2]), 0.243,
                               atol=1e-3)
    np.testing.assert_allclose(L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)(y2, z2), 0.647, atol=1e-3)
    np.testing.assert_allclose(L.BinaryFocalCrossentropy(gamma=5.0, from_logits=True, reduction=None)(y2, z2),
                               [0.0017, 1.1561], atol=1e-4)
    yc, pc = np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    np.testing.assert_allclose(L.CategoricalCrossentropy()(yc, pc), 1.177, atol=1e-3)
    np.testing.assert_allclose(L.CategoricalCrossentropy()(yc, pc, sample_weight=np.array([0.3, 0.7])), 0.814, atol=1e-3)
    np.testing.assert_allclose(L.SparseCategoricalCrossentropy()(np.array([1, 2]), pc), 1.177, atol=1e-3)
    np.testing.assert_allclose(L.binary_crossentropy(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])),
                               [0.916, 0.714], atol=1e-3)


def test_other_losses_match_reference_through_facade(rng):
    for name, params in CASES:
        y, p = make_inputs(name, params, 6, 5, rng)
        fn = getattr(L, name)
        got = fn(y if name != "sparse_categorical_crossentropy" else y[:, 0].astype(np.int64), p, **params)
        ref, _ = RL.LOSSES[name](y, p, **params)
        tol = value_tol(name, params, y, p, ref)
        if name == "binary_focal_crossentropy" and params.get("from_logits"):
            tol = tol + focal_logits_slack(y, p, params)[0]
        check(got, ref, tol, f"{name} facade")


# ----------------------------------------------------------------------------- pipeline
def test_rank_alignment():
    # y_true (N,) vs y_pred (N, 1) is (N, 1) vs (N, 1), not an (N, N) broadcast
    y = np.array([0.0, 1.0, 2.0], np.float32)
    p = np.array([[0.5], [1.0], [1.0]], np.float32)
    np.testing.assert_allclose(L.mean_squared_error(y, p), [0.25, 0.0, 1.0])
    np.testing.assert_allclose(L.MeanSquaredError()(y, p), 1.25 / 3, rtol=1e-6)
    np.testing.assert_allclose(L.MeanSquaredError()(p, y), 1.25 / 3, rtol=1e-6)
    # rank-1 inputs reduce over the only axis: a 0-d per-sample value, returned unreduced
    v = L.MeanSquaredError()(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    assert np.shape(v) == () and float(v) == 2.0
    # sparse labels (N,) or (N, 1)
    q = np.array([[0.1, 0.9], [0.8, 0.2]], np.float32)
    a = L.sparse_categorical_crossentropy(np.array([1, 0]), q)
    b = L.sparse_categorical_crossentropy(np.array([[1], [0]]), q)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, -np.log([0.9, 0.8]), rtol=1e-6)
    # rank-3
    y3 = rng_data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert L.mean_squared_error(y3, y3 + 1).shape == (2, 3)
    assert rng_data is y3


def test_axis_argument():
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    p = np.array([[0.9, 0.2], [0.3, 0.6], [0.5, 0.5]], np.float32)
    np.testing.assert_allclose(L.binary_crossentropy(y, p, axis=0), L.binary_crossentropy(y.T, p.T), rtol=1e-6)
    np.testing.assert_allclose(L.cosine_similarity(y, p, axis=0), L.cosine_similarity(y.T, p.T), rtol=1e-6)


def test_ignore_class():
    q = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], np.float32)
    lab = np.array([1, -1, 0])
    loss = L.SparseCategoricalCrossentropy(ignore_class=-1)
    vals = L.sparse_categorical_crossentropy(lab, q, ignore_class=-1)
    np.testing.assert_allclose(vals, [-math.log(0.9), 0.0, -math.log(0.5)], rtol=1e-6)
    # the mean divides by the valid entries
    np.testing.assert_allclose(loss(lab, q), (-math.log(0.9) - math.log(0.5)) / 2, rtol=1e-6)


def test_reductions_match_reference(rng):
    v = rng.uniform(0, 3, 7).astype(np.float32)
    w = rng.uniform(0, 2, 7)
    y = rng.standard_normal((7, 3)).astype(np.float32)
    p = rng.standard_normal((7, 3)).astype(np.float32)
    per = RL.mean_squared_error(y, p)[0]
    for red in ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", None, "none"):
        for sw in (None, w, w[:, None], 0.5):
            got = L.MeanSquaredError(reduction=red)(y, p, sample_weight=sw)
            want = RL.reduce(per, sw, red)
            np.testing.assert_allclose(got, want, rtol=2e-6, err_msg=f"{red} {None if sw is None else np.shape(sw)}")
    assert v.size == 7
    empty = L.MeanSquaredError()(np.zeros((0, 3)), np.zeros((0, 3)))
    assert np.shape(empty) == (0,)


def test_input_errors():
    with pytest.raises(ValueError, match=r"incompatible shapes: y_true.shape=\(3, 2\), y_pred.shape=\(3, 4\)"):
        L.mean_squared_error(np.ones((3, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"y_true.shape=\(4,\), y_pred.shape=\(3, 2\)"):
        L.MeanSquaredError()(np.ones(4), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"label 3 .*2 classes.*y_pred.shape=\(2, 2\).*0..1"):
        L.sparse_categorical_crossentropy(np.array([0, 3]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"label -1"):
        L.SparseCategoricalCrossentropy()(np.array([0, -1]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"label 0.5"):
        L.sparse_categorical_crossentropy(np.array([0.5, 1]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"y_true must hold one integer label per row"):
        L.sparse_categorical_crossentropy(np.ones((2, 3)), np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        L.MeanSquaredError()(np.ones((3, 2)), np.ones((3, 2)), sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*'sum'"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(TypeError, match="y_pred must be a real numeric array"):
        L.mean_squared_error(np.ones(3), np.ones(3, np.complex64))
    with pytest.raises(TypeError, match="y_true"):
        L.mean_squared_error("abc", np.ones(3))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        L.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(TypeError, match="from_logits"):
        L.binary_crossentropy(np.ones((2, 2)), np.ones((2, 2)), from_logits="yes")


# ----------------------------------------------------------------------------- registry
def test_get_resolution():
    assert L.get(None) is None
    assert L.get("mse") is L.mean_squared_error and L.get("MSE") is L.mean_squared_error
    assert L.get("bce") is L.binary_crossentropy and L.get("BCE") is L.binary_crossentropy
    assert L.get("mae") is L.mean_absolute_error and L.get("MAPE") is L.mean_absolute_percentage_error
    assert L.get("msle") is L.mean_squared_logarithmic_error and L.get("kld") is L.kl_divergence
    assert L.get("KLD") is L.kl_divergence
    assert L.get("huber") is L.huber and L.get("log_cosh") is L.log_cosh
    obj = L.get("BinaryCrossentropy")
    assert isinstance(obj, L.BinaryCrossentropy) and obj.from_logits is False and obj.name == "binary_crossentropy"
    assert isinstance(L.get(L.Huber), L.Huber)
    inst = L.Huber(delta=2.0)
    assert L.get(inst) is inst
    for bad in ("logcosh", "huber_loss", "kullback_leibler_divergence", "crossentropy", "Mse"):
        with pytest.raises(ValueError, match=r"Could not interpret loss identifier.*valid names are: .*mse"):
            L.get(bad)


def test_class_defaults_and_config_roundtrip():
    expected = {
        L.MeanSquaredError: "mean_squared_error", L.MeanAbsoluteError: "mean_absolute_error",
        L.MeanAbsolutePercentageError: "mean_absolute_percentage_error",
        L.MeanSquaredLogarithmicError: "mean_squared_logarithmic_error", L.Huber: "huber_loss",
        L.LogCosh: "log_cosh", L.KLDivergence: "kl_divergence", L.Poisson: "poisson",
        L.CosineSimilarity: "cosine_similarity", L.Hinge: "hinge", L.SquaredHinge: "squared_hinge",
        L.CategoricalHinge: "categorical_hinge", L.BinaryCrossentropy: "binary_crossentropy",
        L.CategoricalCrossentropy: "categorical_crossentropy",
        L.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
        L.BinaryFocalCrossentropy: "binary_focal_crossentropy",
    }
    for cls, name in expected.items():
        obj = cls()
        assert obj.name == name and obj.reduction == "sum_over_batch_size"
        cfg = obj.get_config()
        assert cfg["name"] == name and cfg["reduction"] == "sum_over_batch_size"
        again = cls.from_config(cfg)
        assert again.get_config() == cfg
        assert L.deserialize(L.serialize(obj)).get_config() == cfg
    assert L.BinaryCrossentropy().get_config() == {"name": "binary_crossentropy", "reduction": "sum_over_batch_size",
                                                   "from_logits": False, "label_smoothing": 0.0, "axis": -1}
    assert L.BinaryFocalCrossentropy().get_config()["gamma"] == 2.0
    assert L.BinaryFocalCrossentropy().get_config()["alpha"] == 0.25
    assert L.Huber(delta=2.5).get_config()["delta"] == 2.5
    assert L.MeanSquaredError(name="my").name == "my"
    assert L.serialize(L.mean_squared_error) == {"module": "keras.losses", "class_name": "function",
                                                 "config": "mean_squared_error",
                                                 "registered_name": "mean_squared_error"}
    assert L.deserialize(L.serialize(L.huber)) is L.huber
    w = L.LossFunctionWrapper(L.huber, name="h", delta=0.5)
    w2 = L.LossFunctionWrapper.from_config(w.get_config())
    assert w2.fn is L.huber and w2._fn_kwargs == {"delta": 0.5}


def test_custom_loss_subclass():
    class Twice(L.Loss):
        def call(self, y_true, y_pred):
            return 2 * L.mean_absolute_error(y_true, y_pred)

    t = Twice()
    assert t.name == "twice"
    np.testing.assert_allclose(t(np.zeros((2, 2)), np.ones((2, 2))), 2.0)
    with pytest.raises(ValueError, match="no C.. kernel"):
        L.core_spec(t)


def test_core_spec_contract():
    base = {"from_logits": False, "label_smoothing": 0.0, "delta": 1.0, "alpha": 0.25, "gamma": 2.0,
            "apply_class_balancing": False}
    assert L.core_spec("mse") == ("mean_squared_error", base)
    assert L.core_spec(L.mean_squared_error) == ("mean_squared_error", base)
    assert L.core_spec(L.MeanSquaredError()) == ("mean_squared_error", base)
    assert L.core_spec("MeanSquaredError") == ("mean_squared_error", base)
    assert L.core_spec(L.Huber(delta=2.0)) == ("huber", dict(base, delta=2.0))
    assert L.core_spec(L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)) == (
        "binary_crossentropy", dict(base, from_logits=True, label_smoothing=0.1))
    assert L.core_spec(L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.5, gamma=3)) == (
        "binary_focal_crossentropy", dict(base, apply_class_balancing=True, alpha=0.5, gamma=3.0))
    assert L.core_spec(L.SparseCategoricalCrossentropy(from_logits=True)) == (
        "sparse_categorical_crossentropy", dict(base, from_logits=True))
    assert L.core_spec("kld")[0] == "kl_divergence"
    assert L.core_spec(L.LossFunctionWrapper(L.huber, delta=0.5)) == ("huber", dict(base, delta=0.5))
    for name in L.KIND_NAMES:
        assert L.core_spec(name)[0] == name and L.core_kind(name) == KIND[name]
    assert L.core_reduction(L.MeanSquaredError(reduction="sum")) == "sum"
    assert L.core_reduction("mse") == "sum_over_batch_size"
    with pytest.raises(ValueError, match="no C.. kernel"):
        L.core_spec(lambda a, b: a)
    with pytest.raises(ValueError, match="axis"):
        L.core_spec(L.BinaryCrossentropy(axis=0))
    with pytest.raises(ValueError, match="ignore_class"):
        L.core_spec(L.SparseCategoricalCrossentropy(ignore_class=0))
    with pytest.raises(ValueError, match="Could not interpret"):
        L.core_spec("nope")
