"""GlobalAveragePooling1D and GlobalMaxPooling1D (cpp/src/layers/global_pooling.cpp): forward
against a NumPy float64 reference and backward against finite differences in float64, per ISA;
Keras's config, shapes, aliases and messages; Sequential and functional use; both file formats,
the C loader and ONNX; the TensorFlow text-classification tutorial model on synthetic tokens."""
import numpy as np
import pytest

import ranvier
from ranvier import _core, layers

from c_api_ctypes import predict_file
from gradcheck import central_differences

# Keras 3.15's get_config keys (besides name/trainable/dtype) and defaults.
KERAS_KEYS = {"name", "trainable", "dtype", "data_format", "keepdims"}


def _ref(x, mode, data_format="channels_last", keepdims=False):
    x = np.asarray(x, np.float64)
    axis = 2 if data_format == "channels_first" else 1
    return (x.max if mode == "max" else x.mean)(axis=axis, keepdims=keepdims)


def _core_pool(cls, shape, batch, data_format="channels_last"):
    core = _core.layer_from_config(cls, {"data_format": data_format}, sample_shape=list(shape))
    core.build(int(np.prod(shape)))
    core.bind([], [])
    core.reserve(batch)
    return core


CASES = [("GlobalAveragePooling1D", "avg"), ("GlobalMaxPooling1D", "max")]


@pytest.mark.parametrize("cls,mode", CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_forward_against_numpy(cls, mode, data_format, keepdims, isa):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 13, 5)).astype(np.float32)
    layer = getattr(layers, cls)(data_format=data_format, keepdims=keepdims)
    out = layer(x)
    want = _ref(x, mode, data_format, keepdims)
    assert out.shape == want.shape and out.dtype == np.float32
    # float32 inputs, a float64 sum rounded once: within 1 ulp of float32
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-7)
    assert layer.compute_output_shape((None, 13, 5)) == (None,) + want.shape[1:]


@pytest.mark.parametrize("cls,mode", CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_backward_against_finite_differences(cls, mode, data_format, isa):
    rng = np.random.default_rng(2)
    shape = (6, 4)
    x = rng.standard_normal((3,) + shape)  # distinct values: max is differentiable there
    n_out = 4 if data_format == "channels_last" else 6
    core = _core_pool(cls, shape, 3, data_format)
    g = rng.standard_normal((3, n_out))

    def f(xv):  # f = sum(g * y), in float64 through the reference
        return float(np.sum(g * _ref(xv, mode, data_format)))

    fd = central_differences(f, x, 1e-6)
    x32 = x.astype(np.float32).reshape(3, -1)
    y = np.empty((3, n_out), np.float32)
    core.forward(x32, y, True, 1)
    np.testing.assert_allclose(y, _ref(x.astype(np.float32), mode, data_format), rtol=1e-6, atol=1e-7)
    dx = np.full_like(x32, np.nan)
    core.backward(x32, y, g.astype(np.float32), dx)
    np.testing.assert_allclose(dx.reshape(x.shape), fd, rtol=1e-5, atol=1e-6)


def test_max_gradient_on_ties_is_shared_as_tensorflow_does():
    # TensorFlow's gradient of reduce_max (Keras 3.15, measured): x = [[1, 2], [1, 5], [0, 5]]
    # gives dx = [[0.5, 0], [0.5, 0.5], [0, 0.5]] for dy = 1.
    x = np.array([[[1, 2], [1, 5], [0, 5]]], np.float32)
    core = _core_pool("GlobalMaxPooling1D", (3, 2), 1)
    y = np.empty((1, 2), np.float32)
    core.forward(x.reshape(1, -1), y, True, 1)
    assert y.tolist() == [[1.0, 5.0]]
    dx = np.empty((1, 6), np.float32)
    core.backward(x.reshape(1, -1), y, np.ones((1, 2), np.float32), dx)
    assert dx.reshape(3, 2).tolist() == [[0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]


def test_max_propagates_nan():
    x = np.array([[[1.0], [np.nan], [3.0]]], np.float32)
    assert np.isnan(layers.GlobalMaxPooling1D()(x)).all()
    assert np.isnan(layers.GlobalAveragePooling1D()(x)).all()


def test_keras_config_aliases_and_defaults():
    a = layers.GlobalAveragePooling1D()
    cfg = a.get_config()
    assert set(cfg) == KERAS_KEYS
    assert cfg["data_format"] == "channels_last" and cfg["keepdims"] is False
    assert cfg["name"].startswith("global_average_pooling1d")
    assert layers.GlobalMaxPooling1D().name.startswith("global_max_pooling1d")
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    # Keras lower-cases data_format and reads None as channels_last
    assert layers.GlobalMaxPooling1D(data_format="CHANNELS_FIRST").data_format == "channels_first"
    assert layers.GlobalMaxPooling1D(data_format=None).data_format == "channels_last"
    m = layers.GlobalMaxPooling1D(data_format="channels_first", keepdims=True, name="p")
    back = layers.GlobalMaxPooling1D.from_config(m.get_config())
    assert back.get_config() == m.get_config()
    d = layers.deserialize({"class_name": "GlobalAvgPool1D", "config": {"name": "q"}})
    assert isinstance(d, layers.GlobalAveragePooling1D) and d.name == "q"
    assert layers.serialize(m)["class_name"] == "GlobalMaxPooling1D"
    a(np.zeros((2, 3, 4), np.float32))
    assert a.count_params() == 0 and a.get_weights() == []


def test_bad_arguments_and_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="data_format.*Received: data_format=foo"):
        layers.GlobalAveragePooling1D(data_format="foo")
    with pytest.raises(ValueError, match="data_format"):
        layers.GlobalMaxPooling1D(data_format=3)
    with pytest.raises(TypeError, match="keepdims"):
        layers.GlobalMaxPooling1D(keepdims="yes")
    for bad in (np.zeros((2, 3), np.float32), np.zeros((2, 3, 4, 5), np.float32)):
        with pytest.raises(ValueError, match=f"expected ndim=3, found ndim={bad.ndim}"):
            layers.GlobalAveragePooling1D()(bad)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        ranvier.Sequential([layers.Input((8,)), layers.GlobalMaxPooling1D()]).build()
    with pytest.raises(ValueError, match="data_format"):
        _core.layer_from_config("GlobalAveragePooling1D", {"data_format": "nchw"}, sample_shape=[2, 3])
    core = _core.layer_from_config("GlobalAveragePooling1D", {})
    with pytest.raises(ValueError, match="per-sample shape"):
        core.build(6)


def test_eager_call_on_another_shape_and_empty_batch():
    p = layers.GlobalAveragePooling1D()
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_allclose(p(x), _ref(x, "avg"), rtol=1e-6)
    x2 = np.arange(24, dtype=np.float32).reshape(2, 4, 3)  # same width, other shape: recomputed
    np.testing.assert_allclose(p(x2), _ref(x2, "avg"), rtol=1e-6)
    assert p(np.zeros((0, 4, 3), np.float32)).shape == (0, 3)


def _tutorial_model(vocab=50, seq=20, dim=8):
    return ranvier.Sequential([layers.Input(shape=(seq,), dtype="int32"), layers.Embedding(vocab, dim),
                               layers.Dropout(0.2), layers.GlobalAveragePooling1D(), layers.Dropout(0.2),
                               layers.Dense(1, activation="sigmoid")])


def _token_data(rng, n, vocab=50, seq=20):
    # label 1: the sample holds more "positive" tokens (1..9) than "negative" ones (10..19)
    x = rng.integers(20, vocab, size=(n, seq))
    y = rng.integers(0, 2, size=n)
    for i in range(n):
        k = rng.integers(2, 6)
        pos = rng.choice(seq, size=k, replace=False)
        x[i, pos] = rng.integers(1, 10, size=k) if y[i] else rng.integers(10, 20, size=k)
    return x.astype(np.int32), y.astype(np.float32).reshape(-1, 1)


def test_tutorial_text_classifier_trains_and_round_trips(tmp_path):
    ranvier.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    x, y = _token_data(rng, 600)
    m = _tutorial_model()
    assert m.output_shape == (None, 1)
    assert m.layers[2].compute_output_shape((None, 20, 8)) == (None, 8)
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = m.fit(x[:500], y[:500], epochs=30, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    _, acc = m.evaluate(x[500:], y[500:], verbose=0)
    assert acc >= 0.9
    # predict equals the NumPy forward (Dropout is the identity at inference)
    table, k, b = (w.astype(np.float64) for w in m.get_weights())
    want = 1 / (1 + np.exp(-(table[x].mean(axis=1) @ k + b)))
    got = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for name in ("text.safetensors", "text.keras"):
        p = tmp_path / name
        m.save(p)
        back = ranvier.models.load_model(p)
        assert np.array_equal(back.predict(x, verbose=0), got)
        assert isinstance(back.layers[2], layers.GlobalAveragePooling1D)
    assert np.array_equal(predict_file(tmp_path / "text.safetensors", x.astype(np.float32)), got)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_max_pooling_in_a_model_file_and_c_loader(data_format, tmp_path):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 30, size=(40, 9))
    m = ranvier.Sequential([layers.Input((9,), dtype="int64"), layers.Embedding(30, 5),
                            layers.GlobalMaxPooling1D(data_format=data_format, keepdims=True), layers.Flatten(),
                            layers.Dense(2)])
    table, k, b = (w.astype(np.float64) for w in m.get_weights())
    e = table[x]
    pooled = e.max(axis=1) if data_format == "channels_last" else e.max(axis=2)
    want = pooled @ k + b
    got = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    p = tmp_path / "max.safetensors"
    m.save(p)
    assert np.array_equal(ranvier.models.load_model(p).predict(x, verbose=0), got)
    assert np.array_equal(predict_file(p, x.astype(np.float32)), got)


def test_functional_graph_with_both_poolings_one_step_against_numpy(tmp_path):
    rng = np.random.default_rng(5)
    inp = layers.Input((6,), dtype="int32")
    e = layers.Embedding(12, 4)(inp)
    a = layers.GlobalAveragePooling1D()(e)
    mx = layers.GlobalMaxPooling1D()(e)
    out = layers.Dense(1)(layers.Concatenate()([a, mx]))
    m = ranvier.Model(inp, out)
    x = rng.integers(0, 12, size=(16, 6))
    table, k, b = (w.astype(np.float64) for w in m.get_weights())
    emb = table[x]
    want = np.concatenate([emb.mean(axis=1), emb.max(axis=1)], axis=1) @ k + b
    got = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for name in ("g.safetensors", "g.keras"):
        p = tmp_path / name
        m.save(p)
        assert np.array_equal(ranvier.models.load_model(p).predict(x, verbose=0), got)
    assert np.array_equal(predict_file(tmp_path / "g.safetensors", x.astype(np.float32)), got)
    # one SGD step on mse: the table's gradient through both poolings, in float64
    y = rng.standard_normal((16, 1))
    m.compile(optimizer=ranvier.optimizers.SGD(0.1), loss="mse")
    m.fit(x, y.astype(np.float32), batch_size=16, epochs=1, shuffle=False, verbose=0)
    d = 2 * (want - y) / y.size
    dk = np.concatenate([emb.mean(axis=1), emb.max(axis=1)], axis=1).T @ d
    dpool = d @ k.T
    dtable = np.zeros_like(table)
    for i in range(16):
        for s in range(6):
            dtable[x[i, s]] += dpool[i, :4] / 6
        arg = emb[i].argmax(axis=0)
        for f in range(4):
            dtable[x[i, arg[f]], f] += dpool[i, 4 + f]
    t2, k2, b2 = m.get_weights()
    np.testing.assert_allclose(k2, k - 0.1 * dk, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(t2, table - 0.1 * dtable, rtol=1e-4, atol=1e-6)


def test_onnx_export(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    rng = np.random.default_rng(6)
    x = rng.integers(0, 20, size=(10, 7))
    for layer in (layers.GlobalAveragePooling1D(), layers.GlobalMaxPooling1D(data_format="channels_first")):
        m = ranvier.Sequential([layers.Input((7,), dtype="int64"), layers.Embedding(20, 3), layer, layers.Dense(2)])
        p = tmp_path / f"{layer.name}.onnx"
        m.export(str(p), format="onnx", verbose=False)
        sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"input": x.astype(np.float32)})[0]
        np.testing.assert_allclose(got, m.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_max_pooling_of_one_hot_sequences_in_the_c_loader(tmp_path):
    # CategoryEncoding one_hot on (batch, 5) ids gives (batch, 5, 7); the max over the steps
    # is the multi-hot vector. The C loader tracks that shape to the pooling layer.
    rng = np.random.default_rng(7)
    x = rng.integers(0, 7, size=(12, 5))
    m = ranvier.Sequential([layers.Input((5,), dtype="int64"), layers.CategoryEncoding(7, output_mode="one_hot"),
                            layers.GlobalMaxPooling1D(), layers.Dense(3)])
    k, b = m.layers[2].get_weights()
    hot = np.zeros((12, 7))
    hot[np.arange(12)[:, None], x] = 1
    got = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, hot @ k + b, rtol=1e-5, atol=1e-6)
    p = tmp_path / "hot.safetensors"
    m.save(p)
    assert np.array_equal(predict_file(p, x.astype(np.float32)), got)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_wide_rows_cross_the_feature_blocks(data_format, isa):
    # 70 features: more than one block of 64 in the C++ loops; dx against the analytic rule
    rng = np.random.default_rng(8)
    shape = (5, 70) if data_format == "channels_last" else (70, 5)
    x = rng.standard_normal((3,) + shape).astype(np.float32)
    g = rng.standard_normal((3, 70)).astype(np.float32)
    axis = 1 if data_format == "channels_last" else 2
    for cls, mode in CASES:
        core = _core_pool(cls, shape, 3, data_format)
        y = np.empty((3, 70), np.float32)
        core.forward(x.reshape(3, -1), y, True, 1)
        np.testing.assert_allclose(y, _ref(x, mode, data_format), rtol=1e-6, atol=1e-7)
        dx = np.full((3, 350), np.nan, np.float32)
        core.backward(x.reshape(3, -1), y, g.copy(), dx)
        gx = np.expand_dims(g.astype(np.float64), axis)
        if mode == "avg":
            want = np.broadcast_to(gx / 5, x.shape)
        else:
            want = np.where(x == np.expand_dims(x.max(axis=axis), axis), gx, 0.0)
        np.testing.assert_allclose(dx.reshape(x.shape), want, rtol=1e-6, atol=1e-7)


def test_max_gradient_goes_to_the_nan_step():
    x = np.array([[[1.0, 2.0], [np.nan, 0.0], [3.0, 2.0]]], np.float32)
    core = _core_pool("GlobalMaxPooling1D", (3, 2), 1)
    y = np.empty((1, 2), np.float32)
    core.forward(x.reshape(1, -1), y, True, 1)
    assert np.isnan(y[0, 0]) and y[0, 1] == 2.0
    dx = np.empty((1, 6), np.float32)
    core.backward(x.reshape(1, -1), y, np.array([[4.0, 2.0]], np.float32), dx)
    assert dx.reshape(3, 2).tolist() == [[0.0, 1.0], [4.0, 0.0], [0.0, 1.0]]
