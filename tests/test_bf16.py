"""mixed_bfloat16: the bf16 GEMM (the avx512bf16 tier's vdpbf16ps kernels where the CPU has
them, and the emulation on every other tier) against a NumPy reference, the dtype policy
API, Dense under the policy, saving and the C loader, and training accuracy against float32.

Tolerance of the GEMM tests (written once, in ``_check``): both paths multiply the
bfloat16-rounded inputs exactly (a product of two bfloat16 values has at most 16
significant bits, so it fits a float32) and sum the k products in float32. Whatever the
order of the sums (vdpbf16ps adds a pair's two products one after the other; the
emulation runs the float32 kernel's FMA chain; both split k into blocks), each sum is one
float32 rounding, so the classic bound for recursive summation gives

    |C - R| <= gamma_{k+3} * (|alpha| |A_r| @ |B_r| + |beta C0| + |bias|),
    gamma_n = n u / (1 - n u),  u = 2**-24,

against R, the float64 result on the rounded inputs (the +3 covers alpha's product, the
fmadd with beta*C and the bias add). It is a worst case, not a statistical estimate, so
the tests cannot be flaky; the float32 GEMM tests use the same bound.
"""
import ctypes

import numpy as np
import pytest

import ranvier
from ranvier import _core, _runtime
from ranvier import mixed_precision as mp

from conftest import SUPPORTED_ISAS, forced_isa
import c_api_ctypes

U = 2.0 ** -24


# ----------------------------------------------------------------------------- reference
def bf16_round(x):
    """Round-to-nearest-even to bfloat16, returned as float32, written from the definition:
    the two bfloat16 neighbours of x (truncation and the next one up) compared in float64,
    a tie going to the one with an even last mantissa bit. NaN stays NaN, +-inf stay, and
    float32 denormals become signed zero (as vcvtne2ps2bf16 does)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    finite = np.isfinite(x)
    lo_bits = np.where(finite, bits & np.uint32(0xFFFF0000), 0).astype(np.uint32)
    lo = lo_bits.view(np.float32).astype(np.float64)
    hi_bits = (lo_bits.astype(np.uint64) + 0x10000).astype(np.uint32)  # next bf16 away from 0
    hi = hi_bits.view(np.float32).astype(np.float64)
    # past the largest bfloat16 the next one up is 2**128 (IEEE rounds as if the exponent
    # were unbounded, then overflows to infinity)
    hi = np.where(np.isinf(hi), np.copysign(2.0 ** 128, hi), hi)
    xd = np.where(finite, x, 0).astype(np.float64)
    d_lo, d_hi = np.abs(xd - lo), np.abs(hi - xd)
    even_lo = ((lo_bits >> 16) & 1) == 0
    pick_lo = (d_lo < d_hi) | ((d_lo == d_hi) & even_lo)
    out = np.where(pick_lo, lo_bits, hi_bits).view(np.float32).copy()
    exp = bits & np.uint32(0x7F800000)
    out[exp == 0] = np.copysign(np.float32(0), x[exp == 0])  # denormals and zeros
    out[np.isinf(x)] = x[np.isinf(x)]
    out[np.isnan(x)] = np.nan
    return out


def _op(a, t):
    return a.T if t else a


def _reference(a, b, ta, tb, alpha=1.0, beta=0.0, c0=None, bias=None, relu=False):
    """float64 result on the bf16-rounded inputs, and the bound of the module docstring."""
    ar = _op(bf16_round(a).astype(np.float64), ta)
    br = _op(bf16_round(b).astype(np.float64), tb)
    r = alpha * (ar @ br)
    scale = abs(alpha) * (np.abs(ar) @ np.abs(br))
    if beta != 0.0:
        r = r + beta * c0.astype(np.float64)
        scale = scale + abs(beta) * np.abs(c0)
    if bias is not None:
        r = r + bias
        scale = scale + np.abs(bias)
    if relu:
        r = np.maximum(r, 0.0)
    n = ar.shape[1] + 3
    gamma = n * U / (1 - n * U)
    return r, gamma * scale + 1e-30


def _check(c, ref, bound):
    err = np.abs(c.astype(np.float64) - ref)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), (f"at {worst}: got {c[worst]}, reference {ref[worst]}, "
                                  f"error {err[worst]:.3g} > bound {bound[worst]:.3g}")


def _operands(rng, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


@pytest.fixture(params=SUPPORTED_ISAS)
def tier(request):
    """Every tier this CPU runs: the native bf16 kernels on avx512bf16, the emulation below."""
    with forced_isa(request.param) as name:
        yield name


@pytest.fixture(autouse=True)
def _float32_policy_around_each_test():
    mp.set_global_policy(None)
    yield
    mp.set_global_policy(None)


# ----------------------------------------------------------------------------- rounding
def test_rounding_matches_the_definition_on_hostile_values():
    specials = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 3.4028235e38, -3.4028235e38,
                         1e-45, -1e-45, 1.17549435e-38, 1.1754942e-38, 65504.0, 1.00390625, 1.0078125,
                         1.01171875, 1.0 + 2**-8 + 2**-20, 3.0, 1e-30],
                        dtype=np.float32)
    ties = np.array([0x3F808000, 0x3F818000, 0xBF808000, 0x7F7F8000, 0x00808000], dtype=np.uint32).view(np.float32)
    rng = np.random.default_rng(0)
    rand = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([specials, ties, rand])
    got, want = _core._round_bf16(x), bf16_round(x)
    assert np.array_equal(got.view(np.uint32)[~np.isnan(want)], want.view(np.uint32)[~np.isnan(want)])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.all((got.view(np.uint32) & 0xFFFF) == 0), "a bfloat16 value has 16 zero low bits"
    assert _core._round_bf16(np.array([3.4028235e38], np.float32))[0] == np.inf  # past the largest bf16


def test_rounding_agrees_with_ml_dtypes_on_normal_numbers():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(50000) * np.exp(rng.uniform(-60, 60, 50000))).astype(np.float32)
    x = x[np.abs(x) >= np.finfo(np.float32).tiny]
    want = x.astype(ml_dtypes.bfloat16).astype(np.float32)
    assert np.array_equal(_core._round_bf16(x), want)


# ----------------------------------------------------------------------------- GEMM shapes
SHAPES = [
    (1, 1, 1), (1, 1, 2), (3, 5, 1), (4, 1, 7), (5, 33, 2),    # k = 1 and 2, tiny
    (13, 37, 17), (12, 32, 31), (25, 65, 63), (7, 100, 3),     # edge tiles (MR = 12, NR = 32), k odd
    (128, 256, 64), (64, 10, 128), (1, 256, 784), (4, 300, 129),  # W1's layers, few rows
    (97, 70, 801), (40, 50, 1601),                             # k past one block (kc = 800), odd
]


@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)],
                         ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_bgemm_matches_the_rounded_reference(tier, rng, m, n, k, ta, tb):
    a, b = _operands(rng, m, n, k, ta, tb)
    c = np.full((m, n), np.nan, dtype=np.float32)
    _core._bgemm_full(a, b, c, ta, tb)
    ref, bound = _reference(a, b, ta, tb)
    _check(c, ref, bound)


@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False)], ids=["nn", "nt", "tn"])
def test_bgemm_epilogue_alpha_beta_bias_relu(tier, rng, ta, tb):
    m, n, k = 29, 45, 77
    a, b = _operands(rng, m, n, k, ta, tb)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    c = c0.copy()
    _core._bgemm_full(a, b, c, ta, tb, alpha=0.75, beta=-1.5, bias=bias, relu=True)
    ref, bound = _reference(a, b, ta, tb, 0.75, -1.5, c0, bias, relu=True)
    _check(c, ref, bound)


def test_bgemm_rounds_its_inputs(tier, rng):
    """The products really are of bfloat16 values: against the unrounded float64 product the
    error is far past the float32 bound, and against the rounded one it is inside it."""
    m, n, k = 64, 64, 256
    a, b = _operands(rng, m, n, k, False, False)
    c = np.zeros((m, n), np.float32)
    _core._bgemm_full(a, b, c)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    ref, bound = _reference(a, b, False, False)
    _check(c, ref, bound)
    assert np.median(np.abs(c - exact) / bound) > 10.0


@pytest.mark.parametrize("k", [1, 7, 784, 1601])
def test_a_row_gets_the_same_bits_alone_or_in_a_batch(tier, rng, k):
    """predict on 1..4 samples gives each row the bits it gets inside a larger batch, and so
    do last tiles of 5 to 8 rows (the 8-row tile) and 9 to 13 rows."""
    a, b = _operands(rng, 40, 70, k, False, False)
    bias = rng.standard_normal(70).astype(np.float32)
    full = np.zeros((40, 70), np.float32)
    _core._bgemm_full(a, b, full, bias=bias, relu=True)
    for rows in (slice(0, 1), slice(5, 7), slice(9, 12), slice(20, 24), slice(3, 8), slice(30, 38),
                 slice(1, 10), slice(14, 27)):
        part = np.zeros((rows.stop - rows.start, 70), np.float32)
        _core._bgemm_full(np.ascontiguousarray(a[rows]), b, part, bias=bias, relu=True)
        assert np.array_equal(part, full[rows])


def test_bgemm_nan_and_inf_propagate_like_the_reference(tier, rng):
    m, n, k = 20, 40, 33
    a, b = _operands(rng, m, n, k, False, False)
    a[3, 5] = np.nan
    a[7, :] = np.inf          # row 7: +inf times signed values: +-inf sums, NaN where both meet
    b[:, 11] = 0.0
    b[2, 17] = -np.inf
    b[4, 30] = np.float32(3.4e38)  # finite in float32, past the largest bfloat16: rounds to inf
    c = np.zeros((m, n), np.float32)
    _core._bgemm_full(a, b, c)
    ar, br = bf16_round(a).astype(np.float64), bf16_round(b).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = ar @ br
    assert np.array_equal(np.isnan(c), np.isnan(ref))
    finite = np.isfinite(ref)
    assert np.array_equal(c[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)].astype(np.float32))
    with np.errstate(invalid="ignore", over="ignore"):
        _, bound = _reference(np.where(np.isfinite(a), a, 0), np.where(np.abs(b) < 3e38, b, 0), False, False)
    assert np.all(np.abs(c[finite] - ref[finite]) <= bound[finite])


def test_bgemm_ldc_leaves_the_rest_of_c_alone(tier, rng):
    m, n, k = 30, 45, 67
    a, b = _operands(rng, m, n, k, False, True)
    wide = np.full((m, n + 7), 5.0, dtype=np.float32)
    _core._bgemm_full(a, b, wide[:, :n], False, True)
    ref, bound = _reference(a, b, False, True)
    _check(wide[:, :n], ref, bound)
    assert np.all(wide[:, n:] == 5.0)


def test_bgemm_k_zero_and_alpha_zero_write_the_epilogue(tier):
    c = np.ones((3, 4), np.float32)
    bias = np.arange(4, dtype=np.float32)
    _core._bgemm_full(np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32), c, beta=2.0, bias=bias)
    assert np.array_equal(c, 2.0 + np.broadcast_to(bias, (3, 4)))


def test_bgemm_bits_do_not_depend_on_the_thread_count(tier, rng):
    for ta, tb in [(False, False), (False, True), (True, False)]:
        a, b = _operands(rng, 300, 250, 900, ta, tb)  # 135 MFLOP: every thread count splits it
        outs = []
        for nt in (1, 2, 3, 4):
            c = np.zeros((300, 250), np.float32)
            _core._bgemm_full(a, b, c, ta, tb, nthreads=nt)
            outs.append(c)
        for nt, c in zip((2, 3, 4), outs[1:]):
            assert np.array_equal(outs[0], c), f"ta={ta} tb={tb}: {nt} threads changed the bits"
    a, b = _operands(rng, 3, 2000, 1500, False, False)  # few rows: columns split (18 MFLOP)
    outs = []
    for nt in (1, 2, 3):
        c = np.zeros((3, 2000), np.float32)
        _core._bgemm_full(a, b, c, nthreads=nt)
        outs.append(c)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


@pytest.mark.parametrize("kc,mc", [(63, 24), (2, 12), (130, 36)])
def test_bgemm_small_blocks_stay_within_the_bound(tier, rng, kc, mc):
    """Many k-blocks (an odd kc is rounded up to whole pairs), row blocks and panels: the
    same bound, and the same bits at every thread count."""
    try:
        _core._gemm_tuning(kc=kc, mc=mc, nc=64, parallel_min_flops=0.0)
        for ta, tb in [(False, False), (True, True)]:
            a, b = _operands(rng, 75, 150, 201, ta, tb)
            ref, bound = _reference(a, b, ta, tb)
            outs = []
            for nt in (1, 3):
                c = np.zeros((75, 150), np.float32)
                _core._bgemm_full(a, b, c, ta, tb, nthreads=nt)
                _check(c, ref, bound)
                outs.append(c)
            assert np.array_equal(outs[0], outs[1])
    finally:
        _core._gemm_tuning(reset=True)


@pytest.mark.skipif("avx512bf16" not in SUPPORTED_ISAS, reason="this CPU has no AVX512_BF16")
def test_native_and_emulated_agree_within_the_bound(rng):
    previous = ranvier.isa()
    try:
        a, b = _operands(rng, 200, 130, 1001, False, True)
        ref, bound = _reference(a, b, False, True)
        outs = {}
        for name in ("avx512bf16", "avx512"):
            _runtime._force_isa(name)
            assert _core._bgemm_native() == (name == "avx512bf16")
            c = np.zeros((200, 130), np.float32)
            _core._bgemm_full(a, b, c, False, True)
            _check(c, ref, bound)
            outs[name] = c
        assert np.all(np.abs(outs["avx512bf16"] - outs["avx512"]) <= 2 * bound)
        assert _core.kernel_names()["bf16_gemm"] == "emulated"
    finally:
        _runtime._force_isa(previous)


@pytest.mark.parametrize("cap", [i for i in SUPPORTED_ISAS])
def test_ranvier_isa_caps_the_bf16_tier(cap):
    """RANVIER_ISA is a cap: below avx512bf16 the bf16 instructions are off and bgemm
    emulates; at avx512bf16 (where the CPU has it) it runs natively."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, RANVIER_ISA=cap)
    code = ("import ranvier; from ranvier import _core; "
            "print(ranvier.isa(), _core._bgemm_native(), _core.kernel_names()['bf16_gemm'])")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    isa, native, name = r.stdout.split()
    assert isa == cap and native == str(cap == "avx512bf16")
    assert (name == "emulated") == (cap != "avx512bf16")


# ----------------------------------------------------------------------------- policy API
def test_policy_objects_follow_keras():
    p = mp.DTypePolicy("mixed_bfloat16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_bfloat16", "bfloat16", "float32")
    assert mp.Policy is mp.DTypePolicy and ranvier.DTypePolicy is mp.DTypePolicy
    assert mp.DTypePolicy("mixed_float16").compute_dtype == "float16"
    assert mp.DTypePolicy("bfloat16").variable_dtype == "bfloat16"
    assert mp.DTypePolicy.from_config(p.get_config()) == p
    assert repr(p) == '<DTypePolicy "mixed_bfloat16">'
    with pytest.raises(ValueError, match="Cannot convert 'mixed_int8'"):
        mp.DTypePolicy("mixed_int8")
    with pytest.raises(TypeError, match="name"):
        mp.DTypePolicy(3)


def test_global_policy_is_captured_at_construction():
    assert mp.global_policy().name == "float32"
    before = ranvier.layers.Dense(2)
    mp.set_global_policy("mixed_bfloat16")
    assert mp.global_policy() == mp.DTypePolicy("mixed_bfloat16")
    after = ranvier.layers.Dense(2)
    override = ranvier.layers.Dense(2, dtype="float32")
    mp.set_global_policy(mp.DTypePolicy("float32"))
    later = ranvier.layers.Dense(2)
    assert [d.dtype_policy.name for d in (before, after, override, later)] == [
        "float32", "mixed_bfloat16", "float32", "float32"]
    assert after.dtype == after.variable_dtype == "float32" and after.compute_dtype == "bfloat16"
    assert mp.DTypePolicy(None).name == "float32"


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float64"])
def test_unsupported_policies_say_what_is_supported(name):
    with pytest.raises(ValueError, match=r"mixed_bfloat16 or mixed_float16; got dtype='%s'" % name):
        ranvier.layers.Dense(2, dtype=name)
    with pytest.raises(ValueError, match=r"Supported policies: float32, mixed_bfloat16, mixed_float16"):
        mp.set_global_policy(name)
    with pytest.raises(ValueError, match="mixed_bfloat16 or mixed_float16"):
        ranvier.layers.BatchNormalization(dtype=mp.DTypePolicy(name))
    assert mp.global_policy().name == "float32"  # a refused policy leaves the global one


def test_set_global_policy_rejects_non_policies():
    with pytest.raises(ValueError, match="Invalid `policy` argument"):
        mp.set_global_policy(3.0)
    with pytest.raises(ValueError, match="Cannot convert"):
        mp.set_global_policy("mixed_nonsense")


def test_layer_config_round_trip_keeps_the_policy():
    d = ranvier.layers.Dense(3, activation="relu", dtype="mixed_bfloat16")
    cfg = d.get_config()
    assert cfg["dtype"] == {"module": "keras", "class_name": "DTypePolicy",
                            "config": {"name": "mixed_bfloat16"}, "registered_name": None}
    assert ranvier.layers.Dense.from_config(cfg).dtype_policy.name == "mixed_bfloat16"
    assert ranvier.layers.Dense(3, dtype=np.float32).dtype_policy.name == "float32"


# ----------------------------------------------------------------------------- Dense
def test_dense_forward_and_backward_round_the_gemm_inputs(tier, rng):
    batch, fin, units = 37, 53, 29
    layer = ranvier.layers.Dense(units, activation="relu", dtype="mixed_bfloat16")
    x = rng.standard_normal((batch, fin)).astype(np.float32)
    y = layer(x)
    w, bias = (np.asarray(v) for v in layer.weights)
    assert y.dtype == np.float32
    ref, bound = _reference(x, w, False, False, bias=bias, relu=True)
    _check(y, ref, bound)

    # backward through the core layer: dz = relu'(.) * dy, dW = x^T dz, dx = dz W^T, all bf16 inputs
    core = layer._core_layer
    y_train = np.empty_like(y)
    core.reserve(batch)
    core.forward(x, y_train, True, 1)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dz = np.where(y_train > 0, dy, 0).astype(np.float32)
    dx = np.zeros_like(x)
    core.backward(x, y_train, dy.copy(), dx)
    dw = np.asarray(layer._grads[0])
    ref_dw, bound_dw = _reference(x, dz, True, False)
    _check(dw, ref_dw, bound_dw)
    ref_dx, bound_dx = _reference(dz, w, False, True)
    _check(dx, ref_dx, bound_dx)


def test_float32_dense_is_unchanged_by_the_policy_machinery(rng):
    x = rng.standard_normal((16, 40)).astype(np.float32)
    layer = ranvier.layers.Dense(8)
    w, b = (np.asarray(v) for v in layer.weights) if layer.built else (None, None)
    y = layer(x)
    w, b = (np.asarray(v) for v in layer.weights)
    ref = x.astype(np.float64) @ w + b
    assert np.max(np.abs(y - ref)) < 1e-4 and not layer._core_layer.bf16


@pytest.mark.parametrize("make", [
    lambda d: ranvier.layers.BatchNormalization(dtype=d),
    lambda d: ranvier.layers.LayerNormalization(dtype=d),
    lambda d: ranvier.layers.Activation("softmax", dtype=d),
    lambda d: ranvier.layers.Softmax(dtype=d),
    lambda d: ranvier.layers.Dropout(0.3, seed=1, dtype=d),
], ids=["batchnorm", "layernorm", "activation-softmax", "softmax", "dropout"])
def test_layers_without_gemms_compute_in_float32_under_the_policy(rng, make):
    """Only Dense's GEMM inputs are rounded: normalization statistics, softmax and the
    rest are bitwise what they are under float32 (training and inference)."""
    x = (rng.standard_normal((64, 19)) * 3).astype(np.float32)
    a, b = make("float32"), make("mixed_bfloat16")
    assert b.compute_dtype == "bfloat16" and b.dtype == "float32"
    for training in (True, False):
        ya, yb = a(x, training=training), b(x, training=training)
        assert ya.dtype == yb.dtype == np.float32
        assert np.array_equal(ya, yb)
    for va, vb in zip(a.weights, b.weights):  # e.g. BatchNormalization's moving statistics
        assert np.asarray(vb).dtype == np.float32 and np.array_equal(np.asarray(va), np.asarray(vb))


# ----------------------------------------------------------------------------- models
def _small_model(policy):
    ranvier.utils.set_random_seed(3)
    return ranvier.Sequential([
        ranvier.Input(shape=(12,)),
        ranvier.layers.Dense(32, activation="relu", dtype=policy),
        ranvier.layers.BatchNormalization(dtype=policy),
        ranvier.layers.Dense(4, activation="softmax", dtype=policy)])


def test_model_trains_saves_and_loads_the_same_computation(tmp_path, rng):
    x = rng.standard_normal((256, 12)).astype(np.float32)
    y = rng.integers(0, 4, 256)
    mp.set_global_policy("mixed_bfloat16")
    m = _small_model(None)
    mp.set_global_policy("float32")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = m.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert all(np.isfinite(hist.history["loss"]))
    assert all(np.asarray(v).dtype == np.float32 for v in m.weights)  # master weights
    assert all(np.asarray(v).dtype == np.float32 for v in m.optimizer.variables[1:])  # lr, Adam's slots
    pred = m.predict(x, verbose=0)
    assert pred.dtype == np.float32
    path = tmp_path / "mixed.safetensors"
    m.save(path)
    loaded = ranvier.load_model(path)
    assert [lay.dtype_policy.name for lay in loaded.layers] == ["mixed_bfloat16"] * 3
    assert np.array_equal(loaded.predict(x, verbose=0), pred)
    # the same weights under float32 compute differently: the policy is what was loaded
    f32 = _small_model("float32")
    f32.build((None, 12))
    f32.set_weights(m.get_weights())
    assert not np.array_equal(f32.predict(x, verbose=0), pred)

    # the C API (what a C or C++ app links) loads the policy from the file too
    assert np.array_equal(c_api_ctypes.predict_file(path, x), pred)


def test_keras_archive_keeps_the_policy(tmp_path, rng):
    pytest.importorskip("h5py")
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(12,)),
                            ranvier.layers.Dense(8, activation="relu", dtype="mixed_bfloat16"),
                            ranvier.layers.Dense(3)])
    x = rng.standard_normal((5, 12)).astype(np.float32)
    pred = m.predict(x, verbose=0)
    m.save(tmp_path / "m.keras")
    loaded = ranvier.load_model(tmp_path / "m.keras")
    assert [lay.dtype_policy.name for lay in loaded.layers] == ["mixed_bfloat16", "float32"]
    assert np.array_equal(loaded.predict(x, verbose=0), pred)


def test_onnx_export_computes_what_ranvier_computes(tmp_path, rng):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(40,)),
                            ranvier.layers.Dense(64, activation="relu", dtype="mixed_bfloat16"),
                            ranvier.layers.Dense(5, dtype="mixed_bfloat16")])
    x = rng.standard_normal((300, 40)).astype(np.float32)
    pred = m.predict(x, verbose=0)
    path = tmp_path / "m.onnx"
    m.export(path, format="onnx", verbose=False)
    out = ort.InferenceSession(str(path)).run(None, {"input": x})[0]
    # float32 sums in another order: the GEMM bound, loosely (two layers, |pred| <= ~5)
    assert np.max(np.abs(out - pred)) < 1e-5 * max(1.0, float(np.max(np.abs(pred))))


def test_loader_refuses_an_unsupported_policy_in_a_file(tmp_path):
    import json
    m = _small_model("float32")
    m.build((None, 12))
    path = tmp_path / "m.safetensors"
    m.save(path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header["__metadata__"]
    key = next(k for k, v in meta.items() if "mixed" not in v and '"DTypePolicy"' in v)
    at = meta[key].index('"Dense"')  # a layer's policy (the model's own dtype entry comes first)
    meta[key] = meta[key][:at] + meta[key][at:].replace('"name": "float32"}', '"name": "float16"}', 1)
    assert '"float16"' in meta[key]
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(len(blob).to_bytes(8, "little") + blob + raw[8 + n:])
    with pytest.raises(ValueError, match="float16"):
        ranvier.load_model(bad)
    h = c_api_ctypes.P()
    assert c_api_ctypes.load(str(bad).encode(), ctypes.byref(h)) != 0
    assert b"'float16'" in c_api_ctypes.last_error() and b"mixed_bfloat16" in c_api_ctypes.last_error()


# ----------------------------------------------------------------------------- accuracy
# Training tests run on the best tier and on the best emulated one (native and emulated
# bf16 where the CPU has AVX512_BF16), on one thread: results are bitwise the same at any
# thread count (test_bgemm_bits_do_not_depend_on_the_thread_count and test_threads.py),
# and one thread keeps them quick on a busy machine.
TRAIN_TIERS = sorted({SUPPORTED_ISAS[-1], [i for i in SUPPORTED_ISAS if i != "avx512bf16"][-1]})


@pytest.fixture(params=TRAIN_TIERS)
def train_tier(request):
    previous, threads = ranvier.isa(), ranvier.get_num_threads()
    _runtime._force_isa(request.param)
    ranvier.set_num_threads(1)
    try:
        yield request.param
    finally:
        ranvier.set_num_threads(threads)
        _runtime._force_isa(previous)


def _digits(upscale=False):
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    img = x.reshape(-1, 8, 8) / 16.0
    if upscale:  # 8x8 -> 24x24 (3x3 blocks) padded to 28x28: MNIST's 784 features
        img = np.pad(np.kron(img, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
    x = img.reshape(len(x), -1).astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(x))
    x, y = x[idx], y[idx]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def _mean_accuracy(policy, units, epochs, batch, data, seeds):
    xtr, ytr, xte, yte = data
    accs = []
    for seed in seeds:
        ranvier.utils.set_random_seed(seed)
        m = ranvier.Sequential([ranvier.Input(shape=(xtr.shape[1],))]
                               + [ranvier.layers.Dense(u, activation="relu", dtype=policy) for u in units]
                               + [ranvier.layers.Dense(10, activation="softmax", dtype=policy)])
        m.compile(optimizer=ranvier.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        m.fit(xtr, ytr, epochs=epochs, batch_size=batch, verbose=0)
        accs.append(float(np.mean(np.argmax(m.predict(xte, verbose=0), axis=1) == yte)))
    return float(np.mean(accs))


def test_digits_mixed_bfloat16_accuracy_within_0_3_points_of_float32(train_tier):
    """sklearn's digits (1200 train / 597 held out), 64-128-64-10, Adam, 30 epochs, 5 seeds:
    the mean held-out accuracy under mixed_bfloat16 is within 0.3 points of float32's. Each
    run is deterministic; averaging 5 seeds makes the comparison about the policy rather
    than one test sample that flips (one sample is 0.17 points)."""
    data = _digits()
    f32 = _mean_accuracy("float32", (128, 64), 30, 32, data, range(5))
    bf = _mean_accuracy("mixed_bfloat16", (128, 64), 30, 32, data, range(5))
    assert f32 > 0.95
    assert abs(f32 - bf) <= 0.003, (f32, bf)


def test_w1_network_mixed_bfloat16_accuracy_within_0_3_points_of_float32(train_tier):
    """W1's network (784-256-128-10 relu, softmax, Adam 1e-3, batch 128) on the digits
    upscaled to 784 features, 20 epochs, 5 seeds: mean held-out accuracy within 0.3 points
    of float32's."""
    data = _digits(upscale=True)
    f32 = _mean_accuracy("float32", (256, 128), 20, 128, data, range(5))
    bf = _mean_accuracy("mixed_bfloat16", (256, 128), 20, 128, data, range(5))
    assert f32 > 0.95
    assert abs(f32 - bf) <= 0.003, (f32, bf)
