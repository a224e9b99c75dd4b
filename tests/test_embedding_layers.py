"""Embedding, CategoryEncoding, Reshape, RepeatVector (cpp/src/layers/embedding.cpp, reshape.cpp):
each against a NumPy float64 reference, gradients by finite differences (Embedding's with respect
to its table), per ISA; Keras's defaults, configs and messages; integer inputs through a
Sequential (fit against a NumPy SGD step, save/load, the C and C++ loaders); id validation."""
import warnings

import numpy as np
import pytest

import ranvier
from ranvier import _core, layers

from c_api_ctypes import predict_file
from gradcheck import central_differences


# ---------------------------------------------------------------------------- helpers
def _core_layer(cls, config, n, batch):
    core = _core.layer_from_config(cls, config)
    core.build(n)
    specs = core.param_specs()
    params = [np.zeros(tuple(s), np.float32) for _, s, _ in specs]
    grads = [np.zeros(tuple(s), np.float32) for _, s, _ in specs]
    core.bind(params, grads)
    core.reserve(batch)
    return core, params, grads


def _ids(rng, n, seq, vocab):
    return rng.integers(0, vocab, size=(n, seq)).astype(np.float32)


def _scatter_reference(x, dy, vocab, dim):
    """dW of an embedding lookup in float64: np.add.at of each position's gradient row."""
    dw = np.zeros((vocab, dim))
    np.add.at(dw, x.reshape(-1).astype(np.int64), dy.reshape(-1, dim).astype(np.float64))
    return dw


# ---------------------------------------------------------------------------- Embedding: C++ layer
def test_embedding_forward_and_scatter_add_against_reference(isa):
    rng = np.random.default_rng(0)
    vocab, dim, seq, n = 13, 5, 7, 33
    core, (w,), (dw,) = _core_layer("Embedding", {"input_dim": vocab, "output_dim": dim}, seq, n)
    w[...] = rng.standard_normal(w.shape).astype(np.float32)
    x = _ids(rng, n, seq, vocab)
    x[0, :3] = 4  # repeated ids sum their gradients
    y = np.empty((n, seq * dim), np.float32)
    assert core.forward(x, y, True, 1) == 0.0
    assert np.array_equal(y, w[x.astype(np.int64)].reshape(n, seq * dim))  # a gather: exact
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.full(x.shape, np.nan, np.float32)
    core.backward(x, y, dy.copy(), dx)
    assert np.array_equal(dx, np.zeros_like(x))  # ids are not differentiable
    # float32 sums of at most n*seq terms of size ~1: rtol 1e-5 with atol 1e-5
    np.testing.assert_allclose(dw, _scatter_reference(x, dy, vocab, dim), rtol=1e-5, atol=1e-5)
    assert not dw[np.setdiff1d(np.arange(vocab), x.astype(np.int64))].any()  # untouched rows: exact zeros


def test_embedding_gradient_wrt_table_by_finite_differences(isa):
    """f(W) = sum(g * embed(x; W)) in float64 by central differences over every table entry,
    against backward's dW (f is linear in W: the difference quotient is exact up to float32
    rounding of the outputs, ~1e-7 relative; h = 1e-2, atol 1e-4)."""
    rng = np.random.default_rng(1)
    vocab, dim, seq, n = 6, 3, 4, 5
    core, (w,), (dw,) = _core_layer("Embedding", {"input_dim": vocab, "output_dim": dim}, seq, n)
    w[...] = rng.standard_normal(w.shape).astype(np.float32)
    x = _ids(rng, n, seq, vocab)
    g = rng.standard_normal((n, seq * dim))

    def f():
        out = np.empty((n, seq * dim), np.float32)
        core.forward(x, out, True, 1)
        return float(np.sum(g * out.astype(np.float64)))

    h = 1e-2
    fd = np.zeros(w.shape)
    for i in range(vocab):
        for j in range(dim):
            keep = w[i, j]
            w[i, j] = keep + h
            fp = f()
            w[i, j] = keep - h
            fm = f()
            w[i, j] = keep
            fd[i, j] = (fp - fm) / (2 * h)
    y = np.empty((n, seq * dim), np.float32)
    core.forward(x, y, True, 1)
    core.backward(x, y, g.astype(np.float32), None)
    np.testing.assert_allclose(dw, fd, rtol=1e-4, atol=1e-4)


def test_embedding_scatter_add_bitwise_identical_at_every_thread_count():
    rng = np.random.default_rng(2)
    vocab, dim, seq, n = 3000, 32, 20, 512  # enough work to split over threads
    x = rng.integers(0, 40, size=(n, seq)).astype(np.float32)  # many repeats per row
    dy = rng.standard_normal((n, seq * dim)).astype(np.float32)
    outs = []
    try:
        for threads in (1, 2, 3, 4):
            ranvier.set_num_threads(threads)
            core, (w,), (dw,) = _core_layer("Embedding", {"input_dim": vocab, "output_dim": dim}, seq, n)
            y = np.empty((n, seq * dim), np.float32)
            core.forward(x, y, True, 1)
            core.backward(x, y, dy.copy(), None)
            outs.append(dw.copy())
    finally:
        ranvier.set_num_threads(0)
    for o in outs[1:]:
        assert np.array_equal(o, outs[0])


@pytest.mark.parametrize("bad, why", [(-1.0, "out of range"), (13.0, "out of range"), (2.5, "not an integer"),
                                      (np.nan, "not an integer"), (np.inf, "out of range")])
def test_embedding_core_refuses_bad_ids(bad, why):
    core, _, _ = _core_layer("Embedding", {"input_dim": 13, "output_dim": 2}, 3, 2)
    x = np.zeros((2, 3), np.float32)
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"Embedding: input id .* \(sample 1, position 2\) is " + why +
                       r": ids must be integers in \[0, 13\)"):
        core.forward(x, np.empty((2, 6), np.float32), False, 0)


def test_embedding_core_config_checks():
    for cfg, msg in [({"input_dim": 0, "output_dim": 2}, "input_dim"), ({"input_dim": True, "output_dim": 2}, "input_dim"),
                     ({"input_dim": 2.5, "output_dim": 2}, "input_dim"), ({"input_dim": 3, "output_dim": -1}, "output_dim"),
                     ({"input_dim": 2**24 + 1, "output_dim": 2}, "too large"),
                     ({"input_dim": 3, "output_dim": 2, "mask_zero": True}, "mask_zero")]:
        with pytest.raises(ValueError, match=msg):
            _core.layer_check_config("Embedding", cfg)


# ---------------------------------------------------------------------------- Embedding: Python layer
def test_embedding_keras_defaults_and_config_round_trip():
    e = layers.Embedding(50, 4)
    assert not e.built
    init = e.embeddings_initializer
    assert type(init).__name__ == "RandomUniform" and (init.minval, init.maxval) == (-0.05, 0.05)
    cfg = e.get_config()
    assert sorted(cfg) == ["activity_regularizer", "dtype", "embeddings_constraint", "embeddings_initializer",
                           "embeddings_regularizer", "input_dim", "mask_zero", "name", "output_dim",
                           "quantization_config", "trainable"]  # Keras 3.15's keys
    for key, want in [("input_dim", 50), ("output_dim", 4), ("mask_zero", False), ("embeddings_regularizer", None),
                      ("embeddings_constraint", None), ("activity_regularizer", None)]:
        assert cfg[key] == want
    assert cfg["embeddings_initializer"]["class_name"] == "RandomUniform"
    back = layers.Embedding.from_config(cfg)
    assert back.get_config() == cfg
    e.build()
    (v,) = e.weights
    assert v.name == "embeddings" and v.shape == (50, 4) and v.trainable
    assert e.embeddings.shape == (50, 4)
    w = e.get_weights()[0]
    assert np.all(np.abs(w) <= 0.05) and w.std() > 0.01
    assert e.count_params() == 200
    assert layers.deserialize(layers.serialize(e)).get_weights()[0].shape == (50, 4)


def test_embedding_eager_call_any_rank_against_numpy(isa):
    rng = np.random.default_rng(3)
    e = layers.Embedding(10, 3)
    x2 = rng.integers(0, 10, size=(4, 6))
    out = e(x2)
    w = e.get_weights()[0]
    assert out.shape == (4, 6, 3) and out.dtype == np.float32
    assert np.array_equal(out, w[x2])
    for x in (rng.integers(0, 10, size=(5,)), rng.integers(0, 10, size=(2, 3, 4)), np.array(7),
              rng.integers(0, 10, size=(3, 2)).astype(np.float64), rng.integers(0, 10, size=(3, 6)).astype(np.uint8)):
        got = e(x)
        assert got.shape == np.shape(x) + (3,)
        assert np.array_equal(got, w[np.asarray(x).astype(np.int64)])
    assert e.compute_output_shape((None, 6)) == (None, 6, 3)
    assert e.compute_mask(x2) is None


def test_embedding_weights_argument_and_keras_errors():
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    e = layers.Embedding(6, 2, weights=table)  # Keras: the table itself (or a 1-element list)
    assert e.built and np.array_equal(e.get_weights()[0], table)
    assert np.array_equal(e(np.array([[5, 0]])), table[[[5, 0]]])
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 2)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, True)
    with pytest.raises(ValueError, match="2\\*\\*24"):
        layers.Embedding(2**24 + 1, 2)
    with pytest.raises(NotImplementedError, match="mask_zero"):
        layers.Embedding(3, 2, mask_zero=True)
    with pytest.raises(ValueError, match="mask_zero"):  # also a ValueError
        layers.Embedding(3, 2, mask_zero=True)
    with pytest.raises(ValueError, match="embeddings_regularizer"):
        layers.Embedding(3, 2, embeddings_regularizer="no_such_regularizer")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = layers.Embedding(3, 2, input_length=5)
    assert any("input_length" in str(w.message) for w in caught)
    assert "input_length" not in e.get_config()


@pytest.mark.parametrize("x, shown", [
    (np.array([[1, 2], [3, 50]]), r"x\[1, 1\]=50, which is out of range"),
    (np.array([[1, -1]]), r"x\[0, 1\]=-1, which is out of range"),
    (np.array([[1.0, 2.5]]), r"x\[0, 1\]=2.5, which is not an integer"),
    (np.array([[np.nan, 1.0]]), r"x\[0, 0\]=nan, which is not an integer"),
    (np.array([[2**24 + 1]], np.int64), r"x\[0, 0\]=16777217, which is out of range; ids travel as float32"),
])
def test_embedding_refuses_bad_ids_with_valueerror(x, shown):
    e = layers.Embedding(50, 2, name="emb")
    with pytest.raises(ValueError, match=r"Embedding 'emb': ids must be integers in \[0, 50\), got " + shown):
        e(x)
    m = ranvier.Sequential([layers.Embedding(50, 2, name="emb"), layers.Flatten(), layers.Dense(1)])
    m.compile("sgd", "mse")
    good = np.zeros_like(x, dtype=np.int64)
    for call in (lambda: m.fit(x, np.zeros((len(x), 1)), verbose=0), lambda: m.predict(x, verbose=0),
                 lambda: m.evaluate(x, np.zeros((len(x), 1)), verbose=0),
                 lambda: m.fit(good, np.zeros((len(x), 1)), validation_data=(x, np.zeros((len(x), 1))), verbose=0)):
        with pytest.raises(ValueError, match=r"Embedding 'emb': ids must be integers in \[0, 50\)"):
            call()
    # float32 x takes predict's fast path straight into C++: its check names the layer too
    m.predict(good, verbose=0)
    x32 = np.asarray(x, np.float32)
    for call in (lambda: m.predict(x32, verbose=0), lambda: m(x32), lambda: m.predict_on_batch(x32)):
        with pytest.raises(ValueError, match=r"Embedding 'emb'.* ids must be integers in \[0, 50\)"):
            call()


def test_embedding_regularizer_constraint_and_activity_regularizer():
    table = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]], np.float32)
    e = layers.Embedding(3, 2, embeddings_regularizer=ranvier.regularizers.L1L2(l1=0.1, l2=0.01),
                         embeddings_constraint="non_neg", activity_regularizer=ranvier.regularizers.L2(0.5),
                         weights=[table])
    t64 = table.astype(np.float64)
    np.testing.assert_allclose(e.losses[0], 0.1 * np.abs(t64).sum() + 0.01 * (t64 ** 2).sum(), rtol=1e-6)
    x = np.array([[0, 1], [1, 1]])
    e(x)
    np.testing.assert_allclose(e.losses[1], 0.5 * (t64[x] ** 2).sum() / 2, rtol=1e-6)  # / batch, as Keras
    m = ranvier.Sequential([e, layers.Flatten(), layers.Dense(1)])
    m.compile(ranvier.optimizers.SGD(0.1), "mse")
    m.fit(x, np.array([[1.0], [-1.0]]), epochs=3, verbose=0)
    assert np.all(e.get_weights()[0] >= 0)  # NonNeg applied after each step


# ---------------------------------------------------------------------------- Embedding in a Sequential
def _numpy_sgd_step(ids, y, table, kernel, bias, lr):
    """One SGD step of mean squared error on Embedding -> Flatten -> Dense(1), in float64."""
    n, seq = ids.shape
    h = table[ids].reshape(n, -1)
    pred = h @ kernel + bias
    d = 2.0 * (pred - y) / (n * y.shape[1])
    dk, db = h.T @ d, d.sum(axis=0)
    dh = (d @ kernel.T).reshape(n, seq, -1)
    dtab = np.zeros_like(table)
    np.add.at(dtab, ids.reshape(-1), dh.reshape(-1, table.shape[1]))
    return table - lr * dtab, kernel - lr * dk, bias - lr * db


def test_sequential_embedding_fits_int64_like_numpy_sgd(isa):
    rng = np.random.default_rng(4)
    n, seq = 32, 5
    x = rng.integers(0, 50, size=(n, seq)).astype(np.int64)
    y = rng.standard_normal((n, 1))
    m = ranvier.Sequential([layers.Embedding(50, 4), layers.Flatten(), layers.Dense(1)])
    m.compile(ranvier.optimizers.SGD(0.1), "mse")
    m.build((None, seq))
    table, kernel, bias = (w.astype(np.float64) for w in m.get_weights())
    m.fit(x, y, epochs=1, batch_size=n, shuffle=False, verbose=0)
    want = _numpy_sgd_step(x, y, table, kernel, bias, 0.1)
    for got, ref in zip(m.get_weights(), want):  # sums of <= 160 float32 terms: rtol 1e-5
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert m.output_shape == (None, 1)
    assert m.layers[0].compute_output_shape((None, seq)) == (None, seq, 4)
    # float ids holding integers give the same predictions as the int64 ones
    assert np.array_equal(m.predict(x, verbose=0), m.predict(x.astype(np.float64), verbose=0))


def test_sequential_embedding_trains_and_round_trips_files(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 20, size=(200, 3))
    y = (np.isin(x, [1, 2, 3]).sum(axis=1, keepdims=True) > 0).astype(np.float32)
    m = ranvier.Sequential([layers.Input((3,), dtype="int64"), layers.Embedding(20, 4), layers.Flatten(),
                            layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    want = m.predict(x, verbose=0)
    for name in ("emb.safetensors", "emb.keras"):
        path = tmp_path / name
        m.save(path)
        back = ranvier.models.load_model(path)
        assert [type(a) for a in back.layers] == [type(b) for b in m.layers]
        assert np.array_equal(back.predict(x, verbose=0), want)
    path = tmp_path / "emb.safetensors"
    assert np.array_equal(predict_file(path, x), want)
    assert np.array_equal(_core.io_cpp_predict(str(path), x.astype(np.float32), 32), want)
    # resume: both continue identically
    back = ranvier.models.load_model(path)
    for model in (m, back):
        model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), back.get_weights()):
        assert np.array_equal(a, b)


def test_prebuilt_embedding_rebuilds_for_the_sequence_length():
    e = layers.Embedding(10, 2)
    e(np.array([1, 2]))  # built for one id per sample
    m = ranvier.Sequential([e, layers.Flatten(), layers.Dense(1)])
    m.compile("sgd", "mse")
    x = np.array([[1, 2, 3], [4, 5, 6]])
    out = m.predict(x, verbose=0)
    k, b = m.layers[2].get_weights()
    np.testing.assert_allclose(out, e.get_weights()[0][x].reshape(2, -1) @ k + b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- CategoryEncoding
def _encode_reference(x, t, mode):
    x = np.asarray(x).astype(np.int64)
    if mode == "one_hot":
        out = np.eye(t)[x.reshape(-1)].reshape(x.shape + (t,))
        return out.reshape(x.shape[:-1] + (t,)) if x.ndim >= 1 and x.shape[-1] == 1 else out
    rows = x.reshape(-1, x.shape[-1]) if x.ndim >= 1 else x.reshape(1, 1)
    out = np.zeros((rows.shape[0], t))
    for r, row in enumerate(rows):
        for v in row:
            out[r, v] = out[r, v] + 1 if mode == "count" else 1
    return out.reshape(x.shape[:-1] + (t,)) if x.ndim >= 1 else out.reshape(t)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_against_reference(mode, isa):
    rng = np.random.default_rng(6)
    enc = layers.CategoryEncoding(num_tokens=7, output_mode=mode)
    for shape in ((5, 1), (5, 4), (6,)):
        enc = layers.CategoryEncoding(num_tokens=7, output_mode=mode)
        x = rng.integers(0, 7, size=shape)
        got = enc(x)
        assert got.dtype == np.float32
        assert got.shape == enc.compute_output_shape(shape)
        if mode == "one_hot" or len(shape) > 1:
            np.testing.assert_array_equal(got, _encode_reference(x, 7, mode))


def test_category_encoding_keras_shape_rules_and_measured_values():
    assert layers.CategoryEncoding(4, "one_hot")(np.array([[1], [3]])).shape == (2, 4)
    assert layers.CategoryEncoding(4, "one_hot")(np.array([1, 3, 0])).shape == (3, 4)
    assert layers.CategoryEncoding(4, "one_hot")(np.array([[1, 2], [3, 0]])).shape == (2, 2, 4)
    mh = layers.CategoryEncoding(4)  # multi_hot by default; (n,) is one sample: (T,)
    np.testing.assert_array_equal(mh(np.array([0, 1, 1])), [1, 1, 0, 0])
    np.testing.assert_array_equal(mh(np.array([[0, 1], [3, 3]])), [[1, 1, 0, 0], [0, 0, 0, 1]])
    assert layers.CategoryEncoding(4, "count")(np.zeros((2, 3, 5), np.int64)).shape == (2, 3, 4)
    c = layers.CategoryEncoding(4, "count")  # keras-spec-2 3.3: [[0,1,1]] with [.5,1,2] gives [.5,3,0,0]
    np.testing.assert_allclose(c(np.array([[0, 1, 1]]), count_weights=np.array([[0.5, 1, 2]])), [[0.5, 3, 0, 0]])
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(4)(np.array([[0]]), count_weights=np.array([[1.0]]))
    assert layers.CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"


def test_category_encoding_errors_config_and_zero_gradient():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="num_tokens"):
        layers.CategoryEncoding(0)
    with pytest.raises(ValueError, match="Unknown arg for output_mode"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse"):
        layers.CategoryEncoding(3, sparse=True)
    enc = layers.CategoryEncoding(3, "count", name="ce")
    for bad, shown in [(3, "3, which is out of range"), (-1, "-1, which is out of range"),
                       (1.5, "1.5, which is not an integer")]:
        with pytest.raises(ValueError, match=r"CategoryEncoding 'ce': ids must be integers in \[0, 3\), got x\[0, 1\]="
                           + shown):
            enc(np.array([[0, bad]]))
    cfg = enc.get_config()
    assert (cfg["num_tokens"], cfg["output_mode"]) == (3, "count")
    assert layers.CategoryEncoding.from_config(cfg).get_config() == cfg
    core, _, _ = _core_layer("CategoryEncoding", {"num_tokens": 3, "output_mode": "one_hot"}, 2, 4)
    x = np.array([[0, 2], [1, 1], [2, 0], [0, 0]], np.float32)
    y = np.empty((4, 6), np.float32)
    core.forward(x, y, True, 1)
    dx = np.full_like(x, np.nan)
    core.backward(x, y, np.ones_like(y), dx)
    assert np.array_equal(dx, np.zeros_like(x))
    x[2, 1] = 3
    with pytest.raises(ValueError, match=r"CategoryEncoding: input id 3 \(sample 2, position 1\) is out of range"):
        core.forward(x, y, False, 0)


def test_category_encoding_first_layer_of_a_model_file(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, size=(40, 3))
    y = rng.standard_normal((40, 1)).astype(np.float32)
    m = ranvier.Sequential([layers.CategoryEncoding(5, "count"), layers.Dense(1)])
    m.compile("sgd", "mse")
    m.fit(x, y, epochs=2, verbose=0)
    k, b = m.layers[1].get_weights()
    want = m.predict(x, verbose=0)
    np.testing.assert_allclose(want, _encode_reference(x, 5, "count") @ k + b, rtol=1e-5, atol=1e-6)
    path = tmp_path / "ce.safetensors"
    m.save(path)
    assert np.array_equal(ranvier.models.load_model(path).predict(x, verbose=0), want)
    assert np.array_equal(predict_file(path, x), want)
    with pytest.raises(ValueError, match=r"ids must be integers in \[0, 5\)"):
        m.predict(np.array([[0, 1, 5]]), verbose=0)


# ---------------------------------------------------------------------------- Reshape, RepeatVector
def _fd_dx(core, x, n_out, h=1e-2):
    """Central differences of f(x) = sum(g * y) against backward's dx (linear layers: exact up
    to float32 rounding; atol 1e-4)."""
    rng = np.random.default_rng(8)
    g = rng.standard_normal((x.shape[0], n_out))

    def f(xv):
        out = np.empty((x.shape[0], n_out), np.float32)
        core.forward(xv, out, True, 1)
        return float(np.sum(g * out.astype(np.float64)))

    fd = central_differences(f, x, h)
    y = np.empty((x.shape[0], n_out), np.float32)
    core.forward(x, y, True, 1)
    dx = np.full_like(x, np.nan)
    core.backward(x, y, g.astype(np.float32), dx)
    np.testing.assert_allclose(dx, fd, rtol=1e-4, atol=1e-4)


def test_reshape_forward_gradient_and_shapes(isa):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 12)).astype(np.float32)
    r = layers.Reshape((3, -1))
    out = r(x)
    assert out.shape == (4, 3, 4) and np.array_equal(out, x.reshape(4, 3, 4))
    assert r.compute_output_shape((None, 12)) == (None, 3, 4)
    assert layers.Reshape((2, 6)).compute_output_shape((None, 3, 4)) == (None, 2, 6)
    assert np.array_equal(layers.Reshape((12,))(x.reshape(4, 2, 6)), x)
    core, _, _ = _core_layer("Reshape", {"target_shape": [2, -1]}, 12, 4)
    _fd_dx(core, x.astype(np.float32), 12)
    with pytest.raises(ValueError, match="at most one unknown dimension"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="positive"):
        layers.Reshape((0, 3))
    with pytest.raises(TypeError, match="target_shape"):
        layers.Reshape("3")
    with pytest.raises(ValueError, match="cannot be reshaped"):
        layers.Reshape((5,))(x)
    with pytest.raises(ValueError, match="cannot be reshaped"):
        layers.Reshape((5, -1))(x)
    cfg = r.get_config()
    assert tuple(cfg["target_shape"]) == (3, -1)
    assert layers.Reshape.from_config(cfg).target_shape == (3, -1)


def test_repeat_vector_forward_gradient_and_errors(isa):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    rv = layers.RepeatVector(4)
    out = rv(x)
    assert out.shape == (5, 4, 3)
    assert np.array_equal(out, np.repeat(x[:, None, :], 4, axis=1))
    assert rv.compute_output_shape((None, 3)) == (None, 4, 3)
    core, _, _ = _core_layer("RepeatVector", {"n": 4}, 3, 5)
    _fd_dx(core, x, 12)
    y = np.empty((5, 12), np.float32)
    core.forward(x, y, True, 1)
    g = rng.standard_normal((5, 12)).astype(np.float32)
    dx = np.empty_like(x)
    core.backward(x, y, g.copy(), dx)
    np.testing.assert_allclose(dx, g.astype(np.float64).reshape(5, 4, 3).sum(axis=1), rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match="Expected an integer value for `n`"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2"):
        layers.RepeatVector(2)(np.zeros((2, 3, 4)))
    assert layers.RepeatVector.from_config(rv.get_config()).n == 4


def test_reshape_and_repeat_vector_in_a_trained_model_file(tmp_path):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    m = ranvier.Sequential([layers.Input((6,)), layers.Dense(4), layers.RepeatVector(3), layers.Reshape((2, 6)),
                            layers.Flatten(), layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(x, y, epochs=2, verbose=0)
    k1, b1, k2, b2 = (w.astype(np.float64) for w in m.get_weights())
    h = np.tile(x @ k1 + b1, (1, 3))
    want = m.predict(x, verbose=0)
    np.testing.assert_allclose(want, h @ k2 + b2, rtol=1e-5, atol=1e-5)
    path = tmp_path / "shape.safetensors"
    m.save(path)
    assert np.array_equal(ranvier.models.load_model(path).predict(x, verbose=0), want)
    assert np.array_equal(predict_file(path, x), want)
    # Reshape as the first layer of a rank-3 input (it takes the whole sample)
    m2 = ranvier.Sequential([layers.Input((2, 3)), layers.Reshape((6,)), layers.Dense(1)])
    k, b = m2.layers[1].get_weights()
    np.testing.assert_allclose(m2.predict(x.reshape(64, 2, 3), verbose=0), x @ k + b, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- ONNX export
def _onnx_run(m, x, tmp_path, name):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    p = tmp_path / name
    m.export(str(p), format="onnx", verbose=False)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": np.asarray(x, np.float32)})[0]


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_onnx_export_of_id_layers(mode, tmp_path):
    rng = np.random.default_rng(12)
    x = rng.integers(0, 6, size=(20, 3))
    if mode == "one_hot":
        x = x[:, :1]
    m = ranvier.Sequential([layers.Input((x.shape[1],), dtype="int64"), layers.CategoryEncoding(6, mode),
                            layers.Dense(2)])
    np.testing.assert_allclose(_onnx_run(m, x, tmp_path, f"ce_{mode}.onnx"), m.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    m = ranvier.Sequential([layers.Input((3,), dtype="int64"), layers.Embedding(6, 4), layers.Flatten(),
                            layers.Dense(8, activation="relu"), layers.RepeatVector(2), layers.Reshape((4, -1)),
                            layers.Flatten(), layers.Dense(1)])
    x = rng.integers(0, 6, size=(20, 3))
    np.testing.assert_allclose(_onnx_run(m, x, tmp_path, "emb.onnx"), m.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- N-D samples inside a Sequential
def test_elementwise_layers_take_embedding_outputs_and_last_axis_layers_ask_for_flatten():
    rng = np.random.default_rng(13)
    x = rng.integers(0, 20, size=(30, 3))
    y = rng.standard_normal((30, 1))
    m = ranvier.Sequential([layers.Embedding(20, 4), layers.Dropout(0.3, seed=1), layers.Activation("relu"),
                            layers.Flatten(), layers.Dense(1)])
    m.compile("sgd", "mse")
    m.fit(x, y, epochs=1, verbose=0)
    table, k, b = m.get_weights()
    np.testing.assert_allclose(m.predict(x, verbose=0), np.maximum(table[x], 0).reshape(30, -1) @ k + b,
                               rtol=1e-5, atol=1e-6)
    assert m.layers[1].compute_output_shape((None, 3, 4)) == (None, 3, 4)
    for mid in (layers.Dense(2), layers.Softmax(), layers.LayerNormalization()):
        bad = ranvier.Sequential([layers.Embedding(20, 4), mid, layers.Flatten(), layers.Dense(1)])
        bad.compile("sgd", "mse")
        with pytest.raises(ValueError, match=r"gets inputs of shape \(None, 3, 4\).*add a Flatten\(\) before it"):
            bad.fit(x, y, verbose=0)


def test_ids_checked_in_cpp_when_the_id_layer_is_not_first():
    """An Embedding after another layer sees its ids only inside the C++ epoch: the C++ check
    stops fit / predict with a ValueError naming the layer, and the model still works."""
    m = ranvier.Sequential([layers.Input((3,)), layers.Identity(), layers.Embedding(5, 2, name="later"),
                            layers.Flatten(), layers.Dense(1)])
    m.compile("sgd", "mse")
    bad = np.array([[1, 2, 7]] * 40)
    for call in (lambda: m.fit(bad, np.ones((40, 1)), verbose=0), lambda: m.predict(bad, verbose=0)):
        with pytest.raises(ValueError, match=r"Embedding 'later': input id 7 \(sample 0, position 2\) is out of range: "
                                             r"ids must be integers in \[0, 5\)"):
            call()
    assert np.isfinite(m.predict(np.array([[1, 2, 3]]), verbose=0)).all()


def test_a_rank_3_model_output_is_refused_for_training_by_name():
    m = ranvier.Sequential([layers.Input((4,)), layers.Dense(3), layers.RepeatVector(2)])
    m.compile("sgd", "mse")
    assert m.output_shape == (None, 2, 3)
    with pytest.raises(ValueError, match=r"output has shape \(None, 2, 3\).*add a Flatten\(\) at the end"):
        m.fit(np.ones((5, 4)), np.ones((5, 2, 3)), verbose=0)
    k, b = m.layers[0].get_weights()
    np.testing.assert_allclose(m.predict(np.ones((5, 4)), verbose=0).reshape(5, 2, 3),
                               np.repeat((np.ones((5, 4)) @ k + b)[:, None, :], 2, axis=1), rtol=1e-5, atol=1e-6)


def test_embedding_model_fit_bitwise_identical_at_every_thread_count():
    rng = np.random.default_rng(14)
    x = rng.integers(0, 300, size=(512, 12))
    y = rng.standard_normal((512, 1))

    def run(threads):
        ranvier.set_num_threads(threads)
        try:
            ranvier.utils.set_random_seed(3)
            m = ranvier.Sequential([layers.Embedding(300, 24), layers.Flatten(), layers.Dense(8, activation="relu"),
                                    layers.Dense(1)])
            m.compile("adam", "mse")
            m.fit(x, y, epochs=2, batch_size=128, shuffle=False, verbose=0)
            return m.get_weights()
        finally:
            ranvier.set_num_threads(0)

    ref = run(1)
    for threads in (2, 3, 4):
        for a, b in zip(ref, run(threads)):
            assert np.array_equal(a, b), threads


# ---------------------------------------------------------------------------- in the C++ graph network
def test_graph_wide_and_deep_with_a_shared_embedding_one_sgd_step(isa):
    """num (4 floats), a and b (2 ids each) -> one Embedding(6, 3) called on a and on b (the
    second node shares the first's table) -> Concatenate([num, emb(a), emb(b)]) -> Dense(1):
    one SGD step of MSE against NumPy float64 (the shared table's gradient is both
    scatter-adds summed). rtol 1e-5 / atol 1e-6 (sums of at most 16 float32 terms)."""
    rng = np.random.default_rng(15)
    net = _core.Network()
    num, a, b = net.add_input(4, "num"), net.add_input(2, "a"), net.add_input(2, "b")
    emb_a = _core.layer_from_config("Embedding", {"input_dim": 6, "output_dim": 3})
    emb_a.build(2)
    emb_b = _core.layer_from_config("Embedding", {"input_dim": 6, "output_dim": 3})
    emb_b.build(2)
    ea = net.add_node(emb_a, [a])
    eb = net.add_node(emb_b, [b], shares_with=0)
    cat = _core.layer_from_config("Concatenate", {"axis": -1})
    cat.build_inputs([4, 6, 6])
    c = net.add_node(cat, [num, ea, eb])
    d = _core.layer_from_config("Dense", {"units": 1})
    d.build(16)
    net.set_outputs([net.add_node(d, [c])])
    net.finalize()
    net.bind_all()
    p = net.params()
    p[:] = (rng.standard_normal(p.size) * 0.5).astype(np.float32)
    w = {(t["layer"], t["name"]): p[t["offset"]:t["offset"] + t["size"]].reshape(t["shape"]).astype(np.float64)
         for t in net.tensors()}
    table, k, bias = w[(0, "embeddings")], w[(3, "kernel")], w[(3, "bias")]
    n = 8
    xn = rng.standard_normal((n, 4)).astype(np.float32)
    xa = rng.integers(0, 6, (n, 2)).astype(np.float32)
    xb = rng.integers(0, 6, (n, 2)).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    ia, ib = xa.astype(np.int64), xb.astype(np.int64)
    h = np.concatenate([xn, table[ia].reshape(n, 6), table[ib].reshape(n, 6)], axis=1)
    out = h @ k + bias
    np.testing.assert_allclose(net.predict_multi([xn, xa, xb], 4)[0], out, rtol=1e-5, atol=1e-6)
    dout = 2.0 * (out - y) / n
    dh = dout @ k.T
    dtable = np.zeros_like(table)
    np.add.at(dtable, ia.reshape(-1), dh[:, 4:10].reshape(-1, 3))
    np.add.at(dtable, ib.reshape(-1), dh[:, 10:16].reshape(-1, 3))
    cfg = _core.optimizer_keras_defaults(_core.OptimizerKind.sgd)
    cfg.learning_rate = 0.1
    opt = _core.Optimizer(cfg)
    opt.build(int(p.size), [(t["offset"], t["size"], True) for t in net.tensors() if t["trainable"]])
    mse = _core.loss_kind_names().index("mean_squared_error")
    tr = _core.Trainer(net, opt, losses=[(mse, {}, 1.0)], metrics=[[]], weighted=[[]])
    tr.train_batch([xn, xa, xb], [y], [None])
    got = {(t["layer"], t["name"]): p[t["offset"]:t["offset"] + t["size"]].reshape(t["shape"]) for t in net.tensors()}
    np.testing.assert_allclose(got[(0, "embeddings")], table - 0.1 * dtable, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[(3, "kernel")], k - 0.1 * h.T @ dout, rtol=1e-5, atol=1e-6)
    xa[3, 1] = 6  # an out-of-range id stops the step with the layer's message
    with pytest.raises(ValueError, match=r"Embedding: input id 6 \(sample 3, position 1\) is out of range"):
        tr.train_batch([xn, xa, xb], [y], [None])


def test_functional_graph_with_dropout_on_embedding_outputs():
    """A graph (two inputs) whose Embedding output goes through an elementwise layer before
    Flatten and Concatenate: the elementwise layer takes the 3-D samples as rows."""
    rng = np.random.default_rng(16)
    a = ranvier.Input((3,), dtype="int64", name="ids")
    b = ranvier.Input((2,), name="num")
    emb = layers.Embedding(10, 4, name="emb")
    h = layers.Concatenate()([layers.Flatten()(layers.Activation("relu")(layers.Dropout(0.2, seed=1)(emb(a)))), b])
    out = layers.Dense(1, name="out")(h)
    m = ranvier.Model([a, b], out)
    xa = rng.integers(0, 10, (20, 3))
    xb = rng.standard_normal((20, 2))
    m.compile("adam", "mse")
    m.fit([xa, xb], np.ones((20, 1)), epochs=2, verbose=0)
    k, bias = m.get_layer("out").get_weights()
    want = np.concatenate([np.maximum(emb.get_weights()[0][xa], 0).reshape(20, -1), xb], axis=1) @ k + bias
    np.testing.assert_allclose(m.predict([xa, xb], verbose=0), want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------ N-D outputs keep their shape
@pytest.mark.parametrize("layer, sample_shape", [
    (lambda: ranvier.layers.Reshape((2, 3)), (2, 3)),
    (lambda: ranvier.layers.RepeatVector(4), (4, 6)),
])
def test_nd_output_keeps_keras_shape_in_every_predict_path(layer, sample_shape):
    # Keras returns (n, *output_shape[1:]) from predict, __call__ and predict_on_batch; the
    # network computes flattened rows, which must be reshaped, never returned flat.
    model = ranvier.Sequential([ranvier.Input((6,)), layer()])
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    if sample_shape == (2, 3):
        want = x.reshape(5, 2, 3)
    else:
        want = np.repeat(x[:, None, :], 4, axis=1)

    def gen():
        yield x[:3]
        yield x[3:]

    for got in (model.predict(x, verbose=0), model(x), model.predict_on_batch(x),
                model.predict(x, verbose=0, batch_size=2), model(x, training=True),
                model.predict(gen(), verbose=0), model.predict(x.tolist(), verbose=0)):
        assert got.shape == (5,) + sample_shape
        np.testing.assert_array_equal(got, want)
