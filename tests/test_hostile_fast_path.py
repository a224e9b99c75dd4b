"""Hostile inputs against the single-sample predict fast path.

``Sequential.predict`` / ``predict_on_batch`` / ``__call__`` first try
``Network.predict_fast`` (one C++ call: exact float32 ndarray, 2-D, C-contiguous,
aligned, the input width, finite) and fall back to the general path, which converts,
checks and raises. A 1-row Dense forward runs the GEMV kernel (kernels/f32-gemv, wide
layers split over two threads), a batch the GEMM. The properties here:

- whatever the fast path answers equals, bit for bit, that row inside a 2-row batch
  (the GEMM) and the general path's answer for the same values given as a type the
  fast path never takes (a list, float64);
- whatever it refuses, the general path raises the same error for;
- it never uses stale weights (set_weights, layer.set_weights, fit, train_on_batch,
  load_weights, add/pop), nor training-mode layers (Dropout, GaussianNoise,
  BatchNormalization use their inference behaviour);
- it is safe from several threads while another thread fits.
"""
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ranvier
from ranvier import layers as L

from conftest import F32_ISAS, forced_isa


def _mlp(k, widths, acts, seed=0, **kw):
    ranvier.utils.set_random_seed(seed)
    return ranvier.Sequential([L.Input((k,))] + [L.Dense(w, activation=a, **kw) for w, a in zip(widths, acts)])


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.int32)


def _np_forward(model, x):
    """float64 NumPy reference of a Dense/relu/linear stack."""
    h = np.asarray(x, np.float64)
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        h = h @ kernel.astype(np.float64) + bias
        if layer.get_config()["activation"] == "relu":
            h = np.maximum(h, 0.0)
    return h


def _three_ways(model, x):
    return model.predict(x, verbose=0), model.predict_on_batch(x), model(x)


# ------------------------------------------------------------------ bits: GEMV vs GEMM
SHAPES = [(3, [1]), (17, [33, 7]), (5, [1000]), (256, [130]), (600, [129]), (784, [256, 128, 10])]


@pytest.mark.parametrize("isa_name", F32_ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k,widths", SHAPES)
def test_one_row_equals_that_row_in_a_batch_bit_for_bit(isa_name, threads, k, widths):
    """Every tier, 1 and 2 threads (wide layers split their columns), widths with vector
    tails: predict/predict_on_batch/__call__ of one row give the bits of that row inside a
    2-row batch; also for overflowing (NaN/inf inside the layers) and subnormal inputs."""
    previous = ranvier.get_num_threads()
    rng = np.random.default_rng(k)
    try:
        ranvier.set_num_threads(threads)
        with forced_isa(isa_name):
            for acts in (["relu"] * 3, [None] * 3, ["tanh", "sigmoid", "softmax"]):
                m = _mlp(k, widths, acts)
                for x in (rng.standard_normal((2, k)).astype(np.float32) * 3,
                          np.where(np.arange(k) % 2, 3e38, -3e38).astype(np.float32)[None].repeat(2, 0),
                          np.full((2, k), 1e-30, np.float32)):
                    batch = m.predict(x, verbose=0)[:1]
                    for out in _three_ways(m, x[:1]):
                        assert out.dtype == np.float32 and out.shape == (1, widths[-1])
                        assert np.array_equal(_bits(out), _bits(batch)), (acts, x[0, 0])
    finally:
        ranvier.set_num_threads(previous)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(1, 70), n=st.integers(1, 140), relu=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_gemv_matches_batch_and_numpy(k, n, relu, seed):
    m = _mlp(k, [n], ["relu" if relu else None], seed=seed % 1000)
    x = np.random.default_rng(seed).standard_normal((2, k)).astype(np.float32)
    one = m.predict(x[:1], verbose=0)
    assert np.array_equal(_bits(one), _bits(m.predict(x, verbose=0)[:1]))
    # float32 sums of k terms: rtol scaled by k (documented tolerance)
    np.testing.assert_allclose(one, _np_forward(m, x[:1]), rtol=1e-5 * max(1, k), atol=1e-5 * max(1, k))


# ------------------------------------------------------------------ inputs near the fast path
def _inputs(x):
    """(name, value) pairs holding x's first row (or rows) in forms the fast path must
    either take exactly or refuse to the general path."""
    row = x[:1]
    ro = row.copy()
    ro.setflags(write=False)
    buf = b"\0" + row.tobytes()
    return [
        ("float32", row), ("float64", row.astype(np.float64)), ("int32", np.rint(row).astype(np.int32)),
        ("bool", row > 0), ("float16", row.astype(np.float16)), ("big-endian", row.astype(">f4")),
        ("read-only", ro), ("fortran-2rows", np.asfortranarray(x)),
        ("negative-stride", x[::-1][1:]), ("column-stride", np.repeat(row, 2, axis=1)[:, ::2]),
        ("row-of-strided", np.asfortranarray(np.repeat(x, 3, 0))[::3][:1]),
        ("misaligned", np.frombuffer(buf, dtype=np.float32, offset=1).reshape(row.shape)),
        ("matrix", np.matrix(row)), ("masked", np.ma.masked_array(row)), ("list", row.tolist()),
        ("tuple", tuple(map(tuple, row.tolist()))),
    ]


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix, on purpose
def test_every_input_form_gives_the_general_path_answer():
    m = _mlp(4, [8, 3], ["relu", None])
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    for name, v in _inputs(x):
        ref_rows = np.asarray(np.asarray(v), dtype=np.float32).reshape(-1, 4)
        # the general path on the same values: a list never takes the fast path
        ref = m.predict(ref_rows.tolist(), verbose=0)
        np.testing.assert_allclose(ref, _np_forward(m, ref_rows), rtol=1e-5, atol=1e-6)
        for way, out in zip(("predict", "predict_on_batch", "call"), _three_ways(m, v)):
            # predict gives a plain ndarray; model(x) an ndarray with Keras's .numpy()
            assert type(out if way != "call" else out.numpy()) is np.ndarray and out.dtype == np.float32, name
            assert np.array_equal(_bits(out), _bits(ref)), name


def test_pandas_frame_takes_the_general_path():
    pd = pytest.importorskip("pandas")
    m = _mlp(4, [3], [None])
    x = np.random.default_rng(2).standard_normal((1, 4)).astype(np.float32)
    for out in _three_ways(m, pd.DataFrame(x)):
        assert np.array_equal(_bits(out), _bits(m.predict(x.tolist(), verbose=0)))


BAD = [
    ("0-d", lambda x: np.float32(1.0), ValueError, "batch"),
    ("1-d", lambda x: x[0], ValueError, "shape"),
    ("3-d", lambda x: x[None], ValueError, "shape"),
    ("empty", lambda x: x[:0], ValueError, "empty"),
    ("wide", lambda x: np.ones((1, 5), np.float32), ValueError, "(1, 5)"),
    ("narrow", lambda x: np.ones((1, 3), np.float32), ValueError, "(1, 3)"),
    ("object", lambda x: x[:1].astype(object), TypeError, "dtype=object"),
    ("complex", lambda x: x[:1].astype(np.complex64), TypeError, "complex64"),
    ("strings", lambda x: np.array([["1", "2", "3", "4"]]), TypeError, "dtype"),
    ("None", lambda x: None, ValueError, "x"),
    ("dict", lambda x: {"a": x[:1]}, TypeError, "dict"),
    ("overflow", lambda x: np.full((1, 4), 1e300), ValueError, "overflow"),
]


@pytest.mark.parametrize("name,make,exc,words", BAD, ids=[b[0] for b in BAD])
def test_refused_inputs_raise_the_general_paths_error(name, make, exc, words):
    m = _mlp(4, [3], [None])
    x = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)
    for what, fn in (("predict", lambda v: m.predict(v, verbose=0)), ("predict_on_batch", m.predict_on_batch),
                     ("call", m)):
        with pytest.raises(exc) as info:
            fn(make(x))
        assert what in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_rows_never_take_the_fast_path(bad):
    """predict refuses NaN/inf by name; predict_on_batch and __call__ give what their
    general path gives (the values propagate): the same as the same row through a list."""
    m = _mlp(4, [3], [None])
    x = np.array([[bad, 1, 2, 3]], np.float32)
    with pytest.raises(ValueError, match="NaN or inf"):
        m.predict(x, verbose=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        m.predict(x.tolist(), verbose=0)
    for fn in (m.predict_on_batch, m):
        assert np.array_equal(_bits(fn(x)), _bits(fn(x.tolist())))


def test_unbuilt_model_builds_from_the_first_call():
    m = ranvier.Sequential([L.Dense(3)])
    x = np.ones((1, 4), np.float32)
    out = m.predict(x, verbose=0)
    assert out.shape == (1, 3)
    np.testing.assert_allclose(out, _np_forward(m, x), rtol=1e-6, atol=1e-6)
    assert np.array_equal(_bits(m(x)), _bits(out))
    empty = ranvier.Sequential()
    with pytest.raises((ValueError, RuntimeError, TypeError)):
        empty.predict(x, verbose=0)


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("verbose", [0, False, 0.0, np.int64(0)])
def test_quiet_verbose_values_take_either_path_alike(verbose):
    m = _mlp(4, [3], [None])
    x = np.ones((1, 4), np.float32)
    assert np.array_equal(m.predict(x, verbose=verbose), m.predict(x.tolist(), verbose=verbose))


@pytest.mark.parametrize("verbose", [None, 0j, 3, -1, "0", 0.5, np.array([0, 0])])
def test_bad_verbose_is_refused_by_name_on_the_fast_path_too(verbose):
    m = _mlp(4, [3], [None])
    x = np.ones((1, 4), np.float32)
    for v in (x, x.tolist()):
        with pytest.raises(ValueError, match="verbose"):
            m.predict(v, verbose=verbose)


@pytest.mark.parametrize("kw,words", [({"batch_size": 0}, "batch_size"), ({"batch_size": 1.5}, "batch_size"),
                                      ({"batch_size": True}, "batch_size"), ({"steps": 0}, "steps"),
                                      ({"callbacks": "x"}, "callbacks")])
def test_bad_arguments_are_refused_for_a_fast_path_input(kw, words):
    m = _mlp(4, [3], [None])
    x = np.ones((1, 4), np.float32)
    for v in (x, x.tolist()):
        with pytest.raises((ValueError, TypeError), match=words):
            m.predict(v, verbose=0, **kw)


def test_callbacks_and_batch_size_give_the_same_numbers():
    m = _mlp(6, [5, 2], ["relu", None])
    x = np.random.default_rng(4).standard_normal((1, 6)).astype(np.float32)
    seen = []

    class Hook(ranvier.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(batch)

    ref = m.predict(x, verbose=0)
    assert np.array_equal(m.predict(x, verbose=0, batch_size=1), ref)
    assert np.array_equal(m.predict(x, verbose=0, callbacks=[Hook()]), ref)
    assert seen == [0]


# ------------------------------------------------------------------ never stale
def test_fast_path_never_uses_stale_weights(tmp_path):
    m = _mlp(4, [8, 3], ["relu", None])
    m.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(5).standard_normal((2, 4)).astype(np.float32)
    y = np.ones((2, 3), np.float32)

    def check():
        one = m.predict(x[:1], verbose=0)
        assert np.array_equal(_bits(one), _bits(m.predict(x, verbose=0)[:1]))
        np.testing.assert_allclose(one, _np_forward(m, x[:1]), rtol=1e-5, atol=1e-5)
        return one

    before = check()
    m.set_weights([w * 2 for w in m.get_weights()])
    after = check()
    assert not np.array_equal(before, after)
    m.layers[0].set_weights([np.ones((4, 8), np.float32), np.zeros(8, np.float32)])
    check()
    m.fit(x, y, epochs=2, verbose=0)
    check()
    m.train_on_batch(x, y)
    check()
    other = _mlp(4, [8, 3], ["relu", None], seed=9)
    other.save_weights(str(tmp_path / "w.weights.h5"))
    m.load_weights(str(tmp_path / "w.weights.h5"))
    assert np.array_equal(check(), other.predict(x[:1], verbose=0))
    m.add(L.Dense(2))
    assert m.predict(x[:1], verbose=0).shape == (1, 2) and m(x[:1]).shape == (1, 2)
    m.pop()
    check()


def test_inference_behaviour_of_training_only_layers():
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([L.Input((6,)), L.Dense(200, activation="relu"), L.BatchNormalization(),
                            L.Dropout(0.5), L.GaussianNoise(0.5), L.Dense(3)])
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    m.fit(x, rng.standard_normal((32, 3)).astype(np.float32), epochs=1, verbose=0)
    one = m.predict(x[:1], verbose=0)
    for out in (m.predict(x[:2], verbose=0)[:1], m.predict_on_batch(x[:1]), m(x[:1]), m(x[:1], training=False),
                m.predict(x[:1], verbose=0)):
        assert np.array_equal(_bits(out), _bits(one))
    # NumPy reference: Dense-relu, BN on moving statistics, Dropout/GaussianNoise identity
    d1, bn, _, _, d2 = m.layers
    k1, b1 = d1.get_weights()
    gamma, beta, mean, var = bn.get_weights()
    h = np.maximum(x[:1].astype(np.float64) @ k1 + b1, 0)
    h = (h - mean) / np.sqrt(var + bn.epsilon) * gamma + beta
    k2, b2 = d2.get_weights()
    np.testing.assert_allclose(one, h @ k2 + b2, rtol=1e-4, atol=1e-4)
    assert not np.array_equal(m(x[:1], training=True), one)


def test_bf16_policy_model_one_row_equals_batch():
    previous = ranvier.mixed_precision.global_policy()
    ranvier.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        m = _mlp(20, [300, 3], ["relu", None])
    finally:
        ranvier.mixed_precision.set_global_policy(previous)
    x = np.random.default_rng(7).standard_normal((2, 20)).astype(np.float32)
    batch = m.predict(x, verbose=0)[:1]
    for out in _three_ways(m, x[:1]):
        assert np.array_equal(_bits(out), _bits(batch))


# ------------------------------------------------------------------ threads
def test_fast_path_from_threads_while_another_fits():
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([L.Input((20,)), L.Dense(300, activation="relu"), L.Dropout(0.3), L.Dense(3)])
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((64, 20)).astype(np.float32)
    y = rng.standard_normal((64, 3)).astype(np.float32)
    errors, done = [], threading.Event()

    def fitter():
        try:
            m.fit(x, y, epochs=6, batch_size=8, verbose=0)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))
        finally:
            done.set()

    def predictor():
        try:
            while not done.is_set():
                for out in _three_ways(m, x[:1]):
                    if out.shape != (1, 3) or not np.all(np.isfinite(out)):
                        errors.append(f"bad output {out!r}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=fitter)] + [threading.Thread(target=predictor) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []
    one = m.predict(x[:1], verbose=0)
    assert np.array_equal(_bits(one), _bits(m.predict(x[:2], verbose=0)[:1]))


# ------------------------------------------------------------------ the bindings themselves
def test_network_bindings_never_read_past_the_input():
    """_core.Network.predict/predict_fast and the Trainer's data calls check the shapes
    themselves (a direct call with the wrong width read past the array)."""
    m = _mlp(4, [3], [None])
    m.compile(optimizer="sgd", loss="mse")
    m.predict(np.ones((1, 4), np.float32), verbose=0)
    net = m._net
    for x in (np.ones((3, 2), np.float32), np.ones(3, np.float32), np.ones((2, 2, 2), np.float32)):
        with pytest.raises(ValueError, match=r"shape \(rows, 4\)"):
            net.predict(x, 32)
        assert net.predict_fast(x, 32) is None
    for bs in (0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            net.predict(np.ones((1, 4), np.float32), bs)
    x, y = np.ones((4, 4), np.float32), np.ones((4, 3), np.float32)
    m.train_on_batch(x, y)
    trainer = m._trainer
    for args, words in (((np.ones((4, 2), np.float32), y, None), "x must have shape"),
                        ((x, np.ones((3, 3), np.float32), None), "y must have 4 rows"),
                        ((x, y, np.ones(2, np.float32)), "sample_weight must have 4 values")):
        with pytest.raises(ValueError, match=words):
            trainer.train_batch(*args)
        with pytest.raises(ValueError, match=words):
            trainer.evaluate(*args, 32)
    assert np.isfinite(m.train_on_batch(x, y))  # the model still trains


def test_fast_path_from_fits_own_callbacks():
    """predict/__call__/predict_on_batch of one row from inside fit's callbacks: no
    deadlock, the weights of that step, the bits of a 2-row batch."""
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([L.Input((4,)), L.Dense(8, activation="relu"), L.Dropout(0.5), L.Dense(3)])
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(9)
    x = rng.random((16, 4)).astype(np.float32)
    y = rng.random((16, 3)).astype(np.float32)
    seen = []

    class Probe(ranvier.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            one = self.model.predict(x[:1], verbose=0)
            seen.append(np.array_equal(_bits(one), _bits(self.model.predict(x[:2], verbose=0)[:1]))
                        and np.array_equal(_bits(one), _bits(self.model(x[:1])))
                        and np.array_equal(_bits(one), _bits(self.model.predict_on_batch(x[:1]))))

    m.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[Probe()])
    assert len(seen) == 8 and all(seen)


def test_wide_layers_from_several_threads_and_models_at_once():
    """1-row predicts of wide layers (their columns split over the pool) from six threads on
    three models at once: no hang, every answer the bits of a 2-row batch."""
    previous = ranvier.get_num_threads()
    ranvier.set_num_threads(2)
    try:
        models = [_mlp(784, [256, 10], ["relu", None], seed=s) for s in range(3)]
        x = np.random.default_rng(10).random((2, 784)).astype(np.float32)
        refs = [m.predict(x, verbose=0)[:1] for m in models]
        bad = []

        def run(i):
            for _ in range(100):
                out = models[i % 3].predict(x[:1], verbose=0)
                if not np.array_equal(_bits(out), _bits(refs[i % 3])):
                    bad.append(i)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads) and bad == []
    finally:
        ranvier.set_num_threads(previous)
