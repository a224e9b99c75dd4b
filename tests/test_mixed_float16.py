"""mixed_float16: the rounding to IEEE half (F16C on avx2/avx512, the integer scalar kernel),
the f16 GEMM against a NumPy reference, Dense under the policy (Keras's float16 outputs:
overflow to inf), predict's float16 arrays, saving, the C loader, ONNX, and training
accuracy against float32 (with the LossScaleOptimizer compile adds).

Tolerance of the GEMM tests (written once, in ``_check``): the inputs are rounded to half
(np.float16, IEEE's round to nearest even); a product of two half values has at most 22
significant bits, so it is exact in float32, and the k products are summed in float32 (the
float32 kernels, their own order). Each sum is one float32 rounding, so recursive
summation's bound gives

    |C - R| <= gamma_{k+3} * (|alpha| |A_h| @ |B_h| + |beta C0| + |bias|),
    gamma_n = n u / (1 - n u),  u = 2**-24,

against R, the float64 product of the rounded inputs (the +3: alpha's product, the fmadd
with beta*C, the bias add). A worst case, not an estimate: the tests cannot be flaky.
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
F32_TIERS = [i for i in SUPPORTED_ISAS if i != "avx512bf16"]


def f16(x):
    """IEEE half rounding held in float32 (NumPy's conversion: round to nearest even,
    overflow to inf, half subnormals kept)."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


@pytest.fixture(params=F32_TIERS)
def tier(request):
    """Every float32 tier: F16C rounding on avx2/avx512, the scalar kernel on scalar."""
    with forced_isa(request.param) as name:
        yield name


@pytest.fixture(autouse=True)
def _float32_policy_around_each_test():
    mp.set_global_policy(None)
    yield
    mp.set_global_policy(None)


def _same_bits(got, want):
    nan = np.isnan(want)
    return np.array_equal(np.isnan(got), nan) and np.array_equal(got.view(np.uint32)[~nan], want.view(np.uint32)[~nan])


# ----------------------------------------------------------------------------- rounding
def test_rounding_matches_ieee_half_on_hostile_values(tier):
    specials = np.array([0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 65504.0, 65519.996, 65520.0, -65520.0,
                         65536.0, 3.4e38, 2**-14, 2**-14 * (1 - 2**-12), 2**-24, 2**-25, -2**-25,
                         2**-25 * (1 + 2**-20), 3 * 2**-25, 1e-45, -1e-45, 1.17549435e-38, 1.0 + 2**-11,
                         1.0 + 3 * 2**-11, 2049.0, 2051.0], dtype=np.float32)
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 50000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    wide = (rng.standard_normal(50000) * np.exp(rng.uniform(-25, 12, 50000))).astype(np.float32)
    x = np.concatenate([specials, bits, wide])
    want = f16(x)
    assert _same_bits(_core._round_f16(x), want)                 # this tier's kernel
    assert _same_bits(_core._round_f16(x, scalar=True), want)    # the portable one
    want_kernel = "f16-round-scalar" if tier == "scalar" else "f16-round-f16c-avx2"
    assert _core.kernel_names()["f16_round"] == want_kernel  # RANVIER_ISA / the tier picks it
    got = _core._round_f16(specials)
    assert got[7] == 65504.0 and np.isinf(got[8]) and got[14] == 2**-24 and got[15] == 0.0
    assert np.signbit(got[16]) and got[16] == 0.0               # -2**-25: a tie to -0


# ----------------------------------------------------------------------------- GEMM
def _op(a, t):
    return a.T if t else a


def _reference(a, b, ta, tb, alpha=1.0, beta=0.0, c0=None, bias=None, relu=False):
    ar = _op(f16(a).astype(np.float64), ta)
    br = _op(f16(b).astype(np.float64), tb)
    r = alpha * (ar @ br)
    scale = abs(alpha) * (np.abs(ar) @ np.abs(br))
    if beta != 0.0:
        r, scale = r + beta * c0.astype(np.float64), scale + abs(beta) * np.abs(c0)
    if bias is not None:
        r, scale = r + bias, scale + np.abs(bias)
    if relu:
        r = np.maximum(r, 0.0)
    n = ar.shape[1] + 3
    return r, n * U / (1 - n * U) * scale + 1e-30


def _check(c, ref, bound):
    err = np.abs(c.astype(np.float64) - ref)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), (f"at {worst}: got {c[worst]}, reference {ref[worst]}, "
                                  f"error {err[worst]:.3g} > bound {bound[worst]:.3g}")


def _operands(rng, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


SHAPES = [(1, 1, 1), (3, 5, 1), (4, 1, 7), (13, 37, 17), (25, 65, 63), (128, 256, 64), (1, 256, 784),
          (64, 10, 128), (97, 70, 801)]


@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)],
                         ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_hgemm_matches_the_rounded_reference(tier, rng, m, n, k, ta, tb):
    a, b = _operands(rng, m, n, k, ta, tb)
    c = np.full((m, n), np.nan, dtype=np.float32)
    _core._hgemm_full(a, b, c, ta, tb)
    _check(c, *_reference(a, b, ta, tb))


def test_hgemm_epilogue_and_that_it_rounds(tier, rng):
    m, n, k = 29, 45, 77
    a, b = _operands(rng, m, n, k, False, True)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    c = c0.copy()
    _core._hgemm_full(a, b, c, False, True, alpha=0.75, beta=-1.5, bias=bias, relu=True)
    _check(c, *_reference(a, b, False, True, 0.75, -1.5, c0, bias, relu=True))
    # against the unrounded product the error is well past the float32 bound (half keeps 11
    # bits: about 6 times the bound here, against < 1 for a float32 GEMM)
    c = np.zeros((m, n), np.float32)
    _core._hgemm_full(a, b, c, False, True)
    ref, bound = _reference(a, b, False, True)
    assert np.median(np.abs(c - a.astype(np.float64) @ b.T.astype(np.float64)) / bound) > 3.0


def test_hgemm_overflow_and_underflow_are_half_precision(tier):
    """An input past 65504 is inf (Keras's float16 cast), one below 2**-25 is 0; the float32
    sums themselves may exceed 65504 (as a GPU's float32 accumulators)."""
    a = np.array([[70000.0, 1.0], [2.0**-26, 0.0], [300.0, 300.0]], np.float32)
    b = np.array([[1.0, -1.0], [1.0, 1.0]], np.float32)
    c = np.zeros((3, 2), np.float32)
    _core._hgemm_full(a, b, c)
    assert np.isinf(c[0]).all() and np.array_equal(c[1], [0.0, 0.0]) and np.array_equal(c[2], [600.0, 0.0])


def test_hgemm_bits_do_not_depend_on_the_thread_count(tier, rng):
    for ta, tb in [(False, False), (False, True), (True, False)]:
        a, b = _operands(rng, 300, 250, 900, ta, tb)
        outs = []
        for nt in (1, 2, 3):
            c = np.zeros((300, 250), np.float32)
            _core._hgemm_full(a, b, c, ta, tb, nthreads=nt)
            outs.append(c)
        assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


# ----------------------------------------------------------------------------- policy and Dense
def test_policy_objects_follow_keras():
    p = mp.DTypePolicy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16", "float32")
    mp.set_global_policy("mixed_float16")
    d = ranvier.layers.Dense(3)
    assert d.dtype_policy.name == "mixed_float16" and d.compute_dtype == "float16" and d.dtype == "float32"
    assert ranvier.Sequential([ranvier.Input((2,)), d]).dtype_policy.name == "mixed_float16"
    mp.set_global_policy(None)
    assert d.compute_dtype == "float16"  # captured at construction
    cfg = d.get_config()
    assert cfg["dtype"]["config"] == {"name": "mixed_float16"}
    assert ranvier.layers.Dense.from_config(cfg).dtype_policy.name == "mixed_float16"
    assert ranvier.layers.BatchNormalization(dtype="mixed_float16").compute_dtype == "float16"


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float64", "half", "double"])
def test_plain_dtype_policies_are_refused_with_what_to_use(name):
    with pytest.raises(ValueError, match="mixed_float16"):
        ranvier.layers.Dense(2, dtype=name)
    with pytest.raises(ValueError, match="Supported policies: float32, mixed_bfloat16, mixed_float16"):
        mp.set_global_policy(name)
    assert mp.global_policy().name == "float32"


def test_dense_forward_and_backward_are_half_precision(tier, rng):
    batch, fin, units = 37, 53, 29
    layer = ranvier.layers.Dense(units, activation="relu", dtype="mixed_float16")
    x = rng.standard_normal((batch, fin)).astype(np.float32)
    y16 = np.asarray(layer(x))
    assert y16.dtype == np.float16  # Keras's eager output under the policy
    y = y16.astype(np.float32)
    w, bias = (np.asarray(v) for v in layer.weights)
    ref, bound = _reference(x, w, False, False, bias=bias, relu=True)
    # the output's own rounding to half: half an ulp of half (2**-11 relative), plus the sum's bound
    _check(y, ref, bound + np.abs(ref) * 2.0**-11 + 2.0**-25)

    core = layer._core_layer
    assert core.f16 and not core.bf16
    y_train = np.empty_like(y)
    core.reserve(batch)
    core.forward(x, y_train, True, 1)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dz = np.where(y_train > 0, dy, 0).astype(np.float32)
    dx = np.zeros_like(x)
    core.backward(x, y_train, dy.copy(), dx)
    dz = f16(dz)  # Keras's float16 dz; dW, db and dx come out as half values too
    dw, db = np.asarray(layer._grads[0]), np.asarray(layer._grads[1])
    for got, (ref, bound) in ((dw, _reference(x, dz, True, False)), (dx, _reference(dz, w, False, True)),
                              (db, (dz.astype(np.float64).sum(0), np.abs(dz).sum(0) * batch * U * 2))):
        assert np.array_equal(got, f16(got)), "a half value"
        _check(got, ref, bound + np.abs(ref) * 2.0**-11 + 2.0**-25)  # + the rounding to half


def test_dense_output_past_65504_is_inf_as_in_keras():
    """Keras 3.15 (measured): Dense(3, relu) with kernel 100 on inputs 1000 gives inf, and
    the next Dense (mixed-sign kernel) NaN; predict returns float16."""
    mp.set_global_policy("mixed_float16")
    m = ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(3, activation="relu"), ranvier.layers.Dense(2)])
    m.layers[0].set_weights([np.full((4, 3), 100, np.float32), np.zeros(3, np.float32)])
    m.layers[1].set_weights([np.array([[1, -1], [-1, 1], [1, 1]], np.float32), np.zeros(2, np.float32)])
    x = np.full((5, 4), 1000, np.float32)
    hidden = ranvier.Sequential([ranvier.Input((4,)), m.layers[0]]).predict(x, verbose=0)
    assert hidden.dtype == np.float16 and np.isposinf(hidden).all()
    out = m.predict(x, verbose=0)
    assert out.dtype == np.float16 and np.isnan(out).all()
    tiny = ranvier.layers.Dense(1, use_bias=False, kernel_initializer="ones", dtype="mixed_float16")
    assert np.asarray(tiny(np.full((1, 1), 2.0**-26, np.float32)))[0, 0] == 0.0  # underflow to 0


def test_predict_dtypes_follow_keras(rng):
    x = rng.standard_normal((7, 4)).astype(np.float32)
    mp.set_global_policy("mixed_float16")
    m = ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(3), ranvier.layers.Dense(2)])
    p = m.predict(x, verbose=0)
    assert p.dtype == np.float16 and m(x).dtype == np.float16 and m.predict_on_batch(x).dtype == np.float16
    assert m.predict(x, batch_size=3, verbose=0).dtype == np.float16
    last32 = ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(3),
                                 ranvier.layers.Activation("softmax", dtype="float32")])
    assert last32.predict(x, verbose=0).dtype == np.float32
    i = ranvier.Input((4,))
    h = ranvier.layers.Dense(3)(i)
    two = ranvier.Model(i, [h, ranvier.layers.Dense(2, dtype="float32")(h)])
    assert [o.dtype for o in two.predict(x, verbose=0)] == [np.float16, np.float32]
    mp.set_global_policy("mixed_bfloat16")  # unchanged: float32 (an issue asked for it)
    assert ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(2)]).predict(x, verbose=0).dtype == np.float32


# ----------------------------------------------------------------------------- saving
def _small_model():
    ranvier.utils.set_random_seed(3)
    return ranvier.Sequential([ranvier.Input(shape=(12,)),
                               ranvier.layers.Dense(32, activation="tanh", dtype="mixed_float16"),
                               ranvier.layers.BatchNormalization(dtype="mixed_float16"),
                               ranvier.layers.Dense(4, activation="softmax", dtype="mixed_float16")])


def test_model_saves_and_loads_the_same_computation(tmp_path, rng):
    x = rng.standard_normal((256, 12)).astype(np.float32)
    y = rng.integers(0, 4, 256)
    m = _small_model()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, batch_size=32, verbose=0)
    pred = m.predict(x, verbose=0)
    assert pred.dtype == np.float16
    path = tmp_path / "f16.safetensors"
    m.save(path)
    loaded = ranvier.load_model(path)
    assert [lay.dtype_policy.name for lay in loaded.layers] == ["mixed_float16"] * 3
    assert np.array_equal(loaded.predict(x, verbose=0), pred)
    # the C API computes the same (float32 values of the half outputs)
    assert np.array_equal(c_api_ctypes.predict_file(path, x), pred.astype(np.float32))
    pytest.importorskip("h5py")
    k = tmp_path / "f16.keras"
    m.save(k)
    assert np.array_equal(ranvier.load_model(k).predict(x, verbose=0), pred)


def test_onnx_export_computes_what_ranvier_computes(tmp_path, rng):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    m = _small_model()
    m.build((None, 12))
    x = rng.standard_normal((64, 12)).astype(np.float32)
    pred = m.predict(x, verbose=0).astype(np.float32)
    path = tmp_path / "f16.onnx"
    m.export(path, format="onnx", verbose=False)
    out = ort.InferenceSession(str(path)).run(None, {"input": x})[0]
    # float32 sums in another order, then rounded to half: at most one half ulp apart
    assert np.all(np.abs(out - pred) <= np.abs(pred) * 2.0**-10 + 2.0**-24)


# ----------------------------------------------------------------------------- accuracy
def _digits():
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(x))
    x, y = x[idx], y[idx]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def _mean_accuracy(policy, data, seeds):
    xtr, ytr, xte, yte = data
    accs = []
    for seed in seeds:
        ranvier.utils.set_random_seed(seed)
        mp.set_global_policy(policy)
        m = ranvier.Sequential([ranvier.Input(shape=(64,)), ranvier.layers.Dense(128, activation="relu"),
                                ranvier.layers.Dense(64, activation="relu"),
                                ranvier.layers.Dense(10, activation="softmax")])
        mp.set_global_policy(None)
        m.compile(optimizer=ranvier.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        assert type(m.optimizer).__name__ == ("LossScaleOptimizer" if policy == "mixed_float16" else "Adam")
        m.fit(xtr, ytr, epochs=30, batch_size=32, verbose=0)
        accs.append(float(np.mean(np.argmax(m.predict(xte, verbose=0), axis=1) == yte)))
    return float(np.mean(accs))


@pytest.mark.parametrize("train_tier", sorted({F32_TIERS[0], F32_TIERS[-1]}))
def test_digits_mixed_float16_accuracy_within_0_3_points_of_float32(train_tier):
    """sklearn's digits (1200 train / 597 held out), 64-128-64-10, Adam under the
    LossScaleOptimizer compile adds, 30 epochs, 5 seeds: the mean held-out accuracy is
    within 0.3 points of float32's (one sample is 0.17 points; runs are deterministic)."""
    previous, threads = ranvier.isa(), ranvier.get_num_threads()
    _runtime._force_isa(train_tier)
    ranvier.set_num_threads(1)
    try:
        data = _digits()
        f32 = _mean_accuracy("float32", data, range(5))
        h = _mean_accuracy("mixed_float16", data, range(5))
    finally:
        ranvier.set_num_threads(threads)
        _runtime._force_isa(previous)
    assert f32 > 0.95
    assert abs(f32 - h) <= 0.003, (f32, h)


def test_the_c_loader_accepts_the_policy(tmp_path):
    m = _small_model()
    m.build((None, 12))
    path = tmp_path / "m.safetensors"
    m.save(path)
    h = c_api_ctypes.P()
    assert c_api_ctypes.load(str(path).encode(), ctypes.byref(h)) == 0
    c_api_ctypes.free(h)


def test_symbolic_outputs_and_the_functional_config_say_float16():
    """Keras 3.15 (measured): under mixed_float16 a Dense's symbolic output has dtype
    float16 (float32 with dtype="float32"; the Input float32), and the functional config's
    __keras_tensor__ entries carry it."""
    mp.set_global_policy("mixed_float16")
    i = ranvier.Input((4,))
    h = ranvier.layers.Dense(3)(i)
    o = ranvier.layers.Dense(2, dtype="float32")(h)
    assert (i.dtype, h.dtype, o.dtype) == ("float32", "float16", "float32")
    node = ranvier.Model(i, o).get_config()["layers"][2]["inbound_nodes"][0]["args"][0]
    assert node["config"]["dtype"] == "float16" and node["config"]["keras_history"][0] == h._keras_history[0].name


def test_float16_outputs_overflow_to_inf_silently_as_keras():
    """Keras gives inf past 65504 without a warning: so do predict, model(x), layer(x) and
    the merge layers (NumPy's overflow warning is kept quiet)."""
    import warnings
    mp.set_global_policy("mixed_float16")
    m = ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(2, kernel_initializer="ones")])
    x = np.full((2, 4), 30000, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = [m.predict(x, verbose=0), m(x), m.layers[0](x),
                ranvier.layers.Add()([np.full((2, 3), 4e4, np.float32), np.full((2, 3), 4e4, np.float32)])]
    for out in outs:
        assert np.asarray(out).dtype == np.float16 and np.isposinf(np.asarray(out)).all()
