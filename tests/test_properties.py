"""Property-based tests, with hypothesis drawing architectures, shapes and
data:

- predictions do not depend on the batch size nor on how a batch is split (bit for bit);
- save -> load -> predict is bit-identical;
- one training step at 1 thread equals one at 2 threads bit for bit (the GEMM and optimizer
  thresholds are lowered so both really split the work);
- random shapes through matmul, the activations and the losses agree with the float64
  NumPy references in tests/reference, within the float32 error bounds the per-area tests
  document (reference.gemm.gemm_tolerance; the activations' RTOL * condition; the losses'
  RTOL_k |ref| plus their log-rounding terms).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import ranvier  # noqa: E402
from ranvier import _core, activations, layers, losses, ops  # noqa: E402
import reference.activations as ref_act  # noqa: E402
import reference.gemm as ref_gemm  # noqa: E402
import reference.losses as ref_loss  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FLT_MIN = float(np.finfo(np.float32).tiny)
U32 = 2.0 ** -24


# ============================================================================ strategies
HIDDEN_ACTS = ["relu", "tanh", "gelu", "sigmoid", "elu", "silu", "softplus", "linear"]


@st.composite
def architectures(draw, max_width=48):
    """(n_in, layer specs) of a random MLP; specs are tuples fed to _build."""
    n_in = draw(st.integers(1, 24))
    specs = []
    for _ in range(draw(st.integers(0, 3))):
        specs.append(("dense", draw(st.integers(1, max_width)), draw(st.sampled_from(HIDDEN_ACTS))))
        extra = draw(st.sampled_from([None, None, "bn", "ln", "dropout"]))
        if extra:
            specs.append((extra,))
    specs.append(("dense", draw(st.integers(1, 6)), draw(st.sampled_from(["linear", "softmax", "sigmoid"]))))
    return n_in, specs


def _build(arch, seed=0):
    n_in, specs = arch
    ranvier.utils.set_random_seed(seed)
    stack = [ranvier.Input(shape=(n_in,))]
    for s in specs:
        if s[0] == "dense":
            stack.append(layers.Dense(s[1], activation=s[2]))
        elif s[0] == "bn":
            stack.append(layers.BatchNormalization())
        elif s[0] == "ln":
            stack.append(layers.LayerNormalization())
        else:
            stack.append(layers.Dropout(0.3))
    return ranvier.Sequential(stack)


def _x(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _perturb_batchnorm(m, seed):
    """Non-trivial moving statistics, so inference-mode BatchNormalization is exercised."""
    rng = np.random.default_rng(seed)
    for layer in m.layers:
        if isinstance(layer, layers.BatchNormalization):
            w = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2, v.shape).astype(np.float32) if i in (0, 3)
                               else rng.standard_normal(v.shape).astype(np.float32) for i, v in enumerate(w)])


# ============================================================================ batch independence
@settings(max_examples=30, **SETTINGS)
@given(arch=architectures(), n=st.integers(1, 300), batch_size=st.integers(1, 400),
       cuts=st.lists(st.integers(1, 299), max_size=4), seed=st.integers(0, 2**16))
def test_predictions_do_not_depend_on_batch_size_or_split(arch, n, batch_size, cuts, seed):
    m = _build(arch, seed)
    _perturb_batchnorm(m, seed)
    x = _x(n, arch[0], seed)
    whole = m.predict(x, batch_size=n, verbose=0)
    assert np.array_equal(m.predict(x, batch_size=batch_size, verbose=0), whole)
    bounds = [0] + sorted({c for c in cuts if c < n}) + [n]
    parts = [m.predict(x[a:b], batch_size=batch_size, verbose=0) for a, b in zip(bounds, bounds[1:])]
    assert np.array_equal(np.concatenate(parts), whole)
    assert np.array_equal(m.predict_on_batch(x), whole)
    assert np.array_equal(m(x), whole)
    # each row alone gives its row of the batch
    i = seed % n
    assert np.array_equal(m.predict(x[i:i + 1], verbose=0), whole[i:i + 1])


# ============================================================================ save / load
@settings(max_examples=15, **SETTINGS)
@given(arch=architectures(max_width=24), opt=st.sampled_from(["sgd", "adam", "rmsprop", "nadam"]),
       steps=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_save_load_predict_is_bit_identical(arch, opt, steps, seed):
    m = _build(arch, seed)
    k = arch[1][-1][1]
    m.compile(optimizer=opt, loss="mse")
    x = _x(40, arch[0], seed)
    y = np.random.default_rng(seed + 1).standard_normal((40, k)).astype(np.float32)
    for _ in range(steps):
        m.train_on_batch(x[:16], y[:16])
    want = m.predict(x, verbose=0)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.safetensors")
        m.save(p)
        loaded = ranvier.models.load_model(p)
    assert np.array_equal(loaded.predict(x, verbose=0), want)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), m.get_weights()))
    # and training continues identically from the loaded copy
    if steps:
        m.train_on_batch(x[16:32], y[16:32])
        loaded.train_on_batch(x[16:32], y[16:32])
        assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), m.get_weights()))


# ============================================================================ threads
@pytest.fixture
def force_parallel():
    """GEMMs and optimizer updates split over threads even when small, so a 2-thread step
    really runs on 2 threads; the previous settings come back afterwards."""
    gemm_before = _core._gemm_tuning()["parallel_min_flops"]
    opt_before = _core.optimizer_parallel_threshold()
    _core._gemm_tuning(parallel_min_flops=0.0)
    _core.set_optimizer_parallel_threshold(1)
    try:
        yield
    finally:
        _core._gemm_tuning(parallel_min_flops=gemm_before)
        _core.set_optimizer_parallel_threshold(opt_before)
        ranvier.set_num_threads(0)


def _one_step(arch, opt, loss, x, y, seed, threads):
    ranvier.set_num_threads(threads)
    m = _build(arch, seed)
    m.compile(optimizer=opt, loss=loss)
    out = m.train_on_batch(x, y)
    m.fit(x, y, batch_size=max(1, len(x) // 3), epochs=1, shuffle=False, verbose=0)
    return out, m.get_weights(), m.optimizer.variables


@settings(max_examples=10, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large,
    HealthCheck.function_scoped_fixture])  # the fixture only sets global knobs, once for all examples
@given(arch=architectures(max_width=96), opt=st.sampled_from(["sgd", "adam", "adamw", "rmsprop", "adagrad",
                                                              "lion", "nadam", "adamax", "ftrl", "adadelta"]),
       n=st.integers(1, 200), seed=st.integers(0, 2**16), loss=st.sampled_from(["mse", "scce", "huber"]))
def test_a_training_step_is_bitwise_the_same_at_1_and_2_threads(force_parallel, arch, opt, n, seed, loss):
    k = arch[1][-1][1]
    x = _x(n, arch[0], seed)
    rng = np.random.default_rng(seed + 2)
    if loss == "scce":
        y, loss = rng.integers(0, k, n), "sparse_categorical_crossentropy"
    else:
        y = rng.standard_normal((n, k)).astype(np.float32)
    l1, w1, s1 = _one_step(arch, opt, loss, x, y, seed, 1)
    l2, w2, s2 = _one_step(arch, opt, loss, x, y, seed, 2)
    assert l1 == l2 or (np.isnan(l1) and np.isnan(l2))
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(w1, w2))
    assert len(s1) == len(s2) and all(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
                                      for a, b in zip(s1, s2))


# ============================================================================ ops vs NumPy
@settings(max_examples=60, **SETTINGS)
@given(m=st.integers(1, 70), n=st.integers(1, 70), k=st.integers(1, 300), ta=st.booleans(), tb=st.booleans(),
       layout=st.sampled_from(["c", "f", "strided"]), seed=st.integers(0, 2**16))
def test_matmul_agrees_with_numpy(m, n, k, ta, tb, layout, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    if layout == "f":
        a, b = np.asfortranarray(a), np.asfortranarray(b)
    elif layout == "strided":
        a, b = np.repeat(a, 2, axis=1)[:, ::2], np.repeat(b, 2, axis=0)[::2]
    got = ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
    assert got.shape == (m, n) and got.dtype == np.float32 and got.flags.c_contiguous
    want = ref_gemm.gemm(a, b, transpose_a=ta, transpose_b=tb)
    tol = ref_gemm.gemm_tolerance(a, b, transpose_a=ta, transpose_b=tb)
    assert np.all(np.abs(got - want) <= tol)


ELEMENTWISE = ["linear", "relu", "leaky_relu", "relu6", "elu", "selu", "celu", "gelu", "sigmoid", "hard_sigmoid",
               "hard_silu", "tanh", "softplus", "softsign", "silu", "mish", "exponential", "log_sigmoid"]
RTOL = 1e-6  # as tests/test_activations.py: a few ulp of the result, scaled by the condition


@settings(max_examples=80, **SETTINGS)
@given(name=st.sampled_from(ELEMENTWISE),
       x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),
                    elements=st.floats(-30, 30, width=32)))
def test_activations_agree_with_the_reference_on_random_shapes(name, x):
    got = getattr(activations, name)(x)
    assert got.shape == x.shape and got.dtype == np.float32
    f, df = ref_act.ACTIVATIONS[name]
    xd = x.astype(np.float64)
    want = f(xd)
    # |y - f(x)| <= RTOL (|f(x)| + |x f'(x)|) + FLT_MIN (test_activations' bound)
    tol = RTOL * (np.abs(want) + np.abs(xd * df(xd))) + FLT_MIN
    assert np.all(np.abs(got - want) <= tol), np.max(np.abs(got - want) / tol)


@settings(max_examples=40, **SETTINGS)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
                    elements=st.floats(-30, 30, width=32)))
def test_softmax_agrees_with_the_reference_on_random_shapes(x):
    got = activations.softmax(x)
    want = ref_act.softmax(x.astype(np.float64))
    cols = x.shape[-1]
    # RTOL per element plus the row sum's rounding (6e-8 per column), relative (test_activations)
    spread = np.abs(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
    tol = (RTOL + 6e-8 * cols) * want * (1 + spread) + FLT_MIN
    assert np.all(np.abs(got - want) <= tol)


def _loss_case(name, n, k, rng):
    """(y_true, y_pred, None) for the losses below (probabilities away from the clip bounds)."""
    if name == "sparse_categorical_crossentropy":
        p = rng.uniform(0.02, 1.0, (n, k))
        p /= p.sum(axis=1, keepdims=True)
        labels = rng.integers(0, k, n)
        return labels, p.astype(np.float32), None
    if name == "categorical_crossentropy":
        p = rng.uniform(0.02, 1.0, (n, k))
        p /= p.sum(axis=1, keepdims=True)
        return np.eye(k)[rng.integers(0, k, n)].astype(np.float32), p.astype(np.float32), None
    if name == "binary_crossentropy":
        return (rng.random((n, k)) > 0.5).astype(np.float32), rng.uniform(0.01, 0.99, (n, k)).astype(np.float32), None
    return rng.standard_normal((n, k)).astype(np.float32) * 3, rng.standard_normal((n, k)).astype(np.float32) * 3, None


LOSSES = ["mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "binary_crossentropy",
          "categorical_crossentropy", "sparse_categorical_crossentropy"]


@settings(max_examples=60, **SETTINGS)
@given(name=st.sampled_from(LOSSES), n=st.integers(1, 60), k=st.integers(1, 40), seed=st.integers(0, 2**16),
       rank3=st.booleans())
def test_losses_agree_with_the_reference_on_random_shapes(name, n, k, seed, rank3):
    rng = np.random.default_rng(seed)
    if name in ("sparse_categorical_crossentropy", "categorical_crossentropy") and k == 1:
        k = 2
    yt, yp, _ = _loss_case(name, n, k, rng)
    want, _ = getattr(ref_loss, name)(yt, yp)
    if rank3 and n % 2 == 0:  # (n/2, 2, k) inputs give (n/2, 2) per-sample losses, same values
        got = getattr(losses, name)(yt.reshape(n // 2, 2, *yt.shape[1:]), yp.reshape(n // 2, 2, k))
        assert got.shape == (n // 2, 2)
        got = got.reshape(n)
    else:
        got = getattr(losses, name)(yt, yp)
        assert got.shape == (n,)
    # tests/test_losses.py's value bound: RTOL_k |ref| with RTOL_k = 1e-6 + 2^-24 k (a few ulp per
    # term plus the k-term sum's rounding); log(1 - q) with 1 - q rounded to float32 (BCE) and the
    # log of the rounded ratio p / sum(p) (categorical CEs) add 4 ulp(1) per unit of y
    rtol = 1e-6 + U32 * k
    M = 0.0
    if name == "log_cosh":  # e + log1p(exp(-2e)) - log 2 cancels: the terms' size (test_losses' magnitude)
        e = yp.astype(np.float64) - yt.astype(np.float64)
        M = np.mean(np.abs(e) + np.logaddexp(-2 * e, 0) + np.log(2), axis=1)
    tol = rtol * (np.abs(want) + M) + FLT_MIN
    if name == "binary_crossentropy":
        y64 = yt.astype(np.float64)
        tol = tol + 4 * U32 * np.mean(np.abs(y64) + np.abs(1 - y64), axis=1)
    if "categorical" in name:
        ysum = np.ones(n) if name.startswith("sparse") else np.sum(np.abs(yt), axis=1)
        tol = tol + 4 * U32 * (ysum + 1)
    assert np.all(np.abs(got - want) <= tol), (np.abs(got - want) / tol).max()
