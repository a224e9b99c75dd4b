"""Tabular layers (cpp/src/layers/normalization.cpp, elementwise.cpp, noise_dropout.cpp):
Normalization with adapt, Rescaling, Identity, UnitNormalization, ActivityRegularization,
GaussianDropout, AlphaDropout. Each against a NumPy float64 reference, gradients by finite
differences, Keras's defaults, configs and messages, the model file, the C and C++ loaders
and the ONNX export."""
import numpy as np
import pytest

import ranvier
from ranvier import _core, layers

from c_api_ctypes import predict_file
from gradcheck import central_differences

EPS = 1e-7  # keras.backend.epsilon()
ALPHA_P = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


# ---------------------------------------------------------------------------- helpers
def _core_layer(cls, config, n, batch, seed=0):
    core = _core.layer_from_config(cls, config, seed=seed)
    core.build(n)
    specs = core.param_specs()
    params = [np.zeros(tuple(s), np.float32) for _, s, _ in specs]
    core.bind(params, [None] * len(params))
    core.reserve(batch)
    return core, params


def _fd_check(core, x, training=True, step=3, penalty=False, h=1e-2, atol=2e-3, rtol=2e-3):
    """Central differences in float64 of f(x) = sum(w * y) (+ the returned penalty) over the
    float32 layer, against backward's dx. h = 1e-2 on values ~1 keeps float32 rounding of y
    (~6e-8 relative) below 1e-5 of the difference quotient; atol/rtol 2e-3 cover the
    curvature term (h^2 f''' / 6) of the nonlinear layers."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal(x.shape)

    def f(xv):
        out = np.empty_like(xv)
        p = core.forward(xv, out, training, step)
        return float(np.sum(w * out.astype(np.float64))) + (p if penalty else 0.0)

    fd = central_differences(f, x, h)
    y = np.empty_like(x)
    core.forward(x, y, training, step)
    dx = np.full_like(x, np.nan)
    core.backward(x, y, w.astype(np.float32), dx)
    np.testing.assert_allclose(dx, fd, rtol=rtol, atol=atol)


def _data(seed=0, n=64, d=5):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, d)) * np.arange(1, d + 1) + np.arange(d) * 3).astype(np.float32)
    y = (x @ rng.standard_normal((d, 1))).astype(np.float32)
    return x, y


# ---------------------------------------------------------------------------- Normalization
def test_normalization_adapt_is_population_statistics_in_float64():
    x, _ = _data()
    n = layers.Normalization()
    n.adapt(x)
    mean, var, count = n.get_weights()
    x64 = x.astype(np.float64)
    np.testing.assert_array_equal(mean, x64.mean(axis=0).astype(np.float32))
    np.testing.assert_array_equal(var, x64.var(axis=0).astype(np.float32))
    assert count.shape == () and count == 0  # Keras keeps it for old files, never updates it
    assert [v.name for v in n.weights] == ["mean", "variance", "count"]
    assert n.trainable_weights == [] and len(n.non_trainable_weights) == 3


def test_normalization_keras_measured_values():
    data = np.array([[1, 10], [2, 20], [3, 60], [4, 0]], np.float64)
    n = layers.Normalization()
    n.adapt(data)
    np.testing.assert_allclose(n.get_weights()[0], [2.5, 22.5])
    np.testing.assert_allclose(n.get_weights()[1], [1.25, 518.75])
    s = layers.Normalization(axis=None)
    s.adapt(data)
    np.testing.assert_allclose(s.get_weights()[0], 12.5)
    np.testing.assert_allclose(s.get_weights()[1], 360.0)


def test_normalization_forward_against_reference(isa):
    x, _ = _data(1)
    n = layers.Normalization()
    n.adapt(x)
    mean, var = (w.astype(np.float64) for w in n.get_weights()[:2])
    z = np.random.default_rng(2).standard_normal((33, 5)).astype(np.float32) * 4
    ref = (z - mean) / np.maximum(np.sqrt(var), EPS)
    np.testing.assert_allclose(n(z), ref, rtol=1e-6, atol=1e-6)
    inv = layers.Normalization(invert=True)
    inv.adapt(x)
    np.testing.assert_allclose(inv(z), mean + z * np.maximum(np.sqrt(var), EPS), rtol=1e-6, atol=1e-5)


def test_normalization_docstring_examples():
    s = layers.Normalization(axis=None)
    s.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32))
    np.testing.assert_allclose(s(np.array([1.0, 2.0, 3.0], np.float32)), [-1.4142135, -0.70710677, 0.0], rtol=1e-6)
    adapt = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]], np.float32)
    n = layers.Normalization(axis=-1)
    n.adapt(adapt)
    np.testing.assert_allclose(n(np.array([[0.0, 7.0, 4.0]], np.float32)), [[-1.0, -1.0, -1.0]])
    c = layers.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(c(np.array([[1.0], [2.0], [3.0]], np.float32)),
                               [[-1.4142135], [-0.70710677], [0.0]], rtol=1e-6)
    assert c.get_weights() == []
    i = layers.Normalization(axis=-1, invert=True)
    i.adapt(adapt)
    np.testing.assert_allclose(i(np.array([[1.0, 2.0, 3.0]], np.float32)), [[2.0, 10.0, 8.0]])


def test_normalization_zero_variance_divides_by_epsilon():
    n = layers.Normalization(mean=[0.0, 0.0], variance=[0.0, 1e-6])
    out = n(np.array([[1e-7, 1e-3]], np.float32))
    np.testing.assert_allclose(out, [[1.0, 1.0]], rtol=1e-5)


def test_normalization_adapt_batches_merge_to_union_statistics():
    x, _ = _data(3, n=50)
    whole = layers.Normalization()
    whole.adapt(x)
    batched = layers.Normalization()
    batched.adapt(iter([x[:7], x[7:30], x[30:]]))
    np.testing.assert_allclose(batched.get_weights()[0], whole.get_weights()[0], rtol=1e-6)
    np.testing.assert_allclose(batched.get_weights()[1], whole.get_weights()[1], rtol=1e-5)
    pairs = layers.Normalization()
    pairs.adapt([(x[:25], None), (x[25:], None)])  # (x, y) batches use x
    np.testing.assert_allclose(pairs.get_weights()[0], whole.get_weights()[0], rtol=1e-6)
    limited = layers.Normalization()
    limited.adapt(iter([x[:10], x[10:]]), steps=1)
    np.testing.assert_allclose(limited.get_weights()[0], x[:10].astype(np.float64).mean(0), rtol=1e-6)


def test_normalization_adapt_pandas_and_replaces():
    pd = pytest.importorskip("pandas")
    x, _ = _data(4)
    n = layers.Normalization()
    n.adapt(pd.DataFrame(x))
    np.testing.assert_allclose(n.get_weights()[0], x.astype(np.float64).mean(0), rtol=1e-6)
    n.adapt(x[:5] * 2)
    np.testing.assert_allclose(n.get_weights()[0], (x[:5].astype(np.float64) * 2).mean(0), rtol=1e-6)


def test_normalization_unadapted_is_identity_as_keras():
    """Keras 3: an adapt-mode layer starts at mean 0, variance 1."""
    x, _ = _data()
    np.testing.assert_array_equal(layers.Normalization()(x), x)


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="must have the same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match="rank of `mean`"):
        layers.Normalization(axis=None, mean=[1.0], variance=[1.0])
    with pytest.raises(TypeError, match="axis"):
        layers.Normalization(axis="last")
    n = layers.Normalization()
    n.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible shape"):
        n.adapt(np.ones((4, 2)))
    with pytest.raises(ValueError, match="rank >= 2"):
        layers.Normalization().adapt(np.ones(5))
    with pytest.raises(TypeError, match="real numbers"):
        layers.Normalization().adapt(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="cannot be used"):
        layers.Normalization(mean=1.0, variance=1.0).adapt(np.ones((3, 2)))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="expected input with 3 features"):
        n(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="last axis"):
        layers.Normalization(axis=0).build((None, 3))
    with pytest.raises(ValueError, match="empty iterable"):
        layers.Normalization().adapt(iter([]))


def test_normalization_config_round_trip():
    n = layers.Normalization()
    cfg = n.get_config()
    assert {"axis", "invert", "mean", "variance", "name", "trainable", "dtype"} <= set(cfg)
    assert cfg["axis"] == (-1,) and cfg["invert"] is False and cfg["mean"] is None and cfg["variance"] is None
    assert layers.Normalization(axis=None).get_config()["axis"] == ()
    c = layers.Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0], invert=True)
    back = layers.Normalization.from_config(c.get_config())
    assert back.get_config()["mean"] == [1.0, 2.0] and back.invert is True
    via = layers.deserialize(layers.serialize(c))
    assert type(via) is layers.Normalization and via.input_variance == [3.0, 4.0]


def test_normalization_gradient_by_finite_differences(isa):
    x, _ = _data(6, n=4, d=3)
    for invert in (False, True):
        core, params = _core_layer("Normalization", {"invert": invert}, 3, 4)
        params[0][:] = [1.0, -2.0, 0.5]
        params[1][:] = [4.0, 0.25, 9.0]
        _fd_check(core, x / 4)
    core, _ = _core_layer("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [2.0, 3.0, 0.5]}, 3, 4)
    _fd_check(core, x / 4)


def _tutorial_model(x):
    norm = layers.Normalization(axis=-1)
    norm.adapt(np.array(x))
    model = ranvier.Sequential([norm, layers.Dense(64, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=ranvier.optimizers.Adam(0.01), loss="mean_absolute_error")
    return model


def test_tensorflow_regression_tutorial_trains_and_round_trips(tmp_path):
    x, y = _data(7, n=256)
    ranvier.utils.set_random_seed(1)
    model = _tutorial_model(x)
    hist = model.fit(x, y, epochs=30, verbose=0, validation_split=0.2)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    # the statistics stay fixed in training (non-trainable)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], x.astype(np.float64).mean(0).astype(np.float32))
    want = model.predict(x, verbose=0)
    for name in ("tut.safetensors", "tut.keras"):
        path = tmp_path / name
        model.save(path)
        loaded = ranvier.models.load_model(path)
        assert np.array_equal(loaded.predict(x, verbose=0), want)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            assert a.shape == b.shape and np.array_equal(a, b)
    path = tmp_path / "tut.safetensors"
    assert np.array_equal(_core.io_cpp_predict(str(path), x, 32), want)
    assert np.array_equal(predict_file(path, x), want)


def test_normalization_with_constants_in_model_file(tmp_path):
    x, y = _data(8)
    model = ranvier.Sequential([layers.Input((5,)),
                                layers.Normalization(mean=x.mean(0).tolist(), variance=x.var(0).tolist()),
                                layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "const.safetensors"
    model.save(path)
    want = model.predict(x, verbose=0)
    assert np.array_equal(ranvier.models.load_model(path).predict(x, verbose=0), want)
    assert np.array_equal(predict_file(path, x), want)


def test_normalization_axis_none_and_set_weights(tmp_path):
    """axis=None: scalar weights of shape () (Keras), one mean and variance for every value;
    saved and loaded with their shapes. set_weights takes Keras's (mean, variance, count)."""
    x, y = _data(23)
    n = layers.Normalization(axis=None)
    n.adapt(x)
    assert [w.shape for w in n.get_weights()] == [(), (), ()] and n.count_params() == 3
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(n(x), (x64 - x64.mean()) / np.sqrt(x64.var()), rtol=1e-5, atol=1e-6)
    m = ranvier.Sequential([layers.Input((5,)), n, layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "none.safetensors"
    m.save(path)
    loaded = ranvier.models.load_model(path)
    assert [w.shape for w in loaded.layers[0].get_weights()] == [(), (), ()]
    assert np.array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    s = layers.Normalization()
    s.build((None, 5))
    s.set_weights([np.arange(5.0), np.full(5, 4.0), np.array(7)])
    np.testing.assert_allclose(s(x), (x64 - np.arange(5.0)) / 2.0, rtol=1e-6, atol=1e-6)
    assert s.get_weights()[2] == 7


def test_normalization_adapt_after_the_model_is_built():
    """adapt() on a layer of a built model writes the model's weights: the next predict uses
    them; fit leaves them alone (non-trainable)."""
    x, _ = _data(24)
    n = layers.Normalization()
    m = ranvier.Sequential([layers.Input((5,)), n])
    m.compile("adam", "mse")
    assert np.array_equal(m.predict(x, verbose=0), x)  # mean 0, variance 1 until adapted
    n.adapt(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(m.predict(x, verbose=0), (x64 - x64.mean(0)) / x64.std(0), rtol=1e-5, atol=1e-6)
    m.fit(x, x, epochs=1, verbose=0)
    assert np.array_equal(n.get_weights()[0], x64.mean(0).astype(np.float32))


# ---------------------------------------------------------------------------- Discretization
def test_discretization_keras_measured_values():
    d = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    got = d(np.array([[-1.5, 0.0, 1.0, 1.5, 2.0, 3.4]], np.float32))
    assert got.dtype == np.int32 and got.tolist() == [[0, 1, 2, 2, 3, 3]]
    assert d(np.array([-1.5, 0.0, 1.0, 1.5, 2.0, 3.4])).tolist() == [0, 1, 2, 2, 3, 3]
    a = layers.Discretization(num_bins=4)
    a.adapt(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]))
    np.testing.assert_allclose(a.bin_boundaries, [0.0, 0.5, 1.3], rtol=1e-6)


def test_discretization_against_digitize_reference(isa):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((50, 7)).astype(np.float32)
    bins = np.sort(rng.standard_normal(9)).astype(np.float32)
    x[0, :3] = bins[:3]  # values on a boundary go up
    d = layers.Discretization(bin_boundaries=bins.tolist())
    np.testing.assert_array_equal(d(x), np.digitize(x, bins))
    core, _ = _core_layer("Discretization", {"bin_boundaries": bins.tolist()}, 7, 50)
    dx = np.full_like(x, np.nan)
    y = np.empty_like(x)
    core.forward(x, y, True, 1)
    core.backward(x, y, np.ones_like(x), dx)
    assert np.all(dx == 0)  # piecewise constant


def test_discretization_adapt_quantiles():
    rng = np.random.default_rng(21)
    data = rng.exponential(size=(400, 3)).astype(np.float32)
    d = layers.Discretization(num_bins=5, epsilon=0.01)
    d.adapt(data)
    assert len(d.bin_boundaries) == 4
    # the boundaries sit at the data's quintiles within the summary's resolution (epsilon)
    q = np.quantile(data.reshape(-1).astype(np.float64), [0.2, 0.4, 0.6, 0.8])
    frac = [(data <= b).mean() for b in d.bin_boundaries]
    np.testing.assert_allclose(frac, [0.2, 0.4, 0.6, 0.8], atol=0.02)
    assert np.all(np.diff(d.bin_boundaries) >= 0) and np.all(np.abs(np.array(d.bin_boundaries) - q) < 0.1)
    # batches: the same summary merge as one array when each batch is small enough to keep every value
    b = layers.Discretization(num_bins=5, epsilon=0.01)
    b.adapt(iter([data[:20], data[20:40]]))
    one = layers.Discretization(num_bins=5, epsilon=0.01)
    one.adapt(data[:40])
    # the summaries are float32 (Keras's compress casts): the order of the merges moves the
    # interpolated values by a few float32 ulps
    np.testing.assert_allclose(b.bin_boundaries, one.bin_boundaries, rtol=1e-5)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_discretization_encodings_against_reference(mode, tmp_path):
    """Keras's encode_categorical_inputs of the digitized values: one_hot of one feature,
    multi_hot and count over the sample's features (depth = boundaries + 1)."""
    rng = np.random.default_rng(25)
    bins = [-1.0, 0.0, 0.5, 2.0]
    d_in = 1 if mode == "one_hot" else 6
    x = rng.standard_normal((40, d_in)).astype(np.float32)
    idx = np.digitize(x, bins)
    if mode == "one_hot":
        ref = np.eye(5, dtype=np.float32)[idx[:, 0]]
    else:
        ref = np.stack([np.bincount(r, minlength=5) for r in idx]).astype(np.float32)
        if mode == "multi_hot":
            ref = (ref > 0).astype(np.float32)
    layer = layers.Discretization(bin_boundaries=bins, output_mode=mode)
    got = layer(x)
    assert got.dtype == np.float32 and np.array_equal(got, ref)
    assert layer.compute_output_shape((None, d_in)) == (None, 5)
    m = ranvier.Sequential([layers.Input((d_in,)), layers.Discretization(bin_boundaries=bins, output_mode=mode),
                            layers.Dense(2)])
    assert m.output_shape == (None, 2) and m.layers[1].get_weights()[0].shape == (5, 2)
    want = ref @ m.layers[1].get_weights()[0] + m.layers[1].get_weights()[1]
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    path = tmp_path / "enc.safetensors"
    m.save(path)
    assert np.array_equal(predict_file(path, x), m.predict(x, verbose=0))


def test_discretization_errors_and_config():
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        layers.Discretization()
    with pytest.raises(ValueError, match="should not be set"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        layers.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match="Unknown value for `output_mode`"):
        layers.Discretization(num_bins=3, output_mode="bits")
    with pytest.raises(ValueError, match="one feature"):
        layers.Discretization(bin_boundaries=[0.0], output_mode="one_hot")(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="Cannot adapt"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones((3, 1)))
    with pytest.raises(ValueError, match="call `adapt"):
        layers.Discretization(num_bins=3)(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="sorted"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    d = layers.Discretization(num_bins=3)
    d.adapt(np.arange(30, dtype=np.float32).reshape(10, 3))
    cfg = d.get_config()
    assert {"bin_boundaries", "num_bins", "epsilon", "output_mode", "sparse", "name", "dtype"} <= set(cfg)
    assert cfg["epsilon"] == 0.01 and cfg["output_mode"] == "int" and cfg["num_bins"] == 3
    back = layers.Discretization.from_config(cfg)  # both num_bins and bin_boundaries, as Keras writes them
    assert back.bin_boundaries == d.bin_boundaries


def test_discretization_in_a_model_file(tmp_path):
    x, y = _data(22)
    d = layers.Discretization(num_bins=4)
    d.adapt(x)
    m = ranvier.Sequential([layers.Input((5,)), d, layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(x, y, epochs=1, verbose=0)
    want = m.predict(x, verbose=0)
    np.testing.assert_allclose(want, np.digitize(x, d.bin_boundaries) @ m.layers[1].get_weights()[0]
                               + m.layers[1].get_weights()[1], rtol=1e-5, atol=1e-5)
    path = tmp_path / "disc.safetensors"
    m.save(path)
    assert np.array_equal(ranvier.models.load_model(path).predict(x, verbose=0), want)
    assert np.array_equal(predict_file(path, x), want)
    # re-adapting a layer of a built model rebuilds the model's network with the new boundaries
    d.adapt(x * 2)
    m.predict(x, verbose=0)
    np.testing.assert_allclose(m.predict(x, verbose=0), np.digitize(x, d.bin_boundaries)
                               @ m.layers[1].get_weights()[0] + m.layers[1].get_weights()[1], rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- Rescaling, Identity
def test_rescaling_reference_and_gradient(isa):
    x, _ = _data(9, n=6, d=4)
    r = layers.Rescaling(1 / 255.0, offset=-1.0)
    np.testing.assert_array_equal(r(x), x * np.float32(1 / 255.0) + np.float32(-1.0))
    per = layers.Rescaling([1.0, 2.0, 0.5, -1.0], offset=[0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(per(x), x.astype(np.float64) * [1, 2, 0.5, -1] + [0, 1, 2, 3], rtol=1e-6, atol=1e-6)
    assert r.get_config()["scale"] == 1 / 255.0 and r.get_config()["offset"] == -1.0
    assert layers.Rescaling(2.0).offset == 0.0
    core, _ = _core_layer("Rescaling", {"scale": [1.0, 2.0, 0.5, -1.0], "offset": 1.0}, 4, 6)
    _fd_check(core, x / 10)
    with pytest.raises(ValueError, match="scale"):
        layers.Rescaling("big")
    with pytest.raises(ValueError, match="cannot be broadcast"):
        layers.Rescaling([1.0, 2.0])(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(layers.Rescaling(2.0)(np.array([1, 2], np.uint8)), [2.0, 4.0])


def test_identity():
    x, _ = _data(10)
    i = layers.Identity()
    assert np.array_equal(i(x), x) and i(x).dtype == np.float32
    assert set(i.get_config()) == {"name", "trainable", "dtype"}
    core, _ = _core_layer("Identity", {}, 5, 8)
    _fd_check(core, x[:8] / 10)


# ---------------------------------------------------------------------------- UnitNormalization
def test_unit_normalization_reference_and_gradient(isa):
    x, _ = _data(11, n=9, d=6)
    x[3] = 0.0
    u = layers.UnitNormalization()
    x64 = x.astype(np.float64)
    ref = x64 / np.sqrt(np.maximum((x64 ** 2).sum(1, keepdims=True), 1e-24))
    np.testing.assert_allclose(u(x), ref, rtol=2e-6, atol=1e-7)
    assert np.all(u(x)[3] == 0)
    assert u.get_config()["axis"] == -1
    assert layers.UnitNormalization(axis=[-1]).get_config()["axis"] == [-1]
    with pytest.raises(TypeError, match="axis"):
        layers.UnitNormalization(axis="x")
    with pytest.raises(ValueError, match="last axis"):
        layers.UnitNormalization(axis=0)(x)
    core, _ = _core_layer("UnitNormalization", {}, 6, 9)
    xs = x.copy()
    xs[3] = np.arange(6, dtype=np.float32) * 1e-30  # inside the clamp: dx = dy / 1e-12
    _fd_check(core, x[[0, 1, 2, 4]], atol=2e-3)


# ---------------------------------------------------------------------------- ActivityRegularization
def test_activity_regularization_keras_measured_value_and_gradient(isa):
    a = layers.ActivityRegularization(l1=0.1, l2=0.01)
    x = np.array([[1.0, -2.0], [3.0, 0.0]], np.float32)
    assert np.array_equal(a(x), x)
    assert a.losses == [pytest.approx(0.37, rel=1e-6)]
    assert a.get_config()["l1"] == 0.1 and a.get_config()["l2"] == 0.01
    d = layers.ActivityRegularization()
    assert (d.l1, d.l2) == (0.0, 0.0)
    with pytest.raises(ValueError, match="l1"):
        layers.ActivityRegularization(l1=-1.0)
    core, _ = _core_layer("ActivityRegularization", {"l1": 0.1, "l2": 0.3}, 4, 5)
    xs, _ = _data(12, n=5, d=4)
    _fd_check(core, xs / 5 + 0.05, penalty=True)


def test_activity_regularization_adds_to_the_loss_like_dense():
    """The layer after a linear Dense adds what Dense's own activity_regularizer adds."""
    x, y = _data(13, n=32)
    out = {}
    for which in ("dense", "layer"):
        ranvier.utils.set_random_seed(3)
        reg = ranvier.regularizers.L1L2(l1=0.01, l2=0.02)
        if which == "dense":
            stack = [layers.Input((5,)), layers.Dense(3, activity_regularizer=reg), layers.Dense(1)]
        else:
            stack = [layers.Input((5,)), layers.Dense(3), layers.ActivityRegularization(0.01, 0.02), layers.Dense(1)]
        m = ranvier.Sequential(stack)
        m.compile("sgd", "mse")
        out[which] = (m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"],
                      m.get_weights())
    np.testing.assert_allclose(out["dense"][0], out["layer"][0], rtol=1e-6)
    for a, b in zip(out["dense"][1], out["layer"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------- noise layers
def test_gaussian_dropout_statistics_and_gradient(isa):
    rate = 0.3
    g = layers.GaussianDropout(rate, seed=4)
    x = np.full((400, 50), 2.0, np.float32)
    out = g(x, training=True).astype(np.float64) / 2.0
    std = np.sqrt(rate / (1 - rate))
    se = std / np.sqrt(out.size)
    assert abs(out.mean() - 1.0) < 5 * se
    assert abs(out.std() - std) < 5 * std * np.sqrt(2.0 / out.size)
    assert np.array_equal(g(x), x) and np.array_equal(g(x, training=False), x)
    assert np.array_equal(layers.GaussianDropout(0.0, seed=1)(x, training=True), x)
    core, _ = _core_layer("GaussianDropout", {"rate": 0.2}, 6, 5, seed=7)
    xs, _ = _data(14, n=5, d=6)
    _fd_check(core, xs / 5)
    assert g.get_config()["rate"] == 0.3 and g.get_config()["seed"] == 4


def test_alpha_dropout_keras_formula_and_gradient(isa):
    rate = 0.25
    a = layers.AlphaDropout(rate, seed=5)
    x = np.random.default_rng(15).standard_normal((300, 40)).astype(np.float32)
    out = a(x, training=True).astype(np.float64)
    A = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    B = -A * ALPHA_P * rate
    dropped = np.isclose(out, A * ALPHA_P + B, rtol=0, atol=1e-6)
    kept = ~dropped
    np.testing.assert_allclose(out[kept], A * x.astype(np.float64)[kept] + B, rtol=1e-6, atol=1e-6)
    frac = dropped.mean()
    assert abs(frac - rate) < 5 * np.sqrt(rate * (1 - rate) / out.size)
    assert abs(out.mean()) < 0.05 and abs(out.std() - 1.0) < 0.05  # Keras: keeps mean 0, std 1
    assert np.array_equal(a(x), x)
    assert a.get_config()["noise_shape"] is None
    with pytest.raises(ValueError, match="noise_shape"):
        layers.AlphaDropout(0.1, noise_shape=(None, 0))
    # noise_shape (1, features): one mask shared by every row; (batch, 1): one per row
    rows = layers.AlphaDropout(0.5, noise_shape=(1, 40), seed=6)(x, training=True)
    a5 = ((1 - 0.5) * (1 + 0.5 * ALPHA_P ** 2)) ** -0.5
    drop5 = a5 * ALPHA_P - a5 * ALPHA_P * 0.5
    mask = np.isclose(rows, drop5, rtol=0, atol=1e-6)
    assert np.all(mask == mask[0]) and 0 < mask[0].sum() < 40
    cols = layers.AlphaDropout(0.5, noise_shape=(None, 1), seed=6)(x, training=True)
    mask = np.isclose(cols, drop5, rtol=0, atol=1e-6)
    assert np.all(mask == mask[:, :1]) and 0 < mask[:, 0].sum() < 300
    assert layers.AlphaDropout(0.5, noise_shape=(None, 1)).get_config()["noise_shape"] == (None, 1)
    core, _ = _core_layer("AlphaDropout", {"rate": 0.3}, 6, 5, seed=8)
    xs, _ = _data(16, n=5, d=6)
    _fd_check(core, xs / 5)


@pytest.mark.parametrize("cls", [layers.GaussianDropout, layers.AlphaDropout])
@pytest.mark.parametrize("bad,shown", [(1.5, "1.5"), (-0.1, "-0.1")])
def test_noise_rate_checked_with_keras_message(cls, bad, shown):
    with pytest.raises(ValueError, match=r"Expected a float value between 0 and 1. Received: rate=" + shown):
        cls(bad)


def _noise_fit(threads, x, y):
    ranvier.set_num_threads(threads)
    ranvier.utils.set_random_seed(11)
    try:
        m = ranvier.Sequential([layers.Input((5,)), layers.Dense(32, activation="relu"),
                                layers.GaussianDropout(0.3, seed=1), layers.AlphaDropout(0.2, seed=2),
                                layers.Dense(1)])
        m.compile("adam", "mse")
        m.fit(x, y, epochs=2, batch_size=64, shuffle=False, verbose=0)
        return m.get_weights()
    finally:
        ranvier.set_num_threads(0)


def test_noise_layers_bitwise_identical_at_every_thread_count():
    x, y = _data(17, n=512)
    ref = _noise_fit(1, x, y)
    for threads in (2, 3, 4):
        for a, b in zip(ref, _noise_fit(threads, x, y)):
            assert np.array_equal(a, b), threads


# ---------------------------------------------------------------------------- all layers: files, ONNX
def _all_layers_model(x, y):
    ranvier.utils.set_random_seed(2)
    norm = layers.Normalization()
    norm.adapt(x)
    m = ranvier.Sequential([layers.Input((5,)), norm, layers.Rescaling(0.5, offset=0.1), layers.Identity(),
                            layers.Dense(8, activation="tanh"), layers.UnitNormalization(),
                            layers.ActivityRegularization(0.01, 0.01), layers.GaussianDropout(0.2, seed=3),
                            layers.AlphaDropout(0.1, noise_shape=(1, None), seed=4),
                            layers.Normalization(mean=0.5, variance=4.0, invert=True),
                            layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5, 1.0]), layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return m


def test_every_layer_in_files_and_loaders(tmp_path):
    x, y = _data(18)
    m = _all_layers_model(x, y)
    want = m.predict(x, verbose=0)
    path = tmp_path / "all.safetensors"
    m.save(path)
    loaded = ranvier.models.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in m.layers]
    assert np.array_equal(loaded.predict(x, verbose=0), want)
    # resume: both continue identically (the noise layers' seeds are saved)
    for model in (m, loaded):
        model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)
    want = m.predict(x, verbose=0)
    m.save(path)
    assert np.array_equal(_core.io_cpp_predict(str(path), x, 32), want)
    assert np.array_equal(predict_file(path, x), want)


def test_onnx_export(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    x, y = _data(19)
    m = _all_layers_model(x, y)
    p = tmp_path / "all.onnx"
    m.export(str(p), format="onnx", verbose=False)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, m.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
