"""Layers: C++ forward/backward against the float64 reference (tests/reference/layers.py),
per ISA, plus the Keras-shaped Python API and the model protocol.

Tolerances (float32 result vs float64 reference) are error bounds, not fitted numbers:
a length-K dot product in float32 is within K * eps32 * sum|a_i b_i| of the exact value
(recursive summation bound; blocked/FMA summation is tighter), and an elementwise
function adds a few ulps of its output. EPS below is float32's machine epsilon.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import ranvier
from ranvier import _core, constraints, initializers, layers, regularizers
from reference import layers as ref

EPS = float(np.finfo(np.float32).eps)

DENSE_SHAPES = [(1, 1, 1), (3, 7, 5), (17, 33, 16), (64, 128, 10), (257, 1031, 7), (31, 5, 1031)]
NORM_SHAPES = [(1, 1), (2, 3), (17, 33), (64, 100), (257, 1031)]

# Lipschitz constant L1 = max|f'| and L2 = max|f''| of the activations (bounds used to
# carry the pre-activation's error into y and into the derivative).
LIP = {"linear": (1.0, 0.0), "relu": (1.0, 0.0), "tanh": (1.0, 0.77), "sigmoid": (0.25, 0.1),
       "elu": (1.0, 1.0), "softplus": (1.0, 0.25), "softmax": (2.0, 2.0)}


# ----------------------------------------------------------------------------- helpers
def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def core_pass(layer, x, dy=None, training=True, step=1, pre=False, want_dx=True):
    """Runs the built layer's C++ object: forward, then (if dy given) backward.
    Returns (y, penalty, dx, grads copies)."""
    core = layer._core_layer
    core.reserve(x.shape[0])
    y = np.empty((x.shape[0], core.out_features), np.float32)
    pen = core.forward(x, y, training, step)
    dx, grads = None, None
    if dy is not None:
        dx = np.empty_like(x) if want_dx else None
        core.backward(x, y, f32(dy).copy(), dx, pre)
        grads = [None if g is None else g.copy() for g in layer._grads]
    return y, pen, dx, grads


def make_dense(units, in_features, act, rng, use_bias=True, **kw):
    layer = layers.Dense(units, activation=act, use_bias=use_bias, **kw)
    layer.build((None, in_features))
    w = f32(rng.normal(0, 1.0 / math.sqrt(in_features), (in_features, units)))
    weights = [w] + ([f32(rng.normal(0, 0.5, units))] if use_bias else [])
    layer.set_weights(weights)
    return layer, [a.astype(np.float64) for a in weights]


def assert_within(actual, expected, tol, what):
    err = np.abs(np.asarray(actual, np.float64) - expected)
    bad = err > tol
    assert not bad.any(), (f"{what}: {bad.sum()} of {bad.size} beyond tolerance; worst err "
                           f"{err.max():.3g} where tol {np.asarray(tol * np.ones_like(err))[np.unravel_index(np.argmax(err - tol), err.shape)]:.3g}")


# ----------------------------------------------------------------------------- Dense
@pytest.mark.parametrize("shape", DENSE_SHAPES)
@pytest.mark.parametrize("act", ["linear", "relu", "tanh", "sigmoid", "elu", "softplus", "softmax"])
def test_dense_forward_backward_vs_reference(isa, shape, act, rng):
    batch, nin, units = shape
    layer, (w, b) = make_dense(units, nin, act, rng)
    x = f32(rng.normal(0, 1, (batch, nin)))
    dy = rng.normal(0, 1, (batch, units))
    y, pen, dx, (dw, db) = core_pass(layer, x, dy)
    x64 = x.astype(np.float64)
    y_ref, z_ref = ref.dense_forward(x64, w, b, act)
    assert pen == 0.0

    # z error bound: (K + 2) eps sum|x w| + eps |b| (bias add); y: L1 * that + 8 ulps of y.
    l1, l2 = LIP[act]
    tol_z = (nin + 2) * EPS * (np.abs(x64) @ np.abs(w) + np.abs(b))
    tol_y_rows = tol_z.max(axis=1, keepdims=True) if act == "softmax" else tol_z
    assert_within(y, y_ref, l1 * tol_y_rows + 8 * EPS * np.abs(y_ref) + 1e-30, f"Dense {act} y")

    dy32 = f32(dy).astype(np.float64)
    if act == "relu":
        # At |z| within rounding of 0 either side is right: take the side the C++ chose,
        # and check it agrees with the exact sign everywhere else.
        mask = y > 0
        certain = np.abs(z_ref) > tol_z
        assert np.array_equal(mask[certain], (z_ref > 0)[certain])
        dz_ref = dy32 * mask
        tol_dz = np.zeros_like(dz_ref)
    else:
        dz_ref = ref.activation_backward(act, z_ref, y_ref, dy32)
        rowmax = np.abs(dy32).max(axis=1, keepdims=True) if act == "softmax" else np.abs(dy32)
        tol_dz = l2 * rowmax * (tol_z.max(axis=1, keepdims=True) if act == "softmax" else tol_z) \
            + 16 * EPS * (np.abs(dz_ref) + (np.abs(y_ref) * np.abs(dy32) if act == "softmax" else 0))
    adz = np.abs(dz_ref) + tol_dz
    tol_dx = (units + 2) * EPS * (adz @ np.abs(w).T) + tol_dz @ np.abs(w).T
    tol_dw = (batch + 2) * EPS * (np.abs(x64).T @ adz) + np.abs(x64).T @ tol_dz
    tol_db = (batch + 2) * EPS * adz.sum(axis=0) + tol_dz.sum(axis=0)
    assert_within(dx, dz_ref @ w.T, tol_dx + 1e-30, f"Dense {act} dx")
    assert_within(dw, x64.T @ dz_ref, tol_dw + 1e-30, f"Dense {act} dkernel")
    assert_within(db, dz_ref.sum(axis=0), tol_db + 1e-30, f"Dense {act} dbias")


@pytest.mark.parametrize("act", ["linear", "relu", "tanh", "sigmoid", "elu", "softmax"])
@pytest.mark.parametrize("activity", [(0.0, 0.0), (0.01, 0.0), (0.0, 0.03), (0.02, 0.05)])
def test_dense_gradients_vs_central_differences(isa, act, activity, rng):
    """C++ gradients against central finite differences of the float64 reference of
    L = sum(g * y) + activity penalty (and the reference's analytic gradient against
    the same differences, tighter)."""
    batch, nin, units = 5, 6, 4
    kw = {}
    if activity != (0.0, 0.0):
        kw["activity_regularizer"] = regularizers.L1L2(*activity)
    layer, (w, b) = make_dense(units, nin, act, rng, **kw)
    x = f32(rng.normal(0, 1, (batch, nin)))
    g = f32(rng.normal(0, 1, (batch, units))).astype(np.float64)
    y, pen, dx, (dw, db) = core_pass(layer, x, g)
    x64 = x.astype(np.float64)

    def loss(xx, ww, bb):
        yy, _ = ref.dense_forward(xx, ww, bb, act)
        return float(np.sum(g * yy)) + ref.activity_penalty(yy, *activity)

    y_ref, z_ref = ref.dense_forward(x64, w, b, act)
    assert pen == pytest.approx(ref.activity_penalty(y_ref, *activity), rel=1e-5, abs=1e-7)
    rdx, rdw, rdb = ref.dense_backward(x64, w, z_ref, y_ref, g, act, activity=activity)
    for name, got, want, arg in (("x", dx, rdx, 0), ("kernel", dw, rdw, 1), ("bias", db, rdb, 2)):
        d = rng.normal(0, 1, want.shape)
        args = [x64, w, b]
        fd = ref.central_difference(lambda t: loss(*[t if i == arg else a for i, a in enumerate(args)]),
                                    args[arg], d, h=1e-6)
        scale = float(np.abs(want).ravel() @ np.abs(d).ravel()) + 1e-3
        # reference vs differences: truncation O(h^2) + rounding eps64 / h
        assert abs(float(np.sum(want * d)) - fd) <= 1e-7 * scale, (name, "reference")
        # C++ (float32) vs differences: float32 rounding of the inputs and sums
        assert abs(float(np.sum(got.astype(np.float64) * d)) - fd) <= 2e-5 * scale, (name, "C++")


@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "softmax"])
@pytest.mark.parametrize("activity", [(0.0, 0.0), (0.01, 0.02)])
def test_dense_dy_is_preactivation(isa, act, activity, rng):
    """With dy_is_preactivation the layer skips its activation's backward; the activity
    term still goes through it."""
    batch, nin, units = 9, 11, 6
    kw = {"activity_regularizer": regularizers.L1L2(*activity)} if activity != (0.0, 0.0) else {}
    layer, (w, b) = make_dense(units, nin, act, rng, **kw)
    x = f32(rng.normal(0, 1, (batch, nin)))
    dz = f32(rng.normal(0, 1, (batch, units))).astype(np.float64)
    y, _, dx, (dw, db) = core_pass(layer, x, dz, pre=True)
    y_ref, z_ref = ref.dense_forward(x.astype(np.float64), w, b, act)
    rdx, rdw, rdb = ref.dense_backward(x.astype(np.float64), w, z_ref, y_ref, dz, act,
                                       dy_is_preactivation=True, activity=activity)
    # reductions of length <= 11 over O(1) terms: 1e-5 covers (K + 2) eps * sum|.|
    np.testing.assert_allclose(dx, rdx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dw, rdw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db, rdb, rtol=1e-5, atol=1e-5)


def test_dense_no_bias_and_no_dx(isa, rng):
    layer, (w,) = make_dense(3, 4, "linear", rng, use_bias=False)
    assert [n for n, _, _ in layer._weight_specs()] == ["kernel"]
    x = f32(rng.normal(0, 1, (6, 4)))
    dy = rng.normal(0, 1, (6, 3))
    y, _, dx, (dw,) = core_pass(layer, x, dy, want_dx=False)
    assert dx is None
    np.testing.assert_allclose(y, x.astype(np.float64) @ w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dw, x.astype(np.float64).T @ f32(dy), rtol=1e-5, atol=1e-5)


def test_dense_nonfinite_inputs_propagate(isa, rng):
    layer, _ = make_dense(4, 3, "linear", rng)
    x = f32([[np.nan, 0, 0], [np.inf, 1, 1], [0, 0, 0]])
    layer.set_weights([np.ones((3, 4), np.float32), np.zeros(4, np.float32)])
    y = layer(x)
    assert np.isnan(y[0]).all()
    assert np.isposinf(y[1]).all()
    assert (y[2] == 0).all()


def test_dense_regularization_and_gradients(isa, rng):
    layer, (w, b) = make_dense(5, 7, "linear", rng, kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                               bias_regularizer=regularizers.L2(0.3))
    core = layer._core_layer
    for g in layer._grads:
        g[...] = 0.0
    pen = core.regularization(True)
    want = ref.penalty(w, 0.01, 0.02) + ref.penalty(b, 0.0, 0.3)
    assert pen == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(layer._grads[0], ref.penalty_grad(w, 0.01, 0.02), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer._grads[1], ref.penalty_grad(b, 0.0, 0.3), rtol=1e-6, atol=1e-8)
    assert core.regularization(False) == pytest.approx(want, rel=1e-6)
    assert layer.losses and layer.losses[0] == pytest.approx(want, rel=1e-6)
    # frozen layers contribute nothing
    layer.trainable = False
    assert core.regularization(True) == 0.0


@pytest.mark.parametrize("constraint,fn", [
    (constraints.MaxNorm(0.5), lambda w: ref.max_norm(w, 0.5, 0)),
    (constraints.MaxNorm(0.5, axis=1), lambda w: ref.max_norm(w, 0.5, 1)),
    (constraints.UnitNorm(), lambda w: ref.unit_norm(w, 0)),
    (constraints.UnitNorm(axis=[0, 1]), lambda w: ref.unit_norm(w, (0, 1))),
    (constraints.NonNeg(), ref.non_neg),
    (constraints.MinMaxNorm(0.8, 1.2, rate=0.5), lambda w: ref.min_max_norm(w, 0.8, 1.2, 0.5, 0)),
])
def test_dense_constraints_applied_by_core(constraint, fn, rng):
    # A bias is 1-D: only axis 0 (or -1) is valid for it, as in Keras.
    bias_ok = getattr(constraint, "axis", 0) in (0, -1)
    layer, (w, b) = make_dense(6, 9, "linear", rng, kernel_constraint=constraint,
                               bias_constraint=constraint if bias_ok else None)
    layer._core_layer.apply_constraints()
    kw, kb = layer.get_weights()
    # float32 results of O(1) scalings computed in double: a few ulps
    np.testing.assert_allclose(kw, fn(w), rtol=4 * EPS, atol=1e-7)
    np.testing.assert_allclose(kb, constraint(b) if bias_ok else b, rtol=4 * EPS, atol=1e-7)
    # and the Python constraint objects agree with the reference
    np.testing.assert_allclose(constraint(w), fn(w), rtol=1e-12, atol=1e-15)


def test_dense_set_weights_from_keras_layout(isa):
    """A Keras Dense kernel is (input_dim, units): y = x @ kernel + bias."""
    kernel = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    bias = np.array([1, -1, 0.5, 0], np.float32)
    layer = layers.Dense(4)
    layer.build((None, 3))
    layer.set_weights([kernel, bias])
    x = np.array([[1, 2, 3], [0, -1, 0.5]], np.float32)
    np.testing.assert_allclose(layer(x), x.astype(np.float64) @ kernel + bias, rtol=1e-6)
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    assert layer.count_params() == 16


def test_dense_fused_relu_equals_generic_relu(isa, rng):
    """relu via the GEMM epilogue and relu with a (no-op) max_value via the generic path agree."""
    x = f32(rng.normal(0, 1, (33, 20)))
    a = layers.Dense(17, activation="relu")
    a.build((None, 20))
    b = layers.ReLU(max_value=1e30)
    lin = layers.Dense(17)
    lin.build((None, 20))
    lin.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x), b(lin(x)))


# ----------------------------------------------------------------------------- BatchNormalization
def test_batch_norm_measured_example():
    """The numbers Keras 3.15 produced."""
    layer = layers.BatchNormalization()
    x = np.array([[1, 2], [3, 6], [5, 10]], np.float32)
    y = layer(x, training=True)
    np.testing.assert_allclose(y, [[-1.2245152, -1.2246873], [0, 0], [1.2245154, 1.2246876]], rtol=0, atol=2e-7)
    gamma, beta, mm, mv = layer.get_weights()
    np.testing.assert_allclose(mm, [0.03, 0.06], rtol=1e-6)
    np.testing.assert_allclose(mv, [1.0166667, 1.0966667], rtol=1e-6)
    assert [v.name for v in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.name for v in layer.trainable_weights] == ["gamma", "beta"]
    assert [v.name for v in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    # inference uses the moving statistics
    np.testing.assert_allclose(layer(x), ref.bn_inference(x.astype(np.float64), 1, 0, mm, mv), rtol=1e-6)


def _bn_tolerances(x, gamma, beta, dy, eps):
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv
    # y = x*a + s in float32: a few ulps of each term, plus x - mean's cancellation (eps |mean|)
    a = np.abs(gamma) * inv
    tol_y = 8 * EPS * (np.abs(x) * a + np.abs(beta) + np.abs(mean) * a + np.abs(xhat * gamma))
    mdy = np.abs(dy).mean(axis=0)
    mdyx = np.abs(dy * xhat).mean(axis=0)
    tol_dx = 16 * EPS * a * (np.abs(dy) + mdy + (np.abs(xhat) + np.abs(mean) * inv + 1) * mdyx)
    n = x.shape[0]
    tol_dgamma = 8 * EPS * (np.abs(dy) * (np.abs(xhat) + np.abs(x) * inv + np.abs(mean) * inv)).sum(axis=0) + 1e-30
    tol_dbeta = 4 * EPS * np.abs(dy).sum(axis=0) + 1e-30
    return tol_y + 1e-30, tol_dx + 1e-30, tol_dgamma * max(1, math.log2(n)), tol_dbeta


@pytest.mark.parametrize("shape", NORM_SHAPES)
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False), (False, False)])
def test_batch_norm_training_vs_reference(isa, shape, center, scale, rng):
    n, d = shape
    layer = layers.BatchNormalization(center=center, scale=scale, momentum=0.9)
    layer.build((None, d))
    gamma = rng.normal(1, 0.3, d) if scale else np.ones(d)
    beta = rng.normal(0, 0.5, d) if center else np.zeros(d)
    mm0 = rng.normal(0, 1, d)
    mv0 = rng.uniform(0.5, 2, d)
    layer.set_weights([f32(a) for a, on in ((gamma, scale), (beta, center), (mm0, True), (mv0, True)) if on])
    gamma, beta, mm0, mv0 = (f32(a).astype(np.float64) for a in (gamma, beta, mm0, mv0))
    x = f32(rng.normal(2.0, 1.5, (n, d)))
    dy = f32(rng.normal(0, 1, (n, d))).astype(np.float64)
    y, _, dx, grads = core_pass(layer, x, dy)
    x64 = x.astype(np.float64)
    y_ref, mean, var = ref.bn_train_forward(x64, gamma, beta)
    tol_y, tol_dx, tol_dg, tol_db = _bn_tolerances(x64, gamma, beta, dy, 1e-3)
    assert_within(y, y_ref, tol_y, "BN y")
    rdx, rdg, rdb = ref.bn_train_backward(x64, gamma, dy)
    assert_within(dx, rdx, tol_dx, "BN dx")
    i = 0
    if scale:
        assert_within(grads[i], rdg, tol_dg, "BN dgamma")
        i += 1
    if center:
        assert_within(grads[i], rdb, tol_db, "BN dbeta")
    mm, mv = layer.get_weights()[-2:]
    rmm, rmv = ref.bn_moving_update(mm0, mv0, mean, var, 0.9)
    # momentum and 1 - momentum in float32 and three roundings: a few ulps of each term
    assert_within(mm, rmm, 4 * EPS * (np.abs(mean) + np.abs(mm0)) + 1e-30, "BN moving_mean")
    assert_within(mv, rmv, 4 * EPS * (var + mv0) + 1e-30, "BN moving_variance")
    # inference mode: moving statistics, no update
    y_inf = layer(x)
    np.testing.assert_allclose(y_inf, ref.bn_inference(x64, gamma, beta, mm, mv), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.get_weights()[-2], mm)


def test_batch_norm_gradients_vs_central_differences(isa, rng):
    n, d = 6, 4
    layer = layers.BatchNormalization()
    layer.build((None, d))
    gamma, beta = rng.normal(1, 0.3, d), rng.normal(0, 0.5, d)
    layer.set_weights([f32(gamma), f32(beta), np.zeros(d, np.float32), np.ones(d, np.float32)])
    gamma, beta = f32(gamma).astype(np.float64), f32(beta).astype(np.float64)
    x = f32(rng.normal(0, 1, (n, d)))
    g = f32(rng.normal(0, 1, (n, d))).astype(np.float64)
    _, _, dx, (dgamma, dbeta, _, _) = core_pass(layer, x, g)
    x64 = x.astype(np.float64)

    def loss(xx, gg, bb):
        return float(np.sum(g * ref.bn_train_forward(xx, gg, bb)[0]))

    rdx, rdg, rdb = ref.bn_train_backward(x64, gamma, g)
    for got, want, arg in ((dx, rdx, 0), (dgamma, rdg, 1), (dbeta, rdb, 2)):
        dirn = rng.normal(0, 1, want.shape)
        args = [x64, gamma, beta]
        fd = ref.central_difference(lambda t: loss(*[t if i == arg else a for i, a in enumerate(args)]),
                                    args[arg], dirn)
        scale = float(np.abs(want).ravel() @ np.abs(dirn).ravel()) + 1e-3
        assert abs(float(np.sum(want * dirn)) - fd) <= 1e-7 * scale
        assert abs(float(np.sum(got * dirn)) - fd) <= 2e-5 * scale


def test_batch_norm_frozen_runs_in_inference_mode(isa, rng):
    layer = layers.BatchNormalization()
    layer.build((None, 3))
    mm, mv = f32([0.5, -1, 2]), f32([1, 4, 0.25])
    layer.set_weights([f32([1, 2, 3]), f32([0, 1, 0]), mm, mv])
    layer.trainable = False
    assert all(not t for _, _, t in layer._weight_specs())
    assert layer.trainable_weights == []
    x = f32(rng.normal(0, 1, (5, 3)))
    dy = rng.normal(0, 1, (5, 3))
    for g in layer._grads:
        if g is not None:
            g[...] = 7.0
    y, _, dx, grads = core_pass(layer, x, dy, training=True)
    a = np.array([1, 2, 3]) / np.sqrt(mv.astype(np.float64) + 1e-3)
    np.testing.assert_allclose(y, ref.bn_inference(x.astype(np.float64), [1, 2, 3], [0, 1, 0], mm, mv),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, f32(dy) * a, rtol=1e-6)
    assert (grads[0] == 7.0).all() and (grads[1] == 7.0).all()  # no parameter gradients written
    np.testing.assert_array_equal(layer.get_weights()[2], mm)  # moving stats frozen


# ----------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("shape", NORM_SHAPES)
@pytest.mark.parametrize("center,scale", [(True, True), (False, False)])
def test_layer_norm_vs_reference(isa, shape, center, scale, rng):
    n, d = shape
    layer = layers.LayerNormalization(center=center, scale=scale)
    layer.build((None, d))
    gamma = rng.normal(1, 0.3, d) if scale else np.ones(d)
    beta = rng.normal(0, 0.5, d) if center else np.zeros(d)
    layer.set_weights([f32(a) for a, on in ((gamma, scale), (beta, center)) if on])
    gamma, beta = f32(gamma).astype(np.float64), f32(beta).astype(np.float64)
    x = f32(rng.normal(1.0, 2.0, (n, d)))
    dy = f32(rng.normal(0, 1, (n, d))).astype(np.float64)
    y, _, dx, grads = core_pass(layer, x, dy)
    x64 = x.astype(np.float64)
    # The BN bounds on x.T (LN normalizes rows); for dx, LN is BN without gamma on g = dy * gamma.
    tol_y, _, _, _ = _bn_tolerances(x64.T, gamma[:, None], beta[:, None], dy.T, 1e-3)
    _, tol_dx, _, _ = _bn_tolerances(x64.T, np.ones((d, 1)), np.zeros((d, 1)), (dy * gamma).T, 1e-3)
    assert_within(y, ref.ln_forward(x64, gamma, beta), tol_y.T, "LN y")
    rdx, rdg, rdb = ref.ln_backward(x64, gamma, dy)
    assert_within(dx, rdx, tol_dx.T, "LN dx")
    mean = x64.mean(axis=1, keepdims=True)
    inv = 1 / np.sqrt(((x64 - mean) ** 2).mean(axis=1, keepdims=True) + 1e-3)
    tol_g = 8 * EPS * (np.abs(dy) * (np.abs(x64) + np.abs(mean)) * inv).sum(axis=0) * max(1, math.log2(n)) + 1e-30
    i = 0
    if scale:
        assert_within(grads[i], rdg, tol_g, "LN dgamma")
        i += 1
    if center:
        assert_within(grads[i], rdb, 4 * EPS * np.abs(dy).sum(axis=0) + 1e-30, "LN dbeta")


def test_layer_norm_gradients_vs_central_differences(isa, rng):
    n, d = 4, 7
    layer = layers.LayerNormalization()
    layer.build((None, d))
    gamma, beta = f32(rng.normal(1, 0.3, d)), f32(rng.normal(0, 0.5, d))
    layer.set_weights([gamma, beta])
    gamma, beta = gamma.astype(np.float64), beta.astype(np.float64)
    x = f32(rng.normal(0, 1, (n, d)))
    g = f32(rng.normal(0, 1, (n, d))).astype(np.float64)
    _, _, dx, (dgamma, dbeta) = core_pass(layer, x, g)
    x64 = x.astype(np.float64)
    rdx, rdg, rdb = ref.ln_backward(x64, gamma, g)
    for got, want, arg in ((dx, rdx, 0), (dgamma, rdg, 1), (dbeta, rdb, 2)):
        dirn = rng.normal(0, 1, want.shape)
        args = [x64, gamma, beta]
        fd = ref.central_difference(
            lambda t: float(np.sum(g * ref.ln_forward(*[t if i == arg else a for i, a in enumerate(args)]))),
            args[arg], dirn)
        scale = float(np.abs(want).ravel() @ np.abs(dirn).ravel()) + 1e-3
        assert abs(float(np.sum(want * dirn)) - fd) <= 1e-7 * scale
        assert abs(float(np.sum(got * dirn)) - fd) <= 2e-5 * scale


def test_layer_norm_defaults_match_keras():
    layer = layers.LayerNormalization()
    cfg = layer.get_config()
    assert (cfg["axis"], cfg["epsilon"], cfg["center"], cfg["scale"]) == (-1, 1e-3, True, True)
    layer.build((None, 4))
    assert [n for n, _, _ in layer._weight_specs()] == ["gamma", "beta"]


# ----------------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (257, 1031)])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_mask_is_the_specified_hash(shape, rate):
    n, d = shape
    layer = layers.Dropout(rate, seed=1234)
    layer.build((None, d))
    x = f32(np.random.default_rng(0).normal(0, 1, (n, d)))
    dy = f32(np.random.default_rng(1).normal(0, 1, (n, d)))
    y, _, dx, _ = core_pass(layer, x, dy, step=42)
    mask = ref.dropout_mask(1234, 42, n, d, rate)
    keep = float(np.float32(1 - np.float32(rate)))
    np.testing.assert_array_equal(y, np.where(mask, x / np.float32(keep), 0).astype(np.float32))
    np.testing.assert_array_equal(dx, np.where(mask, dy / np.float32(keep), 0).astype(np.float32))


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.75])
def test_dropout_statistics(rate):
    n, d = 400, 500
    layer = layers.Dropout(rate, seed=7)
    x = np.ones((n, d), np.float32)
    y = layer(x, training=True)
    kept = (y != 0).mean()
    # binomial: 5 standard deviations of the kept fraction
    sd = math.sqrt(rate * (1 - rate) / (n * d))
    assert abs(kept - (1 - rate)) < 5 * sd
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6)
    # inverted dropout keeps the mean: E[y] = 1, sd of the mean = sqrt(rate/(1-rate)/N)
    assert abs(y.mean() - 1) < 5 * math.sqrt(rate / (1 - rate) / (n * d))
    # columns and rows unbiased too (no structure in the hash): chi-square-ish check
    col = (y != 0).mean(axis=0)
    assert abs(col.std() - math.sqrt(rate * (1 - rate) / n)) < 0.2 * math.sqrt(rate * (1 - rate) / n)


def test_dropout_reproducible_and_fresh_per_step():
    x = np.ones((64, 64), np.float32)
    a = layers.Dropout(0.5, seed=3)
    b = layers.Dropout(0.5, seed=3)
    ya1, ya2 = a(x, training=True), a(x, training=True)
    yb1 = b(x, training=True)
    np.testing.assert_array_equal(ya1, yb1)        # same seed and step: same mask
    assert not np.array_equal(ya1, ya2)            # next step: new mask
    # masks of consecutive steps are uncorrelated
    m1, m2 = (ya1 != 0).ravel(), (ya2 != 0).ravel()
    assert abs(np.corrcoef(m1, m2)[0, 1]) < 5 / math.sqrt(m1.size)
    c = layers.Dropout(0.5, seed=4)
    assert not np.array_equal(c(x, training=True), ya1)


def test_dropout_modes_and_extremes():
    x = f32(np.random.default_rng(0).normal(0, 1, (5, 6)))
    np.testing.assert_array_equal(layers.Dropout(0.5)(x), x)                    # inference
    np.testing.assert_array_equal(layers.Dropout(0.5)(x, training=False), x)
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True), x)     # rate 0
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True), 0 * x)  # rate 1
    layer = layers.Dropout(1.0)
    layer.build((None, 6))
    _, _, dx, _ = core_pass(layer, x, np.ones_like(x))
    assert (dx == 0).all()


def test_dropout_noise_shape_broadcasts():
    x = np.ones((50, 40), np.float32)
    y = layers.Dropout(0.5, noise_shape=(1, 40), seed=1)(x, training=True)
    assert (y == y[0]).all()                       # one mask shared by every sample
    y = layers.Dropout(0.5, noise_shape=(None, 1), seed=1)(x, training=True)
    assert ((y == 0) | (y == 2)).all() and all(len(set(r)) == 1 for r in y.tolist())
    m = ref.dropout_mask(1, 1, 50, 40, 0.5, broadcast_cols=True)
    np.testing.assert_array_equal(y != 0, m)


def test_dropout_seed_from_global_stream():
    x = np.ones((32, 32), np.float32)
    ranvier._random.seed(11)
    y1 = layers.Dropout(0.5)(x, training=True)
    ranvier._random.seed(11)
    y2 = layers.Dropout(0.5)(x, training=True)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "0.5", None, True])
def test_dropout_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(rate)


# ----------------------------------------------------------------------------- thread independence
def test_results_independent_of_thread_count(rng):
    if not ranvier.build_info()["openmp"]:
        pytest.skip("serial build")
    x = f32(rng.normal(0, 1, (257, 1031)))
    dy = f32(rng.normal(0, 1, (257, 1031)))
    mk = [lambda: layers.BatchNormalization(), lambda: layers.LayerNormalization(),
          lambda: layers.Dropout(0.3, seed=5), lambda: layers.Dense(1031, activation="tanh",
                                                                     kernel_initializer=initializers.GlorotUniform(1))]
    try:
        for make in mk:
            results = []
            for threads in (1, 2):
                ranvier.set_num_threads(threads)
                layer = make()
                layer.build((None, 1031))
                y, _, dx, grads = core_pass(layer, x, dy)
                results.append((y, dx, grads, layer.get_weights()))
            (y1, dx1, g1, w1), (y2, dx2, g2, w2) = results
            name = type(layer).__name__
            np.testing.assert_array_equal(y1, y2, err_msg=name)
            np.testing.assert_array_equal(dx1, dx2, err_msg=name)
            for a, b in zip(g1, g2):
                if a is not None:
                    np.testing.assert_array_equal(a, b, err_msg=name)
            for a, b in zip(w1, w2):
                np.testing.assert_array_equal(a, b, err_msg=name)
    finally:
        ranvier.set_num_threads(0)


# ----------------------------------------------------------------------------- activation layers
def test_activation_layers_values(isa):
    x = np.array([[-10, -5, 0, 5, 10]], np.float32)
    np.testing.assert_array_equal(layers.ReLU()(x), [[0, 0, 0, 5, 10]])
    np.testing.assert_array_equal(layers.ReLU(negative_slope=0.5)(x), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_array_equal(layers.ReLU(max_value=5)(x), [[0, 0, 0, 5, 5]])
    np.testing.assert_array_equal(layers.ReLU(threshold=5)(x), [[0, 0, 0, 0, 10]])
    np.testing.assert_array_equal(layers.ReLU(negative_slope=0.5, max_value=5, threshold=5)(x),
                                  [[-7.5, -5, -2.5, 0, 5]])
    np.testing.assert_allclose(layers.LeakyReLU()(x), [[-3, -1.5, 0, 5, 10]], rtol=1e-6)  # layer default 0.3
    np.testing.assert_allclose(layers.LeakyReLU(alpha=0.1)(x), [[-1, -0.5, 0, 5, 10]], rtol=1e-6)
    np.testing.assert_allclose(layers.ELU(alpha=2.0)(x), [[2 * math.expm1(-10), 2 * math.expm1(-5), 0, 5, 10]],
                               rtol=1e-6)
    np.testing.assert_allclose(layers.Softmax()(x), ref.softmax(x.astype(np.float64)), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(layers.Activation("tanh")(x), np.tanh(x.astype(np.float64)), rtol=1e-6)
    np.testing.assert_array_equal(layers.Activation(None)(x), x)
    assert layers.Softmax().output_activation_kind == "linear"  # unbuilt
    s = layers.Softmax()
    s.build((None, 5))
    assert s.output_activation_kind == "softmax"


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softmax", "elu"])
def test_activation_layer_backward(isa, act, rng):
    layer = layers.Activation(act)
    layer.build((None, 9))
    x = f32(rng.normal(0, 2, (6, 9)))
    dy = f32(rng.normal(0, 1, (6, 9))).astype(np.float64)
    y, _, dx, _ = core_pass(layer, x, dy)
    y_ref = ref.activation(act, x.astype(np.float64))
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-7)
    # activation kernels are accurate to a few ulps; derivatives are O(1) expressions of y
    np.testing.assert_allclose(dx, ref.activation_backward(act, x.astype(np.float64), y_ref, dy),
                               rtol=2e-5, atol=2e-6)
    _, _, dxp, _ = core_pass(layer, x, dy, pre=True)
    np.testing.assert_array_equal(dxp, f32(dy))


def test_flatten(isa):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    f = layers.Flatten()
    y = f(x)
    np.testing.assert_array_equal(y, x.reshape(2, 12))
    assert f.compute_output_shape((None, 3, 4)) == (None, 12)
    assert f._core_layer.in_features == 12
    with pytest.raises(ValueError, match="expected input with 12 features"):
        f(np.zeros((2, 5, 4), np.float32))


def test_dense_on_3d_input():
    layer = layers.Dense(5)
    x = f32(np.random.default_rng(0).normal(0, 1, (2, 3, 4)))
    y = layer(x)
    assert y.shape == (2, 3, 5)
    k, b = layer.get_weights()
    np.testing.assert_allclose(y, x.astype(np.float64) @ k + b, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 5)


# ----------------------------------------------------------------------------- Python API
def test_auto_names():
    layers._base.reset_uids()
    assert layers.Dense(2).name == "dense"
    assert layers.Dense(2).name == "dense_1"
    assert layers.BatchNormalization().name == "batch_normalization"
    assert layers.LeakyReLU().name == "leaky_re_lu"   # Keras's snake case
    assert layers.ReLU().name == "re_lu"
    assert layers.Dense(2, name="head").name == "head"
    assert layers.Dense(2).name == "dense_2"


def test_dense_config_round_trip():
    layer = layers.Dense(7, activation="swish", use_bias=False, kernel_initializer=initializers.HeNormal(seed=3),
                         kernel_regularizer="l2", activity_regularizer=regularizers.L1(0.1),
                         kernel_constraint="max_norm", name="d")
    cfg = layer.get_config()
    assert cfg["units"] == 7 and cfg["activation"] == "silu" and cfg["use_bias"] is False
    assert cfg["kernel_initializer"] == {"module": "keras.initializers", "class_name": "HeNormal",
                                         "config": {"seed": 3, "input_axes": None, "output_axes": None},
                                         "registered_name": None}  # Keras 3.15.1's keys
    assert cfg["quantization_config"] is None
    assert cfg["kernel_regularizer"]["class_name"] == "L2"
    assert cfg["activity_regularizer"]["config"] == {"l1": 0.1}
    assert cfg["kernel_constraint"] == {"module": "keras.constraints", "class_name": "MaxNorm",
                                        "config": {"max_value": 2, "axis": 0}, "registered_name": None}
    assert cfg["dtype"]["config"]["name"] == "float32"
    clone = layers.Dense.from_config(cfg)
    assert clone.get_config() == cfg
    a, b = layer(np.ones((2, 3), np.float32)), None
    b = clone(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(a, b)  # seeded initializer: same weights
    d = layers.deserialize(layers.serialize(layer))
    assert isinstance(d, layers.Dense) and d.built and d.get_config() == cfg


@pytest.mark.parametrize("layer", [
    layers.Dropout(0.3, seed=2), layers.BatchNormalization(momentum=0.9), layers.LayerNormalization(epsilon=1e-5),
    layers.Flatten(), layers.Activation("relu"), layers.ReLU(max_value=6.0), layers.LeakyReLU(0.1),
    layers.ELU(0.5), layers.Softmax()])
def test_config_round_trip(layer):
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    assert layers.deserialize(layers.serialize(layer)).get_config() == cfg


def test_keras_default_arguments():
    d = layers.Dense(3).get_config()
    assert d["activation"] == "linear" and d["use_bias"] is True
    assert d["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert d["bias_initializer"]["class_name"] == "Zeros"
    bn = layers.BatchNormalization().get_config()
    assert (bn["axis"], bn["momentum"], bn["epsilon"], bn["center"], bn["scale"]) == (-1, 0.99, 1e-3, True, True)
    assert bn["gamma_initializer"]["class_name"] == "Ones"
    assert bn["moving_variance_initializer"]["class_name"] == "Ones"
    assert layers.LeakyReLU().negative_slope == 0.3
    assert layers.ReLU().get_config()["max_value"] is None


def test_weights_protocol_and_views():
    layer = layers.Dense(3)
    layer.build((None, 2))
    assert layer._weight_specs() == [("kernel", (2, 3), True), ("bias", (3,), True)]
    ws = layer.weights
    assert [w.name for w in ws] == ["kernel", "bias"] and ws[0].path == f"{layer.name}/kernel"
    assert ws[0].shape == (2, 3) and np.asarray(ws[0]).shape == (2, 3)
    ws[1].assign([1, 2, 3])
    np.testing.assert_array_equal(layer.get_weights()[1], [1, 2, 3])
    # _adopt_storage: copy into the caller's buffers and compute from them afterwards
    flat = np.zeros(9, np.float32)
    gflat = np.zeros(9, np.float32)
    params = [flat[:6].reshape(2, 3), flat[6:]]
    grads = [gflat[:6].reshape(2, 3), gflat[6:]]
    before = layer.get_weights()
    layer._adopt_storage(params, grads)
    np.testing.assert_array_equal(flat[6:], [1, 2, 3])
    np.testing.assert_array_equal(params[0], before[0])
    flat[:6] = 1.0
    np.testing.assert_allclose(layer(np.ones((1, 2), np.float32)), [[3, 4, 5]])
    layer.set_weights([np.zeros((2, 3)), np.zeros(3)])
    assert (flat == 0).all()
    core_pass(layer, np.ones((4, 2), np.float32), np.ones((4, 3)))
    np.testing.assert_array_equal(gflat, [4] * 6 + [4] * 3)
    with pytest.raises(ValueError, match="_adopt_storage"):
        layer._adopt_storage([np.zeros((3, 2), np.float32), flat[6:]], grads)
    # the C++ object is a _core.Layer the network can hold
    assert isinstance(layer._core_layer, _core.Layer)
    net = _core.Network()
    net.add(layer._core_layer)


def test_trainable_flag_changes_specs():
    layer = layers.Dense(2)
    layer.build((None, 3))
    layer.trainable = False
    assert layer._weight_specs() == [("kernel", (3, 2), False), ("bias", (2,), False)]
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    layer.trainable = True
    assert len(layer.trainable_weights) == 2


def test_set_weights_validation():
    layer = layers.Dense(4)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expecting 2 weights"):
        layer.set_weights([np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(4, 3\)"):
        layer.set_weights([np.zeros((4, 3)), np.zeros(4)])
    with pytest.raises(ValueError, match="count_params"):
        layers.Dense(2).count_params()


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", None, True])
def test_dense_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        layers.Dense(units)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match=r"kernel_initializer.*glorot_uniform"):
        layers.Dense(3, kernel_initializer="glorot_unifrom")
    with pytest.raises(ValueError, match="activation"):
        layers.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="kernel_regularizer"):
        layers.Dense(3, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="bias_constraint"):
        layers.Dense(3, bias_constraint="positive")
    with pytest.raises(ValueError, match="kernel_regularizer"):
        layers.Dense(3, kernel_regularizer=lambda w: 0.0)
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        layers.Dense(3, foo=1)
    with pytest.raises(ValueError, match="epsilon"):
        layers.BatchNormalization(epsilon=0)
    with pytest.raises(ValueError, match="max_value"):
        layers.ReLU(max_value=-1)


def test_wrong_feature_count_message():
    layer = layers.Dense(64)
    layer.build((None, 20))
    with pytest.raises(ValueError, match=r"Dense\(64\) expected input with 20 features, got x.shape=\(128, 30\)"):
        layer(np.zeros((128, 30), np.float32))
    with pytest.raises(TypeError, match="real numbers"):
        layer(np.array([["a"] * 20]))
    with pytest.raises(ValueError, match="rank"):
        layers.Dense(3)(np.zeros(5, np.float32))


def test_input_and_input_layer():
    t = layers.Input(shape=(20,))
    assert t.shape == (None, 20) and t._is_keras_input
    assert ranvier.Input(shape=(8, 8), batch_size=4).shape == (4, 8, 8)
    il = layers.InputLayer(shape=(3,))
    assert il.shape == (None, 3) and il.get_config()["batch_shape"] == [None, 3]
    with pytest.raises(ValueError, match="shape"):
        layers.Input(shape=(0,))
    with pytest.raises(ValueError, match="shape"):
        layers.Input()
    d = layers.Dense(3, input_shape=(5,))
    assert d._input_shape_hint == (None, 5)


def test_int_input_is_accepted_and_output_is_float32():
    y = layers.Dense(2)(np.ones((3, 4), dtype=np.int64))
    assert y.dtype == np.float32 and y.shape == (3, 2)


def test_activity_regularizer_in_layer_call(rng):
    layer = layers.Dense(3, activity_regularizer=regularizers.L2(0.5))
    x = f32(rng.normal(0, 1, (4, 2)))
    y = layer(x).astype(np.float64)
    assert layer.losses[-1] == pytest.approx(0.5 * (y * y).sum() / 4, rel=1e-5)
