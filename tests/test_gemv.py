"""The single-row Dense forward (a 1-sample predict) runs the GEMV kernels
(cpp/src/kernels/f32-gemv): it must give a row exactly the bits the GEMM gives it inside a
batch, on every kernel tier, at every thread count and k-blocking, and match a float64
NumPy reference."""
import numpy as np
import pytest

import ranvier
from ranvier import _core

from reference import gemm as ref

SHAPES = [(784, 256), (5, 3), (17, 300), (1000, 33), (1, 20), (300, 1), (2, 513), (400, 257), (64, 16)]


@pytest.fixture
def tuning():
    _core._gemm_tuning(reset=True)
    yield _core._gemm_tuning
    _core._gemm_tuning(reset=True)


@pytest.fixture
def threads():
    before = ranvier.get_num_threads()
    yield ranvier.set_num_threads
    ranvier.set_num_threads(before)


def _dense_model(k, n, activation, use_bias, seed):
    rng = np.random.default_rng(seed)
    m = ranvier.Sequential([ranvier.Input(shape=(k,)),
                            ranvier.layers.Dense(n, activation=activation, use_bias=use_bias)])
    w = [rng.standard_normal((k, n)).astype(np.float32) / np.sqrt(k)]
    if use_bias:
        w.append(rng.standard_normal(n).astype(np.float32))
    m.set_weights(w)
    return m, w


def _reference(x, w, activation):
    z = x.astype(np.float64) @ w[0].astype(np.float64)
    if len(w) > 1:
        z = z + w[1]
    if activation == "relu":
        z = np.maximum(z, 0.0)
    elif activation == "tanh":
        z = np.tanh(z)
    return z


@pytest.mark.parametrize("activation,use_bias", [("relu", True), (None, True), ("tanh", True), (None, False),
                                                 ("relu", False)])
def test_one_row_has_the_bits_it_has_in_a_batch(isa, rng, activation, use_bias):
    for k, n in SHAPES:
        m, w = _dense_model(k, n, activation, use_bias, seed=k * 1000 + n)
        x = rng.standard_normal((6, k)).astype(np.float32)
        batch = m.predict(x, batch_size=6, verbose=0)
        for i in range(len(x)):
            one = m.predict(x[i:i + 1], verbose=0)
            np.testing.assert_array_equal(one[0], batch[i], err_msg=f"{k}x{n} row {i}")
            np.testing.assert_array_equal(m.predict_on_batch(x[i:i + 1])[0], batch[i])
        # float32 sums of k products: the GEMM tests' bound (tests/reference/gemm.py)
        # (tanh adds its own float32 rounding: a few ulp, within 1e-6 relative, on top)
        want = _reference(x, w, activation)
        tol = ref.gemm_tolerance(x, w[0], bias=w[1] if use_bias else None) + 1e-6 * np.abs(want)
        err = np.abs(batch.astype(np.float64) - want)
        assert (err <= tol).all(), f"{k}x{n}: max err {err.max()}"


def test_k_blocking_and_the_tiled_path_agree(isa, rng, tuning):
    """Small k-blocks (several per row) and the GEMM's tiled path (both operands packed) give
    the same bits as the single-row kernel under the same blocking."""
    for kc in (0, 7, 64, 100):
        tuning(reset=True)
        if kc:
            tuning(kc=kc)
        for k, n in [(784, 256), (301, 40), (129, 17)]:
            m, _ = _dense_model(k, n, "relu", True, seed=k + n)
            x = rng.standard_normal((3, k)).astype(np.float32)
            batch = m.predict(x, verbose=0)  # batch 3: the GEMM driver's few-rows kernel
            tuning(pack_a=1, pack_b=1)  # packed panels: the tiled micro-kernel
            tiled = m.predict(x, verbose=0)
            tuning(pack_a=0, pack_b=0)
            np.testing.assert_array_equal(batch, tiled)
            for i in range(3):
                np.testing.assert_array_equal(m.predict(x[i:i + 1], verbose=0)[0], batch[i])


def test_thread_count_does_not_change_the_bits(isa, rng, threads):
    """Wide layers split their columns between threads (W1's 784x256, 300x300): same bits."""
    for k, n in [(784, 256), (300, 300), (256, 1030), (512, 130)]:
        m, _ = _dense_model(k, n, "relu", True, seed=k + 7 * n)
        x = rng.standard_normal((1, k)).astype(np.float32)
        outs = []
        for t in (1, 2, 3, 8):
            threads(t)
            outs.append(m.predict(x, verbose=0))
        for o in outs[1:]:
            np.testing.assert_array_equal(outs[0], o)


# ------------------------------------------------ the Python latency path (Network.predict_fast)

def _w1_like(seed=0):
    m = ranvier.Sequential([ranvier.Input(shape=(20,)), ranvier.layers.Dense(16, activation="relu"),
                            ranvier.layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(seed)
    m.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in m.get_weights()])
    return m


def test_fast_path_gives_what_the_general_path_gives(rng):
    m = _w1_like()
    x = rng.standard_normal((5, 20)).astype(np.float32)
    want = m.predict(x.astype(np.float64), verbose=0)  # converted: the general path
    for got in (m.predict(x, verbose=0), m.predict_on_batch(x), m(x), m(x, training=False)):
        assert got.dtype == np.float32 and got.shape == (5, 3)
        np.testing.assert_array_equal(got, want)
    for i in range(5):
        np.testing.assert_array_equal(m.predict(x[i:i + 1], verbose=0), want[i:i + 1])
    # views, subclasses, byte orders and 1-D rows take the general path, with the same result
    np.testing.assert_array_equal(m.predict(np.asfortranarray(x), verbose=0), want)
    np.testing.assert_array_equal(m.predict(x.astype(">f4"), verbose=0), want)
    np.testing.assert_array_equal(m.predict(x[::-1][::-1].copy(), verbose=0), want)
    np.testing.assert_array_equal(m.predict_on_batch(x.view(np.recarray).view(np.ndarray)), want)
    np.testing.assert_array_equal(m.predict(list(map(list, x)), verbose=0), want)


def test_fast_path_keeps_the_general_path_errors(rng):
    m = _w1_like()
    bad = rng.standard_normal((2, 20)).astype(np.float32)
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        m.predict(bad, verbose=0)
    # predict_on_batch and __call__ take non-finite rows (as before the fast path): NaN out
    for f in (m.predict_on_batch, m):
        out = f(bad)
        assert np.isnan(out[1]).all() and np.isfinite(out[0]).all()
        np.testing.assert_array_equal(out[0], m.predict(bad[:1], verbose=0)[0])
    with pytest.raises(ValueError, match="20"):
        m.predict(np.zeros((1, 19), np.float32), verbose=0)
    with pytest.raises(ValueError, match="20"):
        m.predict_on_batch(np.zeros((1, 21), np.float32))
    with pytest.raises(ValueError, match="20"):
        m(np.zeros((2, 7), np.float32))


def test_fast_path_is_not_taken_for_an_unbuilt_model():
    m = ranvier.Sequential([ranvier.layers.Dense(4)])
    x = np.ones((2, 6), np.float32)
    out = m.predict(x, verbose=0)  # builds the model from x
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(m.predict(x, verbose=0), out)


def test_verbose_and_callbacks_still_run(rng, capsys):
    m = _w1_like()
    x = rng.standard_normal((1, 20)).astype(np.float32)
    seen = []

    class Cb(ranvier.callbacks.Callback):
        def on_predict_end(self, logs=None):
            seen.append("end")

    out = m.predict(x, verbose=0, callbacks=[Cb()])
    assert seen == ["end"]
    m.predict(x, verbose=1)
    assert "1/1" in capsys.readouterr().out
    np.testing.assert_array_equal(out, m.predict(x, verbose=0))


# ------------------------------------------------ the bias gradient (ColsumFn, relu mask fused)

@pytest.mark.parametrize("units", [1, 7, 16, 17, 33, 64, 130, 300])  # 1-4 vectors per pass, and tails
def test_relu_bias_gradient_matches_float64_and_threads(isa, rng, threads, units):
    """One SGD step (lr 1, from zero biases) makes the hidden relu layer's bias equal to
    minus its gradient: the column sums of relu'(z) * dL/dy, checked against a float64
    reference, bit for bit across thread counts."""
    x = rng.standard_normal((37, 9)).astype(np.float32)
    y = rng.standard_normal((37, 2)).astype(np.float32)
    w1 = rng.standard_normal((9, units)).astype(np.float32)
    w2 = rng.standard_normal((units, 2)).astype(np.float32)
    outs = []
    for t in (1, 2):
        threads(t)
        m = ranvier.Sequential([ranvier.Input(shape=(9,)), ranvier.layers.Dense(units, activation="relu"),
                                ranvier.layers.Dense(2)])
        m.compile(optimizer=ranvier.optimizers.SGD(learning_rate=1.0), loss="mse")
        m.set_weights([w1, np.zeros(units, np.float32), w2, np.zeros(2, np.float32)])
        m.train_on_batch(x, y)
        outs.append(-m.get_weights()[1])
    np.testing.assert_array_equal(outs[0], outs[1])
    h = x.astype(np.float64) @ w1
    a = np.maximum(h, 0.0)
    dout = 2.0 * (a @ w2 - y) / y.size            # d(mean squared error)/d(output)
    dh = (dout @ w2.T.astype(np.float64)) * (h > 0)
    want = dh.sum(axis=0)
    scale = np.abs(dh).sum(axis=0) + 1e-30
    assert np.all(np.abs(outs[0] - want) <= 1e-5 * scale), np.max(np.abs(outs[0] - want) / scale)
