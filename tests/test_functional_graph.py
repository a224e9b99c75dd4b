"""Functional models that are graphs (ranvier._functional_graph): several inputs and
outputs, a layer called twice (shared weights), models nested as layers, dict structures,
per-output losses/metrics and Keras's log keys, the functional config, the summary's
"Connected to" column, and the bad-input rules.

References:
- NumPy forward/backward passes written here for the same computations (one SGD step on a
  2-input 2-output model with a shared layer, against the weights ranvier reads back).
  Tolerances: float32 arithmetic over short reductions (<= 8 terms per dot product, 6 rows
  in the batch mean): rtol 1e-5 / atol 1e-6 on forward values, 1e-5 on updated weights;
- Keras 3's written behaviour (keras-spec-2 section 1): structures of x/y/loss/metrics,
  the log key names (``<output>_loss``, ``<output>_<metric>``) and their order, the
  config layout (inbound_nodes with __keras_tensor__ / keras_history, input_layers /
  output_layers mirroring the structures), and the "Connected to" cells.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ranvier
from ranvier import layers
from ranvier.utils import clear_session, set_random_seed


def _cpp_reads_graph_files() -> bool:
    """Whether this build's C++ model-file reader (cpp/src/io, which every file goes through
    and which the C/C++ API loads with) reads functional graphs; before it does, saving a graph
    model is refused by it ("only Sequential models can be loaded")."""
    import json
    from ranvier import _core
    cfg = {"class_name": "Functional", "config": {
        "name": "probe", "trainable": True, "input_layers": [["i", 0, 0]], "output_layers": [["d", 0, 0]],
        "layers": [{"class_name": "InputLayer", "name": "i", "inbound_nodes": [],
                    "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "i"}},
                   {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 1},
                    "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                        "shape": [None, 2], "dtype": "float32", "keras_history": ["i", 0, 0]}}], "kwargs": {}}]}]}}
    try:
        _core.io_check_model_metadata([("architecture", json.dumps(cfg))], 3)
    except ValueError as e:
        return "only Sequential" not in str(e)
    return True


_needs_graph_files = pytest.mark.skipif(not _cpp_reads_graph_files(),
                                        reason="the C++ reader of graph model files is not in this build")


def _dense_np(layer, x):
    w, b = layer.get_weights()
    return x.astype(np.float64) @ w.astype(np.float64) + b.astype(np.float64)


def _shared_two_by_two(seed=3):
    """x1 -> shared Dense(4, tanh) -> Dense(2) = "a"; x2 -> shared -> Dense(1) = "b"."""
    clear_session()
    set_random_seed(seed)
    x1 = ranvier.Input(shape=(3,), name="x1")
    x2 = ranvier.Input(shape=(3,), name="x2")
    shared = layers.Dense(4, activation="tanh", name="shared")
    a = layers.Dense(2, name="a")(shared(x1))
    b = layers.Dense(1, name="b")(shared(x2))
    return ranvier.Model([x1, x2], [a, b], name="two_by_two"), shared


def _data(n=6, seed=0):
    r = np.random.RandomState(seed)
    return (r.normal(size=(n, 3)).astype(np.float32), r.normal(size=(n, 3)).astype(np.float32),
            r.normal(size=(n, 2)).astype(np.float32), r.normal(size=(n, 1)).astype(np.float32))


# ------------------------------------------------------------------ building and predicting
def test_a_graph_model_is_a_model_with_flat_inputs_and_outputs():
    model, shared = _shared_two_by_two()
    assert isinstance(model, ranvier.Model)
    assert [t.name for t in model.inputs] == ["x1", "x2"]
    assert len(model.outputs) == 2 and model.output_names == ["a", "b"]
    assert [l.name for l in model.layers] == ["x1", "x2", "shared", "a", "b"]
    assert model.get_layer("shared") is shared
    # the shared layer's weights appear once
    assert len(model.weights) == 6 and model.count_params() == (3 * 4 + 4) + (4 * 2 + 2) + (4 + 1)


def test_predict_matches_numpy_for_a_shared_layer_called_twice():
    model, shared = _shared_two_by_two()
    x1, x2, _, _ = _data()
    pa, pb = model.predict([x1, x2], verbose=0)
    h1, h2 = np.tanh(_dense_np(shared, x1)), np.tanh(_dense_np(shared, x2))
    np.testing.assert_allclose(pa, _dense_np(model.get_layer("a"), h1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pb, _dense_np(model.get_layer("b"), h2), rtol=1e-5, atol=1e-6)
    # the same by name, and with the inputs given as a dict (by Input name)
    qa, qb = model.predict({"x2": x2, "x1": x1}, verbose=0)
    np.testing.assert_array_equal(qa, pa)
    np.testing.assert_array_equal(qb, pb)


def test_dict_outputs_come_back_as_a_dict_and_dict_inputs_flatten_sorted():
    clear_session()
    set_random_seed(0)
    z = ranvier.Input(shape=(2,), name="z_in")
    a = ranvier.Input(shape=(3,), name="a_in")
    h = layers.Dense(3, name="hz")(z)
    out_p = layers.Dense(1, name="p")(h)
    out_q = layers.Dense(2, name="q")(layers.Dense(2, name="ha")(a))
    model = ranvier.Model({"zz": z, "aa": a}, {"q_out": out_q, "p_out": out_p})
    assert [t.name for t in model.inputs] == ["a_in", "z_in"]  # sorted keys: aa, zz
    r = np.random.RandomState(1)
    xa, xz = r.normal(size=(5, 3)), r.normal(size=(5, 2))
    out = model.predict({"aa": xa, "zz": xz}, verbose=0)
    assert sorted(out) == ["p_out", "q_out"]
    ref_p = _dense_np(model.get_layer("p"), _dense_np(model.get_layer("hz"), xz))
    np.testing.assert_allclose(out["p_out"], ref_p, rtol=1e-5, atol=1e-6)
    # a list works by position in the flat (sorted) order
    out2 = model.predict([xa, xz], verbose=0)
    np.testing.assert_array_equal(out2["q_out"], out["q_out"])


# ------------------------------------------------------------------ training
def test_one_sgd_step_matches_numpy_for_two_inputs_two_outputs_and_a_shared_layer():
    model, shared = _shared_two_by_two()
    wa, wb, lr = 0.5, 2.0, 0.1
    model.compile(optimizer=ranvier.optimizers.SGD(learning_rate=lr), loss=["mse", "mse"], loss_weights=[wa, wb])
    x1, x2, ya, yb = _data()
    n = x1.shape[0]
    W, c = [w.astype(np.float64) for w in shared.get_weights()]
    A, ab = [w.astype(np.float64) for w in model.get_layer("a").get_weights()]
    B, bb = [w.astype(np.float64) for w in model.get_layer("b").get_weights()]
    X1, X2 = x1.astype(np.float64), x2.astype(np.float64)
    h1, h2 = np.tanh(X1 @ W + c), np.tanh(X2 @ W + c)
    pa, pb = h1 @ A + ab, h2 @ B + bb
    la, lb = np.mean((pa - ya) ** 2), np.mean((pb - yb) ** 2)
    da = wa * 2 * (pa - ya) / (n * 2)
    db = wb * 2 * (pb - yb) / (n * 1)
    gA, gab, gB, gbb = h1.T @ da, da.sum(0), h2.T @ db, db.sum(0)
    dz1 = (da @ A.T) * (1 - h1 ** 2)
    dz2 = (db @ B.T) * (1 - h2 ** 2)
    gW = X1.T @ dz1 + X2.T @ dz2  # the shared layer's gradient: the sum over both calls
    gc = dz1.sum(0) + dz2.sum(0)
    logs = model.train_on_batch([x1, x2], [ya, yb], return_dict=True)
    assert sorted(logs) == ["a_loss", "b_loss", "loss"]
    np.testing.assert_allclose(logs["a_loss"], la, rtol=1e-5)
    np.testing.assert_allclose(logs["b_loss"], lb, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], wa * la + wb * lb, rtol=1e-5)
    for got, w0, g in ((shared.get_weights()[0], W, gW), (shared.get_weights()[1], c, gc),
                       (model.get_layer("a").get_weights()[0], A, gA), (model.get_layer("a").get_weights()[1], ab, gab),
                       (model.get_layer("b").get_weights()[0], B, gB), (model.get_layer("b").get_weights()[1], bb, gbb)):
        np.testing.assert_allclose(got, w0 - lr * g, rtol=1e-5, atol=1e-6)


def test_history_and_evaluate_keys_follow_keras_for_two_outputs():
    model, _ = _shared_two_by_two()
    model.compile(optimizer="sgd", loss={"a": "mse", "b": "mae"}, metrics=[["mae", "mse"], ["mse"]])
    x1, x2, ya, yb = _data(n=16)
    hist = model.fit({"x1": x1, "x2": x2}, {"a": ya, "b": yb}, epochs=2, batch_size=4, verbose=0,
                     validation_data=([x1, x2], [ya, yb]))
    assert list(hist.history) == sorted(hist.history)
    assert sorted(hist.history) == sorted(["a_loss", "a_mae", "a_mse", "b_loss", "b_mse", "loss",
                                           "val_a_loss", "val_a_mae", "val_a_mse", "val_b_loss", "val_b_mse",
                                           "val_loss"])
    res = model.evaluate([x1, x2], [ya, yb], verbose=0)
    d = model.evaluate([x1, x2], [ya, yb], verbose=0, return_dict=True)
    # Keras: loss, each <output>_loss in output order, then the other keys sorted
    assert res == [d["loss"], d["a_loss"], d["b_loss"], d["a_mae"], d["a_mse"], d["b_mse"]]
    np.testing.assert_allclose(d["loss"], d["a_loss"] + d["b_loss"], rtol=1e-5)
    pa, pb = model.predict([x1, x2], verbose=0)
    np.testing.assert_allclose(d["b_loss"], np.mean(np.abs(pb - yb)), rtol=1e-5)
    np.testing.assert_allclose(d["a_mse"], np.mean((pa - ya) ** 2), rtol=1e-5)


def test_a_single_loss_applies_to_every_output_and_sample_weight_is_per_output():
    model, _ = _shared_two_by_two()
    model.compile(optimizer="sgd", loss="mse")
    x1, x2, ya, yb = _data(n=8)
    sw = np.arange(1, 9, dtype=np.float32)
    d = model.evaluate([x1, x2], [ya, yb], sample_weight={"a": sw, "b": np.ones(8)}, verbose=0, return_dict=True)
    pa, pb = model.predict([x1, x2], verbose=0)
    per_a = np.mean((pa - ya) ** 2, axis=1)
    np.testing.assert_allclose(d["a_loss"], np.sum(per_a * sw) / 8, rtol=1e-5)
    np.testing.assert_allclose(d["b_loss"], np.mean((pb - yb) ** 2), rtol=1e-5)


def test_compile_structures_are_checked_per_output():
    # Keras 3 checks these against the outputs when fit/evaluate/train_on_batch/
    # test_on_batch first run (compile itself returns): the ValueError comes from there,
    # every time until the next compile; predict still works
    model, _ = _shared_two_by_two()
    x1, x2, ya, yb = _data()
    for kwargs, message in [
            (dict(loss={"a": "mse"}), r"Expected keys \['a', 'b'\] in loss dict.*\['a'\]"),
            (dict(loss=["mse", "mse", "mse"]), "loss is a list of 3.*2 outputs"),
            (dict(loss="mse", loss_weights=[1.0]), "loss_weights` must match the number of losses"),
            (dict(loss="mse", metrics=["mae", "mse", "mae"]), "Invalid `metrics`.*a list of 3")]:
        model.compile(**kwargs)
        with pytest.raises(ValueError, match=message):
            model.fit([x1, x2], [ya, yb], verbose=0)
        with pytest.raises(ValueError, match=message):
            model.evaluate([x1, x2], [ya, yb], verbose=0)
        for call in (model.train_on_batch, model.test_on_batch):
            with pytest.raises(ValueError, match=message):
                call([x1, x2], [ya, yb])
        assert [p.shape for p in model.predict([x1, x2], verbose=0)] == [(6, 2), (6, 1)]
    model.compile(loss="mse")  # a good compile clears it
    assert np.isfinite(model.evaluate([x1, x2], [ya, yb], verbose=0)[0])


def test_training_reduces_the_loss_of_both_outputs():
    model, _ = _shared_two_by_two(seed=5)
    model.compile(optimizer=ranvier.optimizers.Adam(0.01), loss="mse")
    r = np.random.RandomState(0)
    x1, x2 = r.normal(size=(256, 3)), r.normal(size=(256, 3))
    ya = np.stack([x1[:, 0] - x1[:, 1], x1[:, 2]], axis=1)
    yb = (x2[:, :1] * 0.5)
    hist = model.fit([x1, x2], [ya, yb], epochs=30, batch_size=32, verbose=0)
    assert hist.history["a_loss"][-1] < 0.5 * hist.history["a_loss"][0]
    assert hist.history["b_loss"][-1] < 0.5 * hist.history["b_loss"][0]


# ------------------------------------------------------------------ nesting
def test_a_graph_model_nested_in_another_shares_its_layers():
    inner, shared = _shared_two_by_two()
    x1 = ranvier.Input(shape=(3,), name="o1")
    x2 = ranvier.Input(shape=(3,), name="o2")
    a, b = inner([x1, x2])
    out = layers.Dense(1, name="head")(a)
    outer = ranvier.Model([x1, x2], [out, b], name="outer")
    assert [l.name for l in outer.layers] == ["o1", "o2", "two_by_two", "head"]
    d1, d2, _, _ = _data()
    o_head, o_b = outer.predict([d1, d2], verbose=0)
    i_a, i_b = inner.predict([d1, d2], verbose=0)
    np.testing.assert_allclose(o_b, i_b, rtol=1e-6)
    np.testing.assert_allclose(o_head, _dense_np(outer.get_layer("head"), i_a), rtol=1e-5, atol=1e-6)
    # training the outer model changes the inner model's (shared) weights, as in Keras
    before = shared.get_weights()[0].copy()
    outer.compile(optimizer="sgd", loss="mse")
    outer.fit([d1, d2], [np.ones((6, 1)), np.ones((6, 1))], epochs=1, verbose=0)
    assert not np.array_equal(shared.get_weights()[0], before)
    np.testing.assert_allclose(inner.predict([d1, d2], verbose=0)[1], outer.predict([d1, d2], verbose=0)[1],
                               rtol=1e-6)


def test_a_sequential_used_twice_inside_a_graph_shares_its_weights():
    clear_session()
    set_random_seed(2)
    tower = ranvier.Sequential([ranvier.Input(shape=(3,)), layers.Dense(4, activation="relu"), layers.Dense(2)],
                               name="tower")
    x1 = ranvier.Input(shape=(3,), name="left")
    x2 = ranvier.Input(shape=(3,), name="right")
    model = ranvier.Model([x1, x2], [tower(x1), tower(x2)])
    d1, d2, _, _ = _data()
    p1, p2 = model.predict([d1, d2], verbose=0)
    np.testing.assert_allclose(p1, tower.predict(d1, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(p2, tower.predict(d2, verbose=0), rtol=1e-6)
    assert len(model.weights) == 4


# ------------------------------------------------------------------ config, summary
def test_get_config_has_keras_functional_layout_and_round_trips():
    model, _ = _shared_two_by_two()
    cfg = model.get_config()
    assert set(cfg) == {"name", "trainable", "layers", "input_layers", "output_layers"}
    assert cfg["input_layers"] == [["x1", 0, 0], ["x2", 0, 0]]
    assert cfg["output_layers"] == [["a", 0, 0], ["b", 0, 0]]
    by_name = {e["name"]: e for e in cfg["layers"]}
    assert by_name["x1"]["inbound_nodes"] == []
    shared_nodes = by_name["shared"]["inbound_nodes"]
    assert len(shared_nodes) == 2  # called twice: one entry, two nodes
    t = shared_nodes[1]["args"][0]
    assert t["class_name"] == "__keras_tensor__" and t["config"]["keras_history"] == ["x2", 0, 0]
    assert t["config"]["shape"] == [None, 3]
    assert by_name["b"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["shared", 1, 0]
    clone = ranvier.Model.from_config(cfg)
    clone.set_weights(model.get_weights())
    x1, x2, _, _ = _data()
    for p, q in zip(model.predict([x1, x2], verbose=0), clone.predict([x1, x2], verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert clone.get_config() == cfg


def test_from_config_refuses_a_call_on_a_missing_tensor():
    model, _ = _shared_two_by_two()
    cfg = model.get_config()
    for e in cfg["layers"]:
        if e["name"] == "b":
            e["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["shared", 7, 0]
    with pytest.raises(ValueError, match="Invalid Functional model configuration.*'b'"):
        ranvier.Model.from_config(cfg)


def test_summary_has_the_connected_to_column():
    model, _ = _shared_two_by_two()
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    text = "\n".join(lines)
    assert "Connected to" in text
    row = next(l for l in lines if "shared (Dense)" in l)
    assert "x1[0][0], x2[0][0]" in row
    assert "shared[1][0]" in next(l for l in lines if "b (Dense)" in l)
    assert lines[1].count("┳") == 3  # four columns


# ------------------------------------------------------------------ bad inputs
def test_an_output_depending_on_an_input_not_given_is_refused_naming_it():
    clear_session()
    x1 = ranvier.Input(shape=(3,), name="first")
    x2 = ranvier.Input(shape=(3,), name="second")
    a = layers.Dense(2, name="da")(x1)
    b = layers.Dense(2, name="db")(x2)
    with pytest.raises(ValueError, match=r"depends on the input 'second' \(used by Dense 'db'\).*not among"):
        ranvier.Model(x1, [a, b])


def test_a_tensor_of_another_models_graph_is_refused():
    clear_session()
    other_in = ranvier.Input(shape=(3,), name="other_in")
    other_out = layers.Dense(2, name="other_dense")(other_in)
    ranvier.Model(other_in, other_out)
    mine = ranvier.Input(shape=(3,), name="mine")
    out = layers.Dense(2, name="mine_a")(mine)
    with pytest.raises(ValueError, match="depends on the input 'other_in'"):
        ranvier.Model(mine, [out, other_out])


def test_an_input_no_output_depends_on_is_refused_naming_it():
    clear_session()
    x1 = ranvier.Input(shape=(3,), name="used")
    x2 = ranvier.Input(shape=(3,), name="unused")
    out = layers.Dense(2)(x1)
    with pytest.raises(ValueError, match="no output depends on the input 'unused'"):
        ranvier.Model([x1, x2], out)


def test_data_is_checked_per_input_naming_it():
    model, _ = _shared_two_by_two()
    model.compile(loss="mse")
    x1, x2, ya, yb = _data()
    with pytest.raises(ValueError, match=r"input 'x2' expects data of shape \(None, 3\).*x\['x2'\]\.shape=\(6, 4\)"):
        model.predict([x1, np.zeros((6, 4))], verbose=0)
    with pytest.raises(TypeError, match=r"input 'x1'.*dtype=<U1"):
        model.predict({"x1": np.array([["a"] * 3] * 6), "x2": x2}, verbose=0)
    with pytest.raises(ValueError, match=r"different numbers of samples: 'x1' has 6, 'x2' has 5"):
        model.predict([x1, x2[:5]], verbose=0)
    with pytest.raises(ValueError, match=r'Missing data for input "x2".*Expected the following keys: \[\'x1\', \'x2\'\]'):
        model.fit({"x1": x1}, [ya, yb], verbose=0)
    with pytest.raises(ValueError, match=r"has 2 inputs.*single ndarray"):
        model.predict(x1, verbose=0)
    with pytest.raises(ValueError, match=r"has 2 inputs.*list of 3"):
        model.predict([x1, x2, x2], verbose=0)
    with pytest.raises(ValueError, match=r"y has key\(s\) \['c'\] that match no output"):
        model.fit([x1, x2], {"a": ya, "b": yb, "c": yb}, verbose=0)
    with pytest.raises(ValueError, match=r'Missing data for output "b"'):
        model.fit([x1, x2], {"a": ya}, verbose=0)
    with pytest.raises(ValueError, match=r"y\['b'\] has 2 values per sample, but output 'b' has shape \(None, 1\)"):
        model.fit([x1, x2], {"a": ya, "b": ya}, verbose=0)
    with pytest.raises(ValueError, match=r"x\['x1'\] contains NaN"):
        model.predict([np.full((6, 3), np.nan), x2], verbose=0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        model.predict({"x1": x1, "x2": x2, "extra": x2}, verbose=0)  # Keras ignores extra input keys
    assert any("'extra'" in str(m.message) for m in w)


def test_integer_inputs_take_integers_only():
    clear_session()
    ids = ranvier.Input(shape=(2,), dtype="int64", name="ids")
    num = ranvier.Input(shape=(2,), name="num")
    model = ranvier.Model([ids, num], [layers.Dense(1, name="o1")(ids), layers.Dense(1, name="o2")(num)])
    assert model.inputs[0].dtype == "int64"
    out = model.predict([np.array([[1, 2], [3, 4]]), np.zeros((2, 2))], verbose=0)
    assert out[0].shape == (2, 1)
    with pytest.raises(ValueError, match="input 'ids' has dtype int64, but x\\['ids'\\] holds values that are not integers"):
        model.predict([np.array([[1.5, 2], [3, 4]]), np.zeros((2, 2))], verbose=0)


def test_a_layer_called_on_two_tensors_without_being_a_merge_layer_is_refused():
    clear_session()
    x1 = ranvier.Input(shape=(3,), name="p")
    x2 = ranvier.Input(shape=(3,), name="q")
    with pytest.raises(ValueError, match=r"Dense 'dd' takes one input tensor.*2 tensors \(p, q\)"):
        layers.Dense(2, name="dd")([x1, x2])


def test_class_weight_with_two_outputs_is_refused():
    model, _ = _shared_two_by_two()
    model.compile(loss="mse")
    x1, x2, ya, yb = _data()
    with pytest.raises(ValueError, match="class_weight is only supported for models with one output"):
        model.fit([x1, x2], [ya, yb], class_weight={0: 1.0}, verbose=0)


# ------------------------------------------------------------------ saving
@_needs_graph_files
def test_save_and_load_a_graph_model_predicts_the_same(tmp_path):
    model, _ = _shared_two_by_two()
    model.compile(optimizer="adam", loss=["mse", "mae"], metrics={"a": ["mae"]})
    x1, x2, ya, yb = _data(n=16)
    model.fit([x1, x2], [ya, yb], epochs=2, verbose=0)
    for name in ("m.keras", "m.safetensors"):
        path = tmp_path / name
        model.save(path)
        back = ranvier.models.load_model(path)
        assert type(back) is type(model)
        for p, q in zip(model.predict([x1, x2], verbose=0), back.predict([x1, x2], verbose=0)):
            np.testing.assert_array_equal(p, q)
        d1 = model.evaluate([x1, x2], [ya, yb], verbose=0, return_dict=True)
        d2 = back.evaluate([x1, x2], [ya, yb], verbose=0, return_dict=True)
        assert d1 == d2


# ------------------------------------------------------------------ merge layers in a graph
def _wide_and_deep(seed=7):
    """num (4) -> Dense(3, relu) ; cat (2) ; Concatenate -> Dense(1, sigmoid) "out";
    num -> Dense(1) "aux"; Add([aux, Dense(1)(cat)]) -> "sum"."""
    clear_session()
    set_random_seed(seed)
    num = ranvier.Input(shape=(4,), name="num")
    cat = ranvier.Input(shape=(2,), name="cat")
    deep = layers.Dense(3, activation="relu", name="deep")(num)
    joined = layers.Concatenate(name="join")([deep, cat])
    out = layers.Dense(1, activation="sigmoid", name="out")(joined)
    aux = layers.Dense(1, name="aux")(num)
    s = layers.Add(name="sum")([aux, layers.Dense(1, name="catlin")(cat)])
    return ranvier.Model({"num": num, "cat": cat}, {"out": out, "sum": s})


def test_concatenate_and_add_in_a_graph_match_numpy():
    model = _wide_and_deep()
    r = np.random.RandomState(0)
    xn, xc = r.normal(size=(7, 4)), r.normal(size=(7, 2))
    got = model.predict({"num": xn, "cat": xc}, verbose=0)
    deep = np.maximum(_dense_np(model.get_layer("deep"), xn), 0)
    z = _dense_np(model.get_layer("out"), np.concatenate([deep, xc], axis=1))
    np.testing.assert_allclose(got["out"], 1 / (1 + np.exp(-z)), rtol=1e-5, atol=1e-6)
    ref_sum = _dense_np(model.get_layer("aux"), xn) + _dense_np(model.get_layer("catlin"), xc)
    np.testing.assert_allclose(got["sum"], ref_sum, rtol=1e-5, atol=1e-6)
    cfg = model.get_config()
    join = next(e for e in cfg["layers"] if e["name"] == "join")
    args = join["inbound_nodes"][0]["args"]
    assert len(args) == 1 and [t["config"]["keras_history"] for t in args[0]] == [["deep", 0, 0], ["cat", 0, 0]]
    assert cfg["output_layers"] == {"out": ["out", 0, 0], "sum": ["sum", 0, 0]}
    assert cfg["input_layers"] == {"cat": ["cat", 0, 0], "num": ["num", 0, 0]}
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    assert "deep[0][0], cat[0][0]" in next(l for l in lines if "join (Concatenate)" in l)
    clone = ranvier.Model.from_config(cfg)
    clone.set_weights(model.get_weights())
    back = clone.predict({"num": xn, "cat": xc}, verbose=0)
    np.testing.assert_array_equal(back["out"], got["out"])


def test_one_sgd_step_through_a_concatenate_matches_numpy():
    model = _wide_and_deep(seed=11)
    lr = 0.05
    model.compile(optimizer=ranvier.optimizers.SGD(learning_rate=lr), loss={"out": "binary_crossentropy", "sum": "mse"},
                  loss_weights={"out": 1.0, "sum": 0.5})
    r = np.random.RandomState(3)
    n = 5
    xn, xc = r.normal(size=(n, 4)), r.normal(size=(n, 2))
    yo, ys = r.randint(0, 2, size=(n, 1)).astype(np.float64), r.normal(size=(n, 1))
    Wd, bd = [w.astype(np.float64) for w in model.get_layer("deep").get_weights()]
    Wo, bo = [w.astype(np.float64) for w in model.get_layer("out").get_weights()]
    h = np.maximum(xn @ Wd + bd, 0)
    j = np.concatenate([h, xc], axis=1)
    p = 1 / (1 + np.exp(-(j @ Wo + bo)))
    eps = 1e-7
    pc = np.clip(p, eps, 1 - eps)
    bce = -np.mean(yo * np.log(pc) + (1 - yo) * np.log(1 - pc))
    dz = (p - yo) / n  # sigmoid + binary crossentropy, batch mean
    gWo, gbo = j.T @ dz, dz.sum(0)
    dh = (dz @ Wo.T)[:, :3] * (h > 0)
    gWd, gbd = xn.T @ dh, dh.sum(0)
    logs = model.train_on_batch({"num": xn, "cat": xc}, {"out": yo, "sum": ys}, return_dict=True)
    np.testing.assert_allclose(logs["out_loss"], bce, rtol=1e-5)
    np.testing.assert_allclose(model.get_layer("out").get_weights()[0], Wo - lr * gWo, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_layer("out").get_weights()[1], bo - lr * gbo, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_layer("deep").get_weights()[0], Wd - lr * gWd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_layer("deep").get_weights()[1], bd - lr * gbd, rtol=1e-5, atol=1e-6)


def test_a_merge_layer_with_the_wrong_number_of_inputs_is_refused_naming_it():
    clear_session()
    a, b, c = (ranvier.Input(shape=(2,), name=n) for n in ("a", "b", "c"))
    with pytest.raises(ValueError, match=r"Subtract 'sub' cannot be called on 3 input\(s\) \(a, b, c\)"):
        layers.Subtract(name="sub")([a, b, c])
    with pytest.raises(ValueError, match="Add 'add_one'.*not a list"):
        layers.Add(name="add_one")(a)


def test_a_merge_layer_called_twice_on_other_shapes_works():
    clear_session()
    a, b = ranvier.Input(shape=(2,), name="a"), ranvier.Input(shape=(3,), name="b")
    cat = layers.Concatenate(name="cat2")
    o1 = cat([a, b])
    o2 = cat([b, b])
    model = ranvier.Model([a, b], [o1, o2])
    xa, xb = np.ones((2, 2)), np.arange(6.0).reshape(2, 3)
    p1, p2 = model.predict([xa, xb], verbose=0)
    np.testing.assert_array_equal(p1, np.concatenate([xa, xb], axis=1))
    np.testing.assert_array_equal(p2, np.concatenate([xb, xb], axis=1))


# ------------------------------------------------------------------ around the model
@_needs_graph_files
def test_pickle_and_deepcopy_of_a_graph_model():
    import copy
    import pickle
    model, _ = _shared_two_by_two()
    model.compile(optimizer="sgd", loss="mse", metrics=[["mae"], ["mse"]])
    x1, x2, ya, yb = _data()
    want = model.predict([x1, x2], verbose=0)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert type(clone) is type(model) and clone.output_names == ["a", "b"]
        for p, q in zip(want, clone.predict([x1, x2], verbose=0)):
            np.testing.assert_array_equal(p, q)
        d = clone.evaluate([x1, x2], [ya, yb], verbose=0, return_dict=True)
        assert sorted(d) == ["a_loss", "a_mae", "b_loss", "b_mse", "loss"]


def test_profile_counts_each_layer_of_a_graph_model():
    model, _ = _shared_two_by_two()
    model.compile(optimizer="sgd", loss="mse")
    x1, x2, ya, yb = _data(n=32)
    with ranvier.utils.profile() as p:
        model.fit([x1, x2], [ya, yb], epochs=1, batch_size=8, verbose=0)
    names = {layer for (_, layer) in p.layers}
    assert names == {"shared", "a", "b"}


def test_export_of_a_graph_model_runs_in_onnxruntime(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model, _ = _shared_two_by_two()
    model.export(tmp_path / "m.onnx", verbose=False)
    x1, x2, _, _ = _data(n=8)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    feed = dict(zip([i.name for i in sess.get_inputs()], [x1, x2]))
    assert list(feed) == model.input_names
    got = sess.run(None, feed)
    for g, w in zip(got, model.predict([x1, x2], verbose=0)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)  # float32 both sides, GEMM order


@_needs_graph_files
def test_a_graph_model_saved_from_python_predicts_the_same_through_the_c_api(tmp_path):
    import c_api_ctypes as capi
    clear_session()
    set_random_seed(9)
    tower = ranvier.Sequential([ranvier.Input(shape=(3,)), layers.Dense(4, activation="relu")], name="tower")
    l_in = ranvier.Input(shape=(3,), name="left")
    r_in = ranvier.Input(shape=(3,), name="right")
    shared = layers.Dense(2, name="shared_head")
    joined = layers.Concatenate(name="joined")([tower(l_in), tower(r_in)])
    out1 = shared(layers.Dense(3, activation="tanh", name="mix")(joined))
    out2 = layers.Add(name="added")([shared(layers.Dense(3, name="lp")(l_in)), shared(layers.Dense(3, name="rp")(r_in))])
    model = ranvier.Model({"left": l_in, "right": r_in}, [out1, out2])
    model.compile(optimizer="adam", loss="mse")
    r = np.random.RandomState(0)
    xl, xr = r.normal(size=(9, 3)).astype(np.float32), r.normal(size=(9, 3)).astype(np.float32)
    model.fit({"left": xl, "right": xr}, [np.zeros((9, 2)), np.ones((9, 2))], epochs=2, verbose=0)
    want = model.predict({"left": xl, "right": xr}, verbose=0)
    path = tmp_path / "g.safetensors"
    model.save(path)
    status, h = capi.load_handle(path)
    assert status == 0, capi.last_error()
    try:
        info = capi.describe(h)
        assert [i[0] for i in info["inputs"]] == ["left", "right"] and [o[1] for o in info["outputs"]] == [2, 2]
        status, outs = capi.predict_multi_arrays(h, [xl, xr])
        assert status == 0, capi.last_error()
        for got, w in zip(outs, want):
            np.testing.assert_array_equal(got, w)
    finally:
        capi.free(h)
    back = ranvier.models.load_model(path)
    for got, w in zip(back.predict({"left": xl, "right": xr}, verbose=0), want):
        np.testing.assert_array_equal(got, w)


def test_an_output_without_a_loss_is_not_trained_and_needs_no_targets():
    model, shared = _shared_two_by_two()
    model.compile(optimizer=ranvier.optimizers.SGD(0.1), loss={"a": "mse", "b": None})
    x1, x2, ya, yb = _data()
    b_before = model.get_layer("b").get_weights()
    logs = model.train_on_batch([x1, x2], {"a": ya}, return_dict=True)
    assert sorted(logs) == ["loss"]  # Keras: <output>_loss keys only with two losses or more
    pa = model.predict([x1, x2], verbose=0)[0]
    for w0, w1 in zip(b_before, model.get_layer("b").get_weights()):
        np.testing.assert_array_equal(w0, w1)  # no gradient reaches it
    d = model.evaluate([x1, x2], [ya, None], verbose=0, return_dict=True)
    np.testing.assert_allclose(d["loss"], np.mean((pa - ya) ** 2), rtol=1e-5)
    with pytest.raises(ValueError, match="output 'b' has metrics but no loss"):
        model.compile(loss=["mse", None], metrics=[["mae"], ["mae"]])
    model.compile(loss=[None, None])  # Keras: "No loss to compute" when fit runs
    with pytest.raises(ValueError, match="loss is required for at least one output"):
        model.fit([x1, x2], [ya, yb], verbose=0)


# ------------------------------------------------------------------ tabular inputs (the example)
_needs_embedding = pytest.mark.skipif(not hasattr(layers, "Embedding"), reason="Embedding not in this build")
_needs_lookup = pytest.mark.skipif(not hasattr(layers, "StringLookup"), reason="StringLookup not in this build")


@_needs_embedding
@_needs_graph_files
def test_wide_and_deep_with_an_integer_input_and_an_embedding(tmp_path):
    clear_session()
    set_random_seed(0)
    r = np.random.RandomState(0)
    xnum = r.normal(size=(64, 8)).astype(np.float32)
    xcat = r.randint(0, 50, size=(64, 1))
    y = ((xnum[:, 0] + (xcat[:, 0] % 2)) > 0.5).astype(np.float32)
    num = ranvier.Input(shape=(8,), name="num")
    cat = ranvier.Input(shape=(1,), name="cat", dtype="int64")
    emb = layers.Embedding(50, 4, name="emb")
    x = layers.Concatenate(name="cc")([num, layers.Flatten(name="fl")(emb(cat))])
    out = layers.Dense(1, activation="sigmoid", name="out")(x)
    model = ranvier.Model({"num": num, "cat": cat}, out)
    assert model.inputs[0].dtype == "int64"
    got = model.predict({"num": xnum, "cat": xcat}, verbose=0)
    table = emb.get_weights()[0].astype(np.float64)
    z = _dense_np(model.get_layer("out"), np.concatenate([xnum, table[xcat[:, 0]]], axis=1))
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-z)), rtol=1e-5, atol=1e-6)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit({"num": xnum, "cat": xcat}, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"Embedding 'emb'.*60.*\[0, 50\)"):
        model.predict({"num": xnum[:3], "cat": np.array([[60], [1], [2]])}, verbose=0)
    with pytest.raises(ValueError, match=r"input 'cat' has dtype int64.*not integers"):
        model.predict({"num": xnum[:3], "cat": np.array([[0.5], [1], [2]])}, verbose=0)
    for name in ("m.keras", "m.safetensors"):
        model.save(tmp_path / name)
        back = ranvier.models.load_model(tmp_path / name)
        np.testing.assert_array_equal(back.predict({"num": xnum, "cat": xcat}, verbose=0),
                                      model.predict({"num": xnum, "cat": xcat}, verbose=0))


@_needs_lookup
@_needs_graph_files
def test_a_raw_string_input_is_encoded_by_its_lookup_layer(tmp_path):
    clear_session()
    color = ranvier.Input(shape=(1,), dtype="string", name="color")
    num = ranvier.Input(shape=(2,), name="num2")
    lookup = layers.StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot", name="lk")
    out = layers.Dense(1, name="o")(layers.Concatenate(name="c2")([lookup(color), num]))
    model = ranvier.Model([color, num], out)
    colors = np.array([["red"], ["blue"], ["pink"]])
    xn = np.arange(6.0).reshape(3, 2)
    onehot = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], np.float64)  # index 0: OOV
    np.testing.assert_allclose(model.predict([colors, xn], verbose=0),
                               _dense_np(model.get_layer("o"), np.concatenate([onehot, xn], axis=1)),
                               rtol=1e-5, atol=1e-6)
    model.compile(loss="mse")
    model.fit([colors, xn], np.ones(3), epochs=2, verbose=0)
    model.save(tmp_path / "s.safetensors")
    back = ranvier.models.load_model(tmp_path / "s.safetensors")
    np.testing.assert_array_equal(back.predict([colors, xn], verbose=0), model.predict([colors, xn], verbose=0))


def test_layers_and_config_follow_keras_order():
    # Keras 3.15 (run on this graph): layers ['i3', 'i1', 'i2', 'd', 'e', 'add', 'c', 'o2', 'o1'] (by depth
    # from the outputs, ties by first reach), node indices in call order (d: i3 first, then i2)
    clear_session()
    i1, i2, i3 = (ranvier.Input((3,), name=n) for n in ("i1", "i2", "i3"))
    d = layers.Dense(3, name="d")
    h = layers.Add(name="add")([d(i3), layers.Dense(3, name="e")(i1)])
    o1 = layers.Dense(1, name="o1")(layers.Concatenate(name="c")([h, d(i2)]))
    o2 = layers.Dense(2, name="o2")(i2)
    model = ranvier.Model([i1, i2, i3], [o2, o1])
    assert [l.name for l in model.layers] == ["i3", "i1", "i2", "d", "e", "add", "c", "o2", "o1"]
    # weights (get_weights, the model file) in the order of model.layers, as Keras's
    assert [w.path for w in model.weights] == ["d/kernel", "d/bias", "e/kernel", "e/bias", "o2/kernel", "o2/bias",
                                               "o1/kernel", "o1/bias"]
    cfg = model.get_config()
    assert [e["name"] for e in cfg["layers"]] == ["i3", "i1", "i2", "d", "e", "add", "c", "o2", "o1"]
    hist = {e["name"]: [[t["config"]["keras_history"] for t in (n["args"][0] if isinstance(n["args"][0], list)
                                                                 else n["args"])] for n in e["inbound_nodes"]]
            for e in cfg["layers"]}
    assert hist["d"] == [[["i3", 0, 0]], [["i2", 0, 0]]]
    assert hist["c"] == [[["add", 0, 0], ["d", 1, 0]]]
    assert cfg["output_layers"] == [["o2", 0, 0], ["o1", 0, 0]]


def test_fit_and_evaluate_take_a_generator_of_structured_batches():
    model, _ = _shared_two_by_two()
    model.compile(optimizer="sgd", loss="mse", metrics={"a": ["mae"]})
    x1, x2, ya, yb = _data(n=24)

    def batches():
        for s in range(0, 24, 8):
            yield {"x1": x1[s:s + 8], "x2": x2[s:s + 8]}, {"a": ya[s:s + 8], "b": yb[s:s + 8]}

    ref, _ = _shared_two_by_two()
    ref.compile(optimizer="sgd", loss="mse", metrics={"a": ["mae"]})
    hist = model.fit(batches(), epochs=1, verbose=0, shuffle=False)
    want = ref.fit([x1, x2], [ya, yb], batch_size=8, shuffle=False, epochs=1, verbose=0)
    assert sorted(hist.history) == ["a_loss", "a_mae", "b_loss", "loss"]
    for k in hist.history:
        np.testing.assert_allclose(hist.history[k], want.history[k], rtol=1e-5)
    d = model.evaluate(batches(), verbose=0, return_dict=True)
    np.testing.assert_allclose(d["loss"], model.evaluate([x1, x2], [ya, yb], verbose=0, return_dict=True)["loss"],
                               rtol=1e-5)
    got = model.predict(((b[0],) for b in batches()), verbose=0)  # batches of x only, as tuples
    for g, w in zip(got, model.predict([x1, x2], verbose=0)):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_two_graph_models_of_one_graph_share_their_layers():
    model, shared = _shared_two_by_two()
    x1, x2, ya, yb = _data(n=12)
    part = ranvier.Model(model.inputs[1], model.outputs[1])  # x2 -> shared -> b: a chain of the same layers
    both = ranvier.Model(model.inputs, [model.outputs[0], model.outputs[1]], name="both")
    model.compile(optimizer="sgd", loss="mse")
    model.fit([x1, x2], [ya, yb], epochs=2, verbose=0)
    want_b = model.predict([x1, x2], verbose=0)[1]
    np.testing.assert_allclose(part.predict(x2, verbose=0), want_b, rtol=1e-6)  # the trained weights
    np.testing.assert_allclose(both.predict([x1, x2], verbose=0)[1], want_b, rtol=1e-6)
    part.compile(optimizer="sgd", loss="mse")
    part.fit(x2, yb, epochs=1, verbose=0)
    np.testing.assert_allclose(model.predict([x1, x2], verbose=0)[1], part.predict(x2, verbose=0), rtol=1e-6)


def test_a_graph_model_in_a_sequential_is_refused_with_the_functional_way():
    clear_session()
    i = ranvier.Input((3,))
    d = layers.Dense(3, name="twice_d")
    graph = ranvier.Model(i, d(d(i)), name="g_twice")
    with pytest.raises(ValueError, match="'g_twice' is a functional graph.*ranvier.Model"):
        ranvier.Sequential([graph, layers.Dense(1)])
    x = ranvier.Input((3,))
    outer = ranvier.Model(x, layers.Dense(1, name="after")(graph(x)))  # the functional way works
    w, b = [v.astype(np.float64) for v in d.get_weights()]
    data = np.ones((2, 3))
    np.testing.assert_allclose(outer.predict(data, verbose=0),
                               _dense_np(outer.get_layer("after"), (data @ w + b) @ w + b), rtol=1e-5, atol=1e-6)


@_needs_graph_files
def test_keras_archive_of_a_graph_with_a_nested_model_uses_keras_weight_paths(tmp_path):
    # Keras 3 writes a nested model's layers under its own container: layers/sequential/layers/dense/vars
    # (keras-spec-2 section 7); checked by loading such files in Keras 3.15 both ways by hand
    h5py = pytest.importorskip("h5py")
    import io
    import zipfile
    clear_session()
    set_random_seed(1)
    tower = ranvier.Sequential([ranvier.Input(shape=(3,)), layers.Dense(4, activation="relu")], name="tower")
    left, right = ranvier.Input((3,), name="l"), ranvier.Input((3,), name="r")
    out = layers.Dense(1, name="o")(layers.Concatenate(name="cc")([tower(left), tower(right)]))
    model = ranvier.Model([left, right], out)
    path = tmp_path / "nested.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert sorted(n for n in names if n.startswith("layers/")) == [
            "layers/dense/vars/0", "layers/dense/vars/1",
            "layers/sequential/layers/dense/vars/0", "layers/sequential/layers/dense/vars/1"]
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.get_layer("o").get_weights()[0])
    back = ranvier.models.load_model(path)
    x = np.random.RandomState(0).normal(size=(4, 3))
    np.testing.assert_array_equal(back.predict([x, 2 * x], verbose=0), model.predict([x, 2 * x], verbose=0))


def test_hostile_functional_configs_are_refused_naming_the_layer():
    model, _ = _shared_two_by_two()
    base = model.get_config()

    def edited(fn):
        import copy
        cfg = copy.deepcopy(base)
        fn({e["name"]: e for e in cfg["layers"]}, cfg)
        return cfg

    def hist(entry, node=0):
        return entry["inbound_nodes"][node]["args"][0]["config"]

    cycle = edited(lambda by, cfg: hist(by["shared"]).update(keras_history=["a", 0, 0]))
    with pytest.raises(ValueError, match="Invalid Functional model configuration.*'shared'"):
        ranvier.Model.from_config(cycle)
    missing = edited(lambda by, cfg: hist(by["a"]).update(keras_history=["nowhere", 0, 0]))
    with pytest.raises(ValueError, match="Invalid Functional model configuration.*'a'"):
        ranvier.Model.from_config(missing)
    for bad in (["shared", "0", 0], ["shared", -1, 0], ["shared", True, 0], [3, 0, 0]):
        cfg = edited(lambda by, cfg: hist(by["b"]).update(keras_history=bad))
        with pytest.raises(ValueError, match="Invalid Functional model configuration: layer 'b'"):
            ranvier.Model.from_config(cfg)
    dup = edited(lambda by, cfg: by["b"].update(name="a"))
    with pytest.raises(ValueError, match="'a' is used twice"):
        ranvier.Model.from_config(dup)
    no_output = edited(lambda by, cfg: cfg.update(output_layers=[["a", 0, 0], ["zz", 0, 0]]))
    with pytest.raises(ValueError, match=r"no tensor \['zz', 0, 0\]"):
        ranvier.Model.from_config(no_output)
    # the legacy node form [[name, node, tensor, kwargs]] is read as Keras reads it
    legacy = edited(lambda by, cfg: by["b"].update(inbound_nodes=[[["shared", 1, 0, {}]]]))
    assert ranvier.Model.from_config(legacy).get_config()["layers"] == base["layers"]


def test_a_chain_on_the_graph_path_trains_bit_identically_to_sequential():
    from ranvier._functional_graph import Functional

    def stack():
        return [layers.Dense(8, activation="relu"), layers.Dropout(0.2), layers.Dense(3, activation="softmax")]

    r = np.random.RandomState(0)
    x, y = r.normal(size=(64, 5)).astype(np.float32), r.randint(0, 3, 64)
    set_random_seed(3)
    seq = ranvier.Sequential([ranvier.Input((5,))] + stack())
    set_random_seed(3)
    inp = ranvier.Input((5,))
    t = inp
    for layer in stack():
        t = layer(t)
    graph = Functional(inp, t)  # the same chain, built on the DAG network
    for m in (seq, graph):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        set_random_seed(7)
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(seq.get_weights(), graph.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seq.predict(x, verbose=0), graph.predict(x, verbose=0))


def test_summary_lists_a_nested_model_as_one_row_and_expands_it_on_request():
    clear_session()
    tower = ranvier.Sequential([ranvier.Input(shape=(3,)), layers.Dense(4, name="t_dense")], name="tower")
    left, right = ranvier.Input((3,), name="l"), ranvier.Input((3,), name="r")
    model = ranvier.Model([left, right], layers.Add(name="sum_lr")([tower(left), tower(right)]))
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    row = next(l for l in lines if "tower (Sequential)" in l)
    assert "l[0][0], r[0][0]" in row and "16" in row
    assert not any("t_dense" in l for l in lines)
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()), expand_nested=True)
    assert any("└ t_dense (Dense)" in l for l in lines)


@_needs_lookup
def test_raw_string_and_int64_inputs_are_encoded_by_their_lookup_layers():
    clear_session()
    color = ranvier.Input(shape=(1,), dtype="string", name="color")
    num = ranvier.Input(shape=(2,), name="num3")
    ids = ranvier.Input(shape=(1,), dtype="int64", name="ids")
    sl = layers.StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot", name="sl")
    il = layers.IntegerLookup(vocabulary=[10, 20, 30], output_mode="one_hot", name="il")
    out = layers.Dense(1, name="o3")(layers.Concatenate(name="c3")([sl(color), num, il(ids)]))
    model = ranvier.Model([color, num, ids], out)
    colors, xn, xi = np.array([["red"], ["blue"], ["pink"]]), np.arange(6.0).reshape(3, 2), np.array([[10], [30], [99]])
    onehot = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], np.float64)  # index 0: the OOV bucket
    np.testing.assert_allclose(model.predict([colors, xn, xi], verbose=0),
                               _dense_np(model.get_layer("o3"), np.concatenate([onehot, xn, onehot], axis=1)),
                               rtol=1e-5, atol=1e-6)
    model.compile(loss="mse")
    hist = model.fit({"color": colors, "num3": xn, "ids": xi}, np.ones(3), epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_unbuilt_sequential_called_on_a_merged_tensor_builds_and_predicts():
    # An unbuilt Sequential used as a layer builds itself for the symbolic shape it is
    # called on (Keras), even though calling it registers a call on the model.
    a = ranvier.Input((4,), name="a")
    b = ranvier.Input((3,), name="b")
    inner = ranvier.Sequential([layers.Dense(5, activation="relu"), layers.Dense(2)])
    out = inner(layers.Concatenate()([a, b]))
    model = ranvier.Model([a, b], out)
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(6, 4)).astype(np.float32)
    xb = rng.normal(size=(6, 3)).astype(np.float32)
    (w1, b1), (w2, b2) = inner.layers[0].get_weights(), inner.layers[1].get_weights()
    x = np.concatenate([xa, xb], axis=1).astype(np.float64)
    want = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    # float32 rtol for reductions of <= 7 terms
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), want, rtol=1e-5, atol=1e-6)
