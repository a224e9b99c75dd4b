"""ONNX export of graph models (several inputs and outputs, merge layers, a shared layer, an
integer Embedding input): onnxruntime runs the exported graph and its outputs equal
``model.predict`` within 1e-5 (float32 on both sides; the tolerance covers different summation
orders in GEMM and different exp/tanh approximations)."""
import numpy as np
import pytest

import ranvier

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

L = ranvier.layers
TOL = dict(rtol=1e-5, atol=1e-5)


def _graph_model():
    num = ranvier.Input(shape=(6,), name="num")
    cat = ranvier.Input(shape=(2,), name="cat", dtype="int64")
    shared = L.Dense(6, activation="tanh", name="shared")
    a = shared(num)
    b = shared(L.Dense(6, name="pre")(num))  # the same Dense called twice: one set of weights
    emb = L.Flatten(name="flat")(L.Embedding(11, 3, name="emb")(cat))
    x = L.Concatenate(name="concat")([L.Add(name="add")([a, b]), emb])
    h = L.Dense(8, activation="relu", name="hidden")(x)
    out1 = L.Dense(1, activation="sigmoid", name="prob")(h)
    out2 = L.Dense(3, name="score")(L.Add(name="skip")([h, L.Dense(8, name="proj")(emb)]))
    return ranvier.Model({"num": num, "cat": cat}, [out1, out2], name="two_heads")


def _data(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 11, (n, 2)).astype(np.int64),
            rng.integers(0, 2, (n, 1)).astype(np.float32), rng.standard_normal((n, 3)).astype(np.float32))


def test_two_input_two_output_graph_matches_predict(tmp_path, capsys):
    ranvier.utils.set_random_seed(3)
    m = _graph_model()
    xn, xc, y1, y2 = _data(96, 3)
    m.compile(optimizer="adam", loss=["binary_crossentropy", "mse"])
    m.fit({"num": xn, "cat": xc}, [y1, y2], epochs=2, batch_size=16, verbose=0)  # weights off their init
    p = tmp_path / "g.onnx"
    m.export(p)
    assert "'num'" in capsys.readouterr().out
    proto = onnx.load(str(p))
    onnx.checker.check_model(proto)
    # the shared Dense's kernel and bias are stored once
    assert sum(i.name.startswith("shared_kernel") for i in proto.graph.initializer) == 1
    assert sum(i.name.startswith("shared_bias") for i in proto.graph.initializer) == 1
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    assert sorted(i.name for i in sess.get_inputs()) == ["cat", "num"]
    types = {i.name: i.type for i in sess.get_inputs()}
    assert types == {"num": "tensor(float)", "cat": "tensor(int64)"}
    assert [o.name for o in sess.get_outputs()] == ["prob", "score"]
    want = m.predict({"num": xn, "cat": xc}, verbose=0)
    got = sess.run(["prob", "score"], {"num": xn, "cat": xc})
    assert len(want) == 2
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **TOL)
    # any batch size (the batch dimension is symbolic)
    got1 = sess.run(None, {"num": xn[:1], "cat": xc[:1]})
    for g, w in zip(got1, m.predict({"num": xn[:1], "cat": xc[:1]}, verbose=0)):
        np.testing.assert_allclose(g, w, **TOL)


def test_graph_with_every_merge_layer_matches_predict(tmp_path):
    ranvier.utils.set_random_seed(4)
    a_in = ranvier.Input(shape=(5,), name="a")
    b_in = ranvier.Input(shape=(5,), name="b")
    a, b = L.Dense(4, name="da")(a_in), L.Dense(4, name="db")(b_in)
    merged = [L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]), L.Maximum()([a, b]),
              L.Minimum()([a, b]), L.Dot(axes=1)([a, b]), L.Dot(axes=1, normalize=True)([a, b])]
    out = L.Dense(2, name="out")(L.Concatenate()(merged))
    m = ranvier.Model([a_in, b_in], out)
    rng = np.random.default_rng(4)
    xa, xb = (rng.standard_normal((32, 5)).astype(np.float32) for _ in range(2))
    p = tmp_path / "m.onnx"
    m.export(p, verbose=False)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["out"]
    got = sess.run(None, {"a": xa, "b": xb})[0]
    np.testing.assert_allclose(got, m.predict([xa, xb], verbose=0), **TOL)


def test_graph_with_raw_string_keys_is_refused_clearly(tmp_path):
    s = ranvier.Input(shape=(1,), name="city", dtype="string")
    n = ranvier.Input(shape=(2,), name="num")
    idx = L.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot", name="lookup")(s)
    out = L.Dense(1)(L.Concatenate()([L.Flatten()(idx) if len(idx.shape) > 2 else idx, n]))
    m = ranvier.Model([s, n], out)
    with pytest.raises(ValueError, match="lookup.*StringLookup.*no ONNX form"):
        m.export(tmp_path / "s.onnx", verbose=False)
    assert not (tmp_path / "s.onnx").exists()
