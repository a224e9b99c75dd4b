"""GaussianNoise (keras.layers.GaussianNoise(stddev, seed=None)): x + N(0, stddev^2) noise in
training, the identity in predict/evaluate; no weights; d/dx = 1. Built by the C++ layer
table (cpp/src/layers/gaussian_noise.cpp), so the model file, the C and C++ loaders and the
ONNX export all know it."""
import math
import re

import numpy as np
import pytest

import ranvier
from ranvier import _core, layers

from c_api_ctypes import predict_file
from gradcheck import central_differences


def _noise(layer, shape, training=True):
    """The noise one call of ``layer`` adds to zeros (float64)."""
    return layer(np.zeros(shape, np.float32), training=training).astype(np.float64)


# ---------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("stddev", [0.05, 0.5, 1.0])
def test_noise_statistics(stddev):
    """Mean, standard deviation and the mass within 1 and 2 standard deviations of
    N = 256,000 draws against N(0, stddev^2). Tolerances: 5 standard errors of each
    statistic (mean: stddev/sqrt(N); std: stddev/sqrt(2N); a mass p: sqrt(p(1-p)/N)), so
    a correct generator fails with probability below 1e-6 per check."""
    n = 4000 * 64
    z = _noise(layers.GaussianNoise(stddev, seed=11), (4000, 64)).ravel()
    assert abs(z.mean()) < 5 * stddev / math.sqrt(n)
    assert abs(z.std() - stddev) < 5 * stddev / math.sqrt(2 * n)
    for k, p in ((1, math.erf(1 / math.sqrt(2))), (2, math.erf(2 / math.sqrt(2)))):
        frac = np.mean(np.abs(z) < k * stddev)
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n)
    # neighbouring elements are uncorrelated (the two halves of one hash feed one draw)
    r = np.corrcoef(z[:-1], z[1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(n)


def test_noise_is_added_not_multiplied():
    """y - x does not depend on x: the same (seed, step) gives the same noise on any input."""
    x = np.random.default_rng(0).standard_normal((64, 9)).astype(np.float32) * 10
    a = layers.GaussianNoise(0.3, seed=5)(x, training=True).astype(np.float64) - x
    b = _noise(layers.GaussianNoise(0.3, seed=5), x.shape)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)  # float32 rounding of x + noise, |x| < 50


def test_seed_and_step_key_the_noise():
    """The same seed repeats the draws; each training call (step) draws anew; another seed differs."""
    g1, g2 = layers.GaussianNoise(0.5, seed=1), layers.GaussianNoise(0.5, seed=1)
    first = _noise(g1, (8, 16))
    assert np.array_equal(first, _noise(g2, (8, 16)))
    assert not np.array_equal(first, _noise(g1, (8, 16)))  # step 2
    assert not np.array_equal(first, _noise(layers.GaussianNoise(0.5, seed=2), (8, 16)))


def test_any_rank():
    """Rank 0 and 1 are one row of elements, rank 3 works on the last axis (as Keras takes any rank)."""
    g = layers.GaussianNoise(0.5, seed=4)
    for shape in ((), (7,), (3, 4, 5)):
        x = np.ones(shape, np.float32)
        y = g(x, training=True)
        assert y.shape == shape and y.dtype == np.float32 and not np.array_equal(y, x)
        assert np.array_equal(g(x), x)
    # a 1-D call draws what one row of a 2-D call of the same (seed, step) draws
    a = layers.GaussianNoise(0.5, seed=4)(np.zeros(7, np.float32), training=True)
    b = layers.GaussianNoise(0.5, seed=4)(np.zeros((1, 7), np.float32), training=True)
    assert np.array_equal(a, b[0])


def test_stddev_zero_is_the_identity():
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    assert np.array_equal(layers.GaussianNoise(0.0, seed=1)(x, training=True), x)


# ---------------------------------------------------------------------------- inference
def test_identity_at_inference(isa):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.standard_normal((40, 1)).astype(np.float32)
    ranvier.utils.set_random_seed(4)
    with_noise = ranvier.Sequential([ranvier.Input((6,)), layers.Dense(5, activation="tanh"),
                                     layers.GaussianNoise(0.7), layers.Dense(1)])
    ranvier.utils.set_random_seed(4)
    without = ranvier.Sequential([ranvier.Input((6,)), layers.Dense(5, activation="tanh"), layers.Dense(1)])
    without.set_weights(with_noise.get_weights())
    for m in (with_noise, without):
        m.compile(optimizer="sgd", loss="mse")
    g = with_noise.layers[1]
    h = x[:, :5]
    assert np.array_equal(g(h), h) and np.array_equal(g(h, training=False), h)
    assert np.array_equal(with_noise.predict(x, verbose=0), without.predict(x, verbose=0))
    assert with_noise.evaluate(x, y, verbose=0) == without.evaluate(x, y, verbose=0)
    assert g.weights == [] and g.count_params() == 0


# ---------------------------------------------------------------------------- gradient
def test_gradient_is_one_by_finite_differences():
    """d/dx of sum(w * y) is w (the noise is a constant of x at a fixed (seed, step)):
    central differences in float64 over the float32 layer, h = 1e-2, agree within 1e-3
    (float32 rounding of x + noise, |x| ~ 1, over 2h); backward gives dy exactly."""
    rng = np.random.default_rng(3)
    core = _core.layer_from_config("GaussianNoise", {"stddev": 0.4}, seed=9)
    core.build(7)
    core.bind([], [])
    core.reserve(5)
    x = rng.standard_normal((5, 7)).astype(np.float32)
    w = rng.standard_normal((5, 7))

    def f(xv):
        out = np.empty_like(xv)
        core.forward(xv, out, True, 3)
        return float(np.sum(w * out.astype(np.float64)))

    fd = central_differences(f, x, 1e-2)
    np.testing.assert_allclose(fd, w, rtol=0, atol=1e-3)
    y = np.empty_like(x)
    core.forward(x, y, True, 3)
    dy = w.astype(np.float32)
    dx = np.full_like(x, np.nan)
    core.backward(x, y, dy.copy(), dx)
    assert np.array_equal(dx, dy)


def test_training_through_zero_noise_matches_no_layer(isa):
    """With stddev 0 the layer passes values and gradients through: fit gives the same
    weights as the model without it, bit for bit."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.standard_normal((64, 2)).astype(np.float32)
    models = []
    for extra in ([layers.GaussianNoise(0.0, seed=1)], []):
        ranvier.utils.set_random_seed(6)
        m = ranvier.Sequential([ranvier.Input((5,)), layers.Dense(8, activation="relu"), *extra, layers.Dense(2)])
        m.compile(optimizer="adam", loss="mse")
        m.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        models.append(m)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------------------- threads
def _fit_weights(threads, x, y):
    ranvier.set_num_threads(threads)
    try:
        ranvier.utils.set_random_seed(8)
        m = ranvier.Sequential([ranvier.Input((x.shape[1],)), layers.Dense(64, activation="relu"),
                                layers.GaussianNoise(0.2), layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        m.fit(x, y, epochs=2, batch_size=512, verbose=0)
        return m.get_weights()
    finally:
        ranvier.set_num_threads(0)


def test_bitwise_identical_at_every_thread_count():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2048, 32)).astype(np.float32)
    y = rng.standard_normal((2048, 1)).astype(np.float32)
    ref = _fit_weights(1, x, y)
    for threads in (2, 3, 4):
        for a, b in zip(ref, _fit_weights(threads, x, y)):
            assert np.array_equal(a, b), threads
    # the layer alone, on a batch large enough to be split over threads
    outs = []
    for threads in (1, 4):
        ranvier.set_num_threads(threads)
        try:
            outs.append(_noise(layers.GaussianNoise(0.5, seed=3), (4096, 64)))
        finally:
            ranvier.set_num_threads(0)
    assert np.array_equal(outs[0], outs[1])


# ---------------------------------------------------------------------------- config, files, export
def test_config_round_trip():
    g = layers.GaussianNoise(0.25, seed=7, name="noise")
    cfg = g.get_config()
    assert cfg["stddev"] == 0.25 and cfg["seed"] == 7 and cfg["name"] == "noise"
    g2 = layers.GaussianNoise.from_config(cfg)
    assert g2.get_config() == cfg
    g3 = layers.deserialize(layers.serialize(g))
    assert type(g3) is layers.GaussianNoise and g3.get_config() == cfg
    assert layers.GaussianNoise(0.1).get_config()["seed"] is None


@pytest.mark.parametrize("bad, shown", [(1.5, "1.5"), (-0.1, "-0.1"), ("a", "'a'"), (math.nan, "nan"),
                                        (None, "None"), (True, "True")])
def test_stddev_is_checked_with_keras_message(bad, shown):
    with pytest.raises(ValueError, match=r"Invalid value received for argument `stddev`\. Expected a float "
                                         r"value between 0 and 1\. Received: stddev=" + re.escape(shown) + "$"):
        layers.GaussianNoise(bad)


def test_seed_is_checked():
    with pytest.raises(ValueError, match="seed"):
        layers.GaussianNoise(0.1, seed=-1)


def _trained(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((48, 4)).astype(np.float32)
    y = rng.standard_normal((48, 1)).astype(np.float32)
    ranvier.utils.set_random_seed(10)
    m = ranvier.Sequential([ranvier.Input((4,)), layers.Dense(6, activation="tanh"), layers.GaussianNoise(0.3),
                            layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "noise.safetensors"
    m.save(path)
    return m, x, y, path


def test_model_file_round_trip_and_resume(tmp_path):
    m, x, y, path = _trained(tmp_path)
    loaded = ranvier.models.load_model(path)
    assert type(loaded.layers[1]) is layers.GaussianNoise and loaded.layers[1].stddev == 0.3
    assert loaded.layers[1]._core_seed == m.layers[1]._core_seed  # the drawn seed is saved
    assert np.array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    # training resumes with the same noise: both continue identically
    for model in (m, loaded):
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)


def test_cpp_and_c_loaders_run_it_as_identity(tmp_path):
    m, x, _, path = _trained(tmp_path)
    want = m.predict(x, verbose=0)
    assert np.array_equal(_core.io_cpp_predict(str(path), x, 32), want)
    assert np.array_equal(predict_file(path, x), want)


def test_keras_format_round_trip(tmp_path):
    m, x, _, _ = _trained(tmp_path)
    p = tmp_path / "noise.keras"
    m.save(p)
    loaded = ranvier.models.load_model(p)
    assert loaded.layers[1].get_config()["stddev"] == 0.3
    assert np.array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))


def test_onnx_export_is_identity(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    m, x, _, _ = _trained(tmp_path)
    p = tmp_path / "noise.onnx"
    m.export(str(p), format="onnx", verbose=False)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
