"""The functional API for chain-shaped graphs (ranvier.Input, layers called on symbolic
tensors, ranvier.Model(inputs, outputs)), lowered onto the Sequential network.

References:
- the equivalent Sequential, built from the same seed: weights, predictions and training
  must be bit-identical (the same C++ network runs both);
- Keras 3's written behaviour (keras/src/models/functional.py, keras/src/ops/node.py,
  keras/src/utils/summary_utils.py), checked against Keras 3.15 by hand: the functional
  config layout, the automatic names ("input_layer", "functional", "keras_tensor"), the
  structures of input_layers/output_layers, model.layers listing the InputLayer first, and
  a chain's summary (no "Connected to" column for a sequential-like graph);
- the refusals: what is not a chain is refused with an error naming the layer or input.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import ranvier
from ranvier import layers
from ranvier.utils import clear_session, set_random_seed

import c_api_ctypes


def _data(n=64, d=8, k=3, seed=0):
    r = np.random.RandomState(seed)
    x = r.normal(size=(n, d)).astype(np.float32)
    y = r.randint(0, k, size=n)
    return x, y


def _layer_stack():
    return [layers.Dense(16, activation="relu"), layers.Dropout(0.25), layers.BatchNormalization(),
            layers.Dense(3, activation="softmax")]


def _functional(seed=1, d=8, name=None):
    set_random_seed(seed)
    inp = ranvier.Input(shape=(d,))
    x = inp
    for layer in _layer_stack():
        x = layer(x)
    return ranvier.Model(inputs=inp, outputs=x, name=name)


def _sequential(seed=1, d=8):
    set_random_seed(seed)
    return ranvier.Sequential([ranvier.Input(shape=(d,))] + _layer_stack())


# ------------------------------------------------------------------ symbolic tensors
def test_input_returns_a_symbolic_tensor_and_layers_map_shapes():
    clear_session()
    inp = ranvier.Input(shape=(784,))
    assert inp.shape == (None, 784) and inp.dtype == "float32" and inp.name == "keras_tensor"
    assert inp.input_layer.name == "input_layer"
    assert ranvier.Input((2,), name="named").name == "named"  # a given name: both use it
    assert layers.Input is ranvier.Input
    d = layers.Dense(64, activation="relu")
    x = d(inp)
    assert isinstance(x, layers.KerasTensor) and x.shape == (None, 64)
    assert d.built and d.input_shape == (None, 784)
    layer, node_index, tensor_index = x._keras_history
    assert layer is d and (node_index, tensor_index) == (0, 0)
    assert d._inbound_nodes[0].input_tensors == [inp] and d.output is x and d.input is inp
    assert inp.node.is_input and inp.input_layer.name == "input_layer"
    # batch size kept; Flatten on rank 3
    t = ranvier.Input(shape=(4, 5), batch_size=32, name="img")
    f = layers.Flatten()(t)
    assert t.shape == (32, 4, 5) and f.shape == (32, 20)
    # every layer class, including those with their own __call__
    y = x
    for l in (layers.Dropout(0.5), layers.Activation("tanh"), layers.ReLU(), layers.Softmax(),
              layers.LayerNormalization(), layers.BatchNormalization(), layers.LeakyReLU(), layers.ELU()):
        y = l(y)
        assert y.shape == (None, 64), type(l).__name__


def test_a_symbolic_tensor_has_no_values():
    inp = ranvier.Input(shape=(3,))
    with pytest.raises(ValueError, match="symbolic tensor.*ranvier.Model"):
        np.asarray(inp)


def test_a_built_layer_called_on_the_wrong_width_names_it():
    d = layers.Dense(2, name="narrow")
    d.build((None, 5))
    with pytest.raises(ValueError, match=r"'narrow' was built for 5 input features.*\(None, 3\)"):
        d(ranvier.Input(shape=(3,)))


# ------------------------------------------------------------------ bit-identical to Sequential
def test_a_functional_chain_is_bit_identical_to_the_equivalent_sequential():
    x, y = _data()
    f, s = _functional(), _sequential()
    for a, b in zip(f.get_weights(), s.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(f.predict(x, verbose=0), s.predict(x, verbose=0))
    for m in (f, s):
        set_random_seed(7)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    set_random_seed(7)
    hf = f.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25)
    set_random_seed(7)
    hs = s.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25)
    assert hf.history == hs.history
    for a, b in zip(f.get_weights(), s.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(f.predict(x, verbose=0), s.predict(x, verbose=0))
    assert f.evaluate(x, y, verbose=0) == s.evaluate(x, y, verbose=0)
    assert f.train_on_batch(x[:8], y[:8]) == s.train_on_batch(x[:8], y[:8])
    np.testing.assert_array_equal(f.predict_on_batch(x), s.predict_on_batch(x))
    np.testing.assert_array_equal(f(x), s(x))
    assert f.count_params() == s.count_params()
    assert [w.name for w in f.weights] == [w.name for w in s.weights]


def test_weights_can_be_moved_between_functional_and_sequential():
    x, _ = _data()
    f, s = _functional(seed=3), _sequential(seed=4)
    s.set_weights(f.get_weights())
    np.testing.assert_array_equal(f.predict(x, verbose=0), s.predict(x, verbose=0))


# ------------------------------------------------------------------ Keras's surface
def test_keras_surface_names_layers_and_shapes():
    clear_session()
    inputs = ranvier.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10)(x)
    model = ranvier.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert ranvier.models.Model is ranvier.Model
    assert model.name == "mnist_model"
    assert [l.name for l in model.layers] == ["input_layer", "dense", "dense_1"]
    assert type(model.layers[0]).__name__ == "InputLayer"
    assert model.get_layer(index=0) is model.layers[0] and model.get_layer("dense_1") is model.layers[2]
    assert model.input is inputs and model.output is outputs
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert model.output_names == ["dense_1"]
    assert model.built and model.count_params() == 784 * 64 + 64 + 64 * 10 + 10
    with pytest.raises(ValueError, match="index 5.*3 layers"):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="no such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only a layer name or a layer index"):
        model.get_layer("dense", 1)
    # automatic model names, as Keras's
    i2 = ranvier.Input((2,))
    assert ranvier.Model(i2, layers.Dense(1)(i2)).name.startswith("functional")


def test_structures_of_one_input_and_output_are_kept():
    i = ranvier.Input((4,), name="feats")
    o = layers.Dense(2, name="head")(i)
    m_list = ranvier.Model([i], [o])
    assert m_list.input == [i] and m_list.output == [o] and m_list.input_shape == (None, 4)
    cfg = m_list.get_config()
    assert cfg["input_layers"] == [["feats", 0, 0]] and cfg["output_layers"] == [["head", 0, 0]]
    i2 = ranvier.Input((4,), name="feats2")
    o2 = layers.Dense(2, name="head2")(i2)
    m_dict = ranvier.Model({"a": i2}, {"o": o2})
    assert m_dict.input == {"a": i2} and m_dict.output == {"o": o2}
    cfg = m_dict.get_config()
    assert cfg["input_layers"] == {"a": ["feats2", 0, 0]} and cfg["output_layers"] == {"o": ["head2", 0, 0]}
    x = np.ones((3, 4), np.float32)
    assert m_dict.predict(x, verbose=0).shape == (3, 2)


def test_config_is_keras_functional_layout():
    clear_session()
    inputs = ranvier.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10)(x)
    model = ranvier.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    cfg = model.get_config()
    assert set(cfg) == {"name", "trainable", "layers", "input_layers", "output_layers"}
    assert cfg["name"] == "mnist_model" and cfg["trainable"] is True
    assert cfg["input_layers"] == ["input_layer", 0, 0] and cfg["output_layers"] == ["dense_1", 0, 0]
    # Keras 3.15's entry for the input and the first Dense's inbound node, as it writes them
    assert cfg["layers"][0] == {
        "module": "keras.layers", "class_name": "InputLayer",
        "config": {"batch_shape": [None, 784], "dtype": "float32", "sparse": False, "ragged": False,
                   "name": "input_layer", "optional": False},
        "registered_name": None, "name": "input_layer", "inbound_nodes": []}
    dense = cfg["layers"][1]
    assert {"module", "class_name", "config", "registered_name", "name", "inbound_nodes", "build_config"} \
        == set(dense)
    assert dense["class_name"] == "Dense" and dense["name"] == "dense" and dense["config"]["units"] == 64
    assert dense["build_config"] == {"input_shape": (None, 784)}  # a tuple, as Keras 3.15
    assert dense["inbound_nodes"] == [{"args": [{"class_name": "__keras_tensor__", "config": {
        "shape": [None, 784], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}], "kwargs": {}}]
    assert cfg["layers"][2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["dense", 0, 0]
    assert cfg["layers"][2]["inbound_nodes"][0]["args"][0]["config"]["shape"] == [None, 64]
    json.dumps(cfg)  # JSON-able
    # from_config: the same architecture (new weights), and to_json/model_from_json
    clone = ranvier.Model.from_config(cfg)
    assert isinstance(clone, ranvier.Model) and clone.get_config() == cfg
    j = json.loads(model.to_json())
    assert j["class_name"] == "Functional" and j["config"] == json.loads(json.dumps(cfg))
    again = ranvier.models.model_from_json(model.to_json())
    assert isinstance(again, ranvier.Model) and again.get_config() == cfg
    seq = ranvier.Sequential([ranvier.Input((3,)), layers.Dense(2)])
    back = ranvier.models.model_from_json(seq.to_json())
    assert type(back) is ranvier.Sequential and back.get_config() == seq.get_config()


def test_from_config_of_keras_written_functional_config():
    """A config as Keras 3 writes it (Dropout's node records training=False there)."""
    cfg = {"name": "k", "trainable": True,
           "layers": [
               {"module": "keras.layers", "class_name": "InputLayer", "config": {
                   "batch_shape": [None, 6], "dtype": "float32", "sparse": False, "ragged": False,
                   "name": "digits", "optional": False}, "registered_name": None, "name": "digits",
                "inbound_nodes": []},
               {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d1", "units": 4},
                "registered_name": None, "build_config": {"input_shape": [None, 6]}, "name": "d1",
                "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                    "shape": [None, 6], "dtype": "float32", "keras_history": ["digits", 0, 0]}}], "kwargs": {}}]},
               {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d2", "units": 2},
                "registered_name": None, "name": "d2",
                "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                    "shape": [None, 4], "dtype": "float32", "keras_history": ["d1", 0, 0]}}], "kwargs": {}}]}],
           "input_layers": [["digits", 0, 0]], "output_layers": [["d2", 0, 0]]}
    m = ranvier.Model.from_config(cfg)
    assert [l.name for l in m.layers] == ["digits", "d1", "d2"] and m.output_shape == (None, 2)
    assert m.input_shape == (None, 6)


def test_summary_lists_the_input_layer_first():
    clear_session()
    inputs = ranvier.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = ranvier.Model(inputs=inputs, outputs=outputs)
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    text = "\n".join(lines)
    rows = [l for l in lines if l.startswith("│")]
    cells = [[c.strip() for c in r.strip("│").split("│")] for r in rows]
    # Keras 3.15's rows for this model (a chain is "sequential-like": no Connected to column)
    assert cells == [["digits (InputLayer)", "(None, 784)", "0"],
                     ["dense_1 (Dense)", "(None, 64)", "50,240"],
                     ["dropout (Dropout)", "(None, 64)", "0"],
                     ["predictions (Dense)", "(None, 10)", "650"]]
    assert lines[0] == f'Model: "{model.name}"'
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert " Total params: 50,890 (198.79 KB)" in lines
    # every row as wide as the rules
    assert len({len(l) for l in lines[1:] if l[0] in "┏┃┡│├└"}) == 1


# ------------------------------------------------------------------ refusals
def test_two_inputs_or_two_outputs_make_a_graph_model():
    # (tests/test_functional_graph.py covers graph models; here: they are no longer refused)
    a, b = ranvier.Input((3,), name="in_a"), ranvier.Input((3,), name="in_b")
    ya = layers.Dense(2)(a)
    with pytest.raises(ValueError, match=r"no output depends on the input 'in_b'"):
        ranvier.Model([a, b], ya)
    yb = layers.Dense(2)(a)
    two = ranvier.Model(a, [ya, yb])
    assert type(two).__name__ == "Functional" and isinstance(two, ranvier.Model)
    assert [o.shape for o in two.outputs] == [(None, 2), (None, 2)]
    yc = layers.Dense(1)(b)
    assert len(ranvier.Model({"a": a, "b": b}, [ya, yc]).inputs) == 2


def test_a_layer_on_two_tensors_is_refused_naming_it():
    a, b = ranvier.Input((3,), name="in_a"), ranvier.Input((3,), name="in_b")
    with pytest.raises(ValueError, match=r"Dense 'dense_two' takes one input tensor.*2 tensors \(in_a, in_b\)"):
        layers.Dense(2, name="dense_two")([a, b])
    assert ranvier.Model(a, layers.Dense(2)([a])).output_shape == (None, 2)  # a list of one is one input


def test_a_layer_used_twice_shares_its_weights():
    set_random_seed(4)
    i = ranvier.Input((4,))
    d = layers.Dense(4, name="twice")
    model = ranvier.Model(i, d(d(i)))
    assert len(model.weights) == 2
    x = np.random.RandomState(0).normal(size=(5, 4)).astype(np.float32)
    w, b = [v.astype(np.float64) for v in d.get_weights()]
    ref = (x.astype(np.float64) @ w + b) @ w + b
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, rtol=1e-5, atol=1e-6)


def test_disconnected_input_or_tensor_of_another_graph_is_refused():
    i1, i2 = ranvier.Input((4,), name="first"), ranvier.Input((4,), name="second")
    y = layers.Dense(2)(i1)
    with pytest.raises(ValueError, match=r"depends on the input 'first'.*not among the model's inputs \('second'\)"):
        ranvier.Model(i2, y)
    with pytest.raises(ValueError, match="all `inputs` values must be KerasTensors"):
        ranvier.Model(np.zeros((2, 4)), y)
    with pytest.raises(ValueError, match="is the input itself"):
        ranvier.Model(i1, i1)


def test_subclassed_models_with_call_are_refused():
    class MyModel(ranvier.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    with pytest.raises(NotImplementedError, match=r"subclassed Models with a Python call\(\) are not supported.*"
                                                  r"ranvier.Model\(inputs, outputs\)"):
        MyModel()
    with pytest.raises(TypeError, match="needs inputs and outputs"):
        ranvier.Model()

    class Functional(ranvier.Model):  # a subclass that builds a graph (no call): Keras allows it
        def __init__(self):
            i = ranvier.Input((3,))
            super().__init__(i, layers.Dense(2)(i))

    assert Functional().output_shape == (None, 2)


def test_a_training_argument_at_build_time_runs_in_the_models_mode():
    # Keras 3: training= given when the graph is built is recorded in the node's kwargs, but
    # fit / evaluate / predict pass their own mode, which wins (a Dropout(0.9) called with
    # training=False still drops in fit; with training=True it does not in predict); the
    # keras.io transfer-learning guide's base(inputs, training=False) builds
    i = ranvier.Input((4,))
    drop = layers.Dropout(0.5, name="drop")(i, training=True)
    assert drop.shape == (None, 4)
    base = ranvier.Sequential([ranvier.Input((4,)), layers.Dense(3), layers.BatchNormalization(name="bn")])
    assert base(i, training=False).shape == (None, 3)
    assert layers.GaussianNoise(0.1, name="noise")(i, training=True).shape == (None, 4)
    m = ranvier.Model(i, drop)
    x, _ = _data(d=4)
    np.testing.assert_array_equal(m.predict(x, verbose=0), x)  # inference in predict
    node = next(e for e in m.get_config()["layers"] if e["name"] == "drop")["inbound_nodes"][0]
    assert node["kwargs"] == {"training": True}
    with pytest.raises(TypeError, match="training"):
        layers.Dropout(0.5)(i, training="yes")
    # no behaviour to fix: accepted
    assert layers.Dense(2)(i, training=False).shape == (None, 2)
    # in the model's mode, as in Sequential: noise in fit only
    x, _ = _data(d=4)
    m = ranvier.Model(i, layers.GaussianNoise(0.5)(i))
    np.testing.assert_array_equal(m.predict(x, verbose=0), x)


def test_sequential_add_refuses_a_non_input_tensor():
    i = ranvier.Input((4,))
    h = layers.Dense(3)(i)
    with pytest.raises(TypeError, match="not an Input.*ranvier.Model"):
        ranvier.Sequential([h])


def test_a_functional_model_has_no_add_or_pop():
    i = ranvier.Input((4,))
    m = ranvier.Model(i, layers.Dense(3)(i))
    with pytest.raises(AttributeError, match="no attribute 'add'"):
        m.add(layers.Dense(2))
    with pytest.raises(AttributeError, match="no attribute 'pop'"):
        m.pop()


# ------------------------------------------------------------------ nesting
def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_sequential_of_a_trained_model_and_softmax():
    """The TensorFlow classification tutorial: probability_model = Sequential([model, Softmax()])."""
    x, y = _data(d=8, k=3)
    set_random_seed(0)
    model = ranvier.Sequential([ranvier.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(3)])
    model.compile(optimizer="adam", loss=ranvier.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, verbose=0)
    logits = model.predict(x, verbose=0)
    prob = ranvier.Sequential([model, layers.Softmax()])
    # Keras: the model is one entry of `layers`
    assert [type(l).__name__ for l in prob.layers] == ["Sequential", "Softmax"] and prob.layers[0] is model
    p = prob.predict(x, verbose=0)
    np.testing.assert_allclose(p, _softmax(logits.astype(np.float64)), rtol=1e-5, atol=1e-7)
    # the inner model still runs, on the same weights
    np.testing.assert_array_equal(model.predict(x, verbose=0), logits)


def test_nested_models_share_their_weights_both_ways():
    x, y = _data(d=8, k=3)
    set_random_seed(0)
    inp = ranvier.Input((8,))
    base = ranvier.Model(inp, layers.Dense(5, activation="tanh", name="feat")(inp), name="base")
    i2 = ranvier.Input((8,))
    out = layers.Dense(3, activation="softmax", name="head")(base(i2))
    full = ranvier.Model(i2, out, name="full")
    # Keras: the nested model is one entry of `layers` ([input, 'base', 'head']); ranvier also
    # finds the inner layer by name
    assert [l.name for l in full.layers] == [i2.input_layer.name, "base", "head"]
    assert full.get_layer("base") is base
    assert full.get_layer("feat") is base.get_layer("feat")
    before = base.predict(x, verbose=0)
    full.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    full.fit(x, y, epochs=2, verbose=0)
    after = base.predict(x, verbose=0)  # trained through `full`: Keras shares the weights
    assert not np.array_equal(before, after)
    feat = base.get_layer("feat")
    k, b = feat.get_weights()
    np.testing.assert_allclose(after, np.tanh(x.astype(np.float64) @ k + b), rtol=1e-5, atol=1e-6)
    # and the other way: set through the inner model, seen by the outer one
    base.set_weights([np.zeros_like(k), np.zeros_like(b)])
    head_bias = full.get_layer("head").get_weights()[1].astype(np.float64)
    np.testing.assert_allclose(full.predict(x, verbose=0), _softmax(np.tile(head_bias, (len(x), 1))),
                               rtol=1e-5, atol=1e-7)
    # two models of one graph also share
    sub = ranvier.Model(inp, full.get_layer("feat").output)
    np.testing.assert_array_equal(sub.predict(x, verbose=0), np.zeros((len(x), 5), np.float32))


def test_using_the_inner_model_while_the_outer_one_trains_is_refused():
    x, y = _data(d=8, k=3)
    inner = ranvier.Sequential([ranvier.Input((8,)), layers.Dense(4)], name="inner")
    outer = ranvier.Sequential([inner, layers.Dense(3, activation="softmax")], name="outer")
    outer.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    seen = []

    class Probe(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                inner.predict(x, verbose=0)
            except RuntimeError as e:
                seen.append(str(e))

    outer.fit(x, y, epochs=1, verbose=0, callbacks=[Probe()])
    assert seen and "'inner' shares layers with model 'outer'" in seen[0] and "running fit" in seen[0]
    assert inner.predict(x, verbose=0).shape == (len(x), 4)  # after fit returns, it runs


def test_a_model_called_on_a_tensor_of_another_width_is_refused():
    inner = ranvier.Sequential([ranvier.Input((8,)), layers.Dense(4)], name="inner8")
    with pytest.raises(ValueError, match=r"Sequential 'inner8' expects inputs of shape \(None, 8\)"):
        inner(ranvier.Input((5,)))


# ------------------------------------------------------------------ files, apps, export
def test_save_and_load_roundtrip_returns_the_model_and_resumes_training(tmp_path):
    x, y = _data()
    m = _functional(seed=5, name="saved_fn")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.ranvier"
    m.save(path)
    back = ranvier.load_model(path)
    assert isinstance(back, ranvier.Model) and back.name == "saved_fn"
    assert back.get_config() == m.get_config()
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    set_random_seed(11)
    m.fit(x, y, epochs=1, verbose=0, shuffle=False)
    set_random_seed(11)
    back.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the C API (what C apps link against) runs the same file
    m.save(path)
    np.testing.assert_array_equal(c_api_ctypes.predict_file(path, x), m.predict(x, verbose=0))


def test_keras_archive_roundtrip(tmp_path):
    pytest.importorskip("h5py")
    x, y = _data()
    m = _functional(seed=6)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    m.save(path)
    import zipfile
    with zipfile.ZipFile(path) as z:
        cfg = json.loads(z.read("config.json"))
    assert cfg["class_name"] == "Functional" and cfg["registered_name"] == "Functional"
    assert cfg["config"]["input_layers"] == [m.layers[0].name, 0, 0]
    assert [e["name"] for e in cfg["config"]["layers"]] == [l.name for l in m.layers]
    back = ranvier.load_model(path)
    assert isinstance(back, ranvier.Model)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_onnx_export_of_a_functional_model(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    x, _ = _data()
    m = _functional(seed=2)
    path = tmp_path / "m.onnx"
    m.export(path, verbose=False)
    sess = ort.InferenceSession(str(path))
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_deepcopy_and_pickle_keep_a_model(tmp_path):
    import copy
    import pickle
    x, _ = _data()
    m = _functional(seed=8)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert isinstance(clone, ranvier.Model)
        np.testing.assert_array_equal(clone.predict(x, verbose=0), m.predict(x, verbose=0))


def test_profile_runs_on_a_functional_model():
    x, y = _data()
    m = _functional(seed=9)
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with ranvier.utils.profile() as prof:
        m.fit(x, y, epochs=1, verbose=0)
    names = {l for (_, l) in prof.layers}
    assert {l.name for l in m.layers[1:]} <= names


def test_building_a_model_over_layers_of_a_running_model_is_refused():
    x, y = _data(d=8, k=3)
    inp = ranvier.Input((8,))
    feat = layers.Dense(4, name="feat_run")
    base = ranvier.Model(inp, layers.Dense(3, activation="softmax")(feat(inp)), name="running_base")
    base.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    seen = []

    class Probe(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                ranvier.Model(inp, feat.output)
            except RuntimeError as e:
                seen.append(str(e))

    base.fit(x, y, epochs=1, verbose=0, callbacks=[Probe()])
    assert seen and "'feat_run' is shared with model 'running_base', which is running fit" in seen[0]
    sub = ranvier.Model(inp, feat.output)  # afterwards it builds, over the trained weights
    k, b = feat.get_weights()
    np.testing.assert_allclose(sub.predict(x, verbose=0), x.astype(np.float64) @ k + b, rtol=1e-5, atol=1e-5)


def test_data_in_the_structure_of_the_inputs_and_outputs():
    x, y = _data(d=8, k=3)
    inp = ranvier.Input((8,), name="feats")
    out = layers.Dense(3, activation="softmax", name="probs")(inp)
    m = ranvier.Model({"features": inp}, {"label": out})
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    ref = m.predict(x, verbose=0)
    for xs in ({"features": x}, {"feats": x}, [x]):
        np.testing.assert_array_equal(m.predict(xs, verbose=0), ref)
        np.testing.assert_array_equal(m.predict_on_batch(xs), ref)
        np.testing.assert_array_equal(m(xs), ref)
    a = m.evaluate({"features": x}, {"label": y}, verbose=0)
    assert a == m.evaluate(x, y, verbose=0) == m.evaluate([x], {"probs": y}, verbose=0)
    h = m.fit({"feats": x}, {"label": y}, epochs=1, verbose=0, validation_data=({"features": x}, [y]))
    assert "val_loss" in h.history
    w = np.linspace(0.5, 2.0, len(x)).astype(np.float32)
    assert m.evaluate(x, y, sample_weight={"label": w}, verbose=0) == m.evaluate(x, y, sample_weight=w, verbose=0)
    with pytest.raises(ValueError, match=r'Missing data for input "feats".*\[\'feats\', \'features\'\]'):
        m.predict({"other": x}, verbose=0)
    ref = m.predict(x, verbose=0)  # after the fit above
    np.testing.assert_array_equal(m.predict({"feats": x, "ignored": x[:2]}, verbose=0), ref)  # extra keys ignored
    np.testing.assert_array_equal(m.predict(x[:, :, None], verbose=0), ref)  # rank + 1, last dim 1: squeezed
    with pytest.raises(ValueError, match=r"y is a dict with keys \['a', 'b'\].*one output"):
        m.evaluate(x, {"a": y, "b": y}, verbose=0)


@pytest.mark.parametrize("bad", [
    "not json", "[]", '{"class_name": "Functional"}', '{"class_name": "Functional", "config": {"layers": 3}}',
    '{"class_name": "Functional", "config": {"layers": [1], "input_layers": [], "output_layers": []}}',
    '{"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2}, '
    '"inbound_nodes": [{"args": [], "kwargs": {}}]}], "input_layers": [], "output_layers": []}}',
    '{"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": '
    '[null, 3]}, "name": "i"}, {"class_name": "Dense", "config": {"units": 2, "name": "d"}, "inbound_nodes": '
    '[{"args": [{"config": {"keras_history": ["nowhere", 0, 0]}}]}]}], "input_layers": ["i", 0, 0], '
    '"output_layers": ["d", 0, 0]}}',
    '{"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": '
    '[null, 3]}, "name": "i"}], "input_layers": ["i", 0, 0], "output_layers": ["i", 0, 0]}}',
    '{"class_name": "Subclassed", "config": {}}',
])
def test_malformed_json_descriptions_are_value_errors(bad):
    with pytest.raises(ValueError):
        ranvier.models.model_from_json(bad)


def test_a_failed_change_keeps_a_lent_model_taking_its_layers_back():
    x, _ = _data(d=8)
    inner = ranvier.Sequential([ranvier.Input((8,)), layers.Dense(4, name="shared4")], name="inner_lent")
    outer = ranvier.Sequential([inner, layers.Dense(2)], name="outer_lent")
    outer.predict(x, verbose=0)
    wide = layers.Dense(3)
    wide.build((None, 5))  # built for 5 features: refused after a 4-wide layer
    with pytest.raises(ValueError):
        inner.add(wide)
    k, b = inner.get_layer("shared4").get_weights()
    outer.get_layer("shared4").set_weights([k * 2, b])
    np.testing.assert_allclose(inner.predict(x, verbose=0), x.astype(np.float64) @ (k * 2) + b, rtol=1e-5, atol=1e-5)


def test_the_c_example_app_predicts_a_functional_models_file(tmp_path):
    """examples/c/main.c, compiled against a local build's static library (skipped when there
    is none or no C compiler; CI runs the installed-package build in .ci/embed.sh)."""
    import glob
    import os
    import shutil
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    libs = sorted(glob.glob(os.path.join(root, "build", "*", "libranvier_core.a")), key=os.path.getmtime)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not libs or cc is None:
        pytest.skip("no local build of libranvier_core.a, or no C compiler")
    app = tmp_path / "predict_c"
    build = subprocess.run([cc, "-O1", "-std=c99", os.path.join(root, "examples", "c", "main.c"),
                            "-I", os.path.join(root, "cpp", "include"), libs[-1], "-lstdc++", "-fopenmp", "-lm",
                            "-o", str(app)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"the C example does not link against {libs[-1]} here: {build.stderr[-500:]}")
    x, y = _data(n=57, d=8, k=3)
    m = _functional(seed=12)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "f.safetensors")
    x.astype("<f4").tofile(tmp_path / "x.f32")
    out = subprocess.run([str(app), str(tmp_path / "f.safetensors"), str(tmp_path / "x.f32")],
                         capture_output=True, text=True, check=True).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.strip().splitlines()]).astype(np.float32)
    np.testing.assert_array_equal(got, m.predict(x, verbose=0))  # %.9g round-trips float32


def test_feature_extractor_from_a_sequential():
    """Keras's Sequential guide: Model(inputs=seq.inputs, outputs=seq.get_layer(name).output)."""
    x, _ = _data(d=8)
    inp = ranvier.Input((8,), name="seq_in")
    seq = ranvier.Sequential([inp, layers.Dense(6, activation="relu", name="hidden6"), layers.Dense(2, name="out2")])
    assert seq.inputs == [inp] and seq.input is inp and seq.output.shape == (None, 2)
    assert seq.get_layer("hidden6").output.shape == (None, 6)
    extractor = ranvier.Model(inputs=seq.inputs, outputs=seq.get_layer("hidden6").output)
    k, b = seq.get_layer("hidden6").get_weights()
    np.testing.assert_allclose(extractor.predict(x, verbose=0), np.maximum(x.astype(np.float64) @ k + b, 0),
                               rtol=1e-5, atol=1e-5)
    full = seq.predict(x, verbose=0)  # the Sequential takes its layers back
    k2, b2 = seq.get_layer("out2").get_weights()
    np.testing.assert_allclose(full, np.maximum(x.astype(np.float64) @ k + b, 0) @ k2 + b2, rtol=1e-5, atol=1e-5)
    # the graph follows the structure: after pop, the output is the hidden layer's
    seq.pop()
    assert seq.output.shape == (None, 6) and seq.get_layer("hidden6").output is seq.output
    with pytest.raises(AttributeError, match="no defined inputs"):
        ranvier.Sequential([layers.Dense(2)]).inputs


def test_an_intermediate_tensor_can_be_the_input():
    """Keras clones the graph from an intermediate input: the model holds the layers after it."""
    x, _ = _data(d=3)
    i = ranvier.Input((8,))
    h = layers.Dense(3, name="before")(i)
    after = layers.Dense(2, name="after")
    head = ranvier.Model(h, after(h))
    assert [type(l).__name__ for l in head.layers] == ["InputLayer", "Dense"] and head.input_shape == (None, 3)
    k, b = after.get_weights()
    np.testing.assert_allclose(head.predict(x, verbose=0), x.astype(np.float64) @ k + b, rtol=1e-5, atol=1e-6)


def test_legacy_node_form_in_config():
    cfg = {"name": "legacy", "trainable": True, "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "x_in"}, "name": "x_in",
         "inbound_nodes": []},
        {"class_name": "Dense", "config": {"units": 2, "name": "d_legacy"}, "name": "d_legacy",
         "inbound_nodes": [[["x_in", 0, 0, {}]]]}],
        "input_layers": [["x_in", 0, 0]], "output_layers": [["d_legacy", 0, 0]]}
    m = ranvier.Model.from_config(cfg)
    assert m.output_shape == (None, 2) and [l.name for l in m.layers] == ["x_in", "d_legacy"]


def test_two_threads_on_models_sharing_layers_never_mix_their_buffers():
    """An outer model and the inner one it nests, predicting from two threads: each call either
    runs on weights equal to the shared ones or is refused with RuntimeError; never wrong."""
    import threading
    x, _ = _data(n=256, d=8)
    inner = ranvier.Sequential([ranvier.Input((8,)), layers.Dense(16, activation="tanh")], name="inner_t")
    outer = ranvier.Sequential([inner, layers.Dense(3)], name="outer_t")
    want_inner = inner.predict(x, verbose=0)
    want_outer = outer.predict(x, verbose=0)
    errors, wrong, ran = [], [], [0, 0]
    start = threading.Barrier(2)

    def work(model, want, slot):
        start.wait()
        for _ in range(100):
            try:
                got = model.predict(x, verbose=0)
            except RuntimeError as e:
                errors.append(str(e))
                continue
            ran[slot] += 1
            if not np.array_equal(got, want):
                wrong.append(model.name)

    threads = [threading.Thread(target=work, args=(inner, want_inner, 0)),
               threading.Thread(target=work, args=(outer, want_outer, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong and sum(ran) > 0
    assert all("shares layers with" in e or "is shared with" in e for e in errors), errors[:3]
    np.testing.assert_array_equal(inner.predict(x, verbose=0), want_inner)
    np.testing.assert_array_equal(outer.predict(x, verbose=0), want_outer)


def test_arithmetic_on_symbolic_tensors_says_what_is_supported():
    i = ranvier.Input((4,), name="arith")
    h = layers.Dense(4)(i)
    for op in (lambda: h + i, lambda: 2 * h, lambda: h[:, :2], lambda: -h, lambda: h @ h):
        with pytest.raises(TypeError, match="are not supported: use layers"):
            op()


def test_batches_of_a_generator_in_the_structure_of_the_inputs():
    x, y = _data(d=8, k=3)
    inp = ranvier.Input((8,), name="gen_in")
    m = ranvier.Model(inp, layers.Dense(3, activation="softmax", name="gen_out")(inp))
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")

    def batches():
        while True:
            for s in range(0, len(x), 16):
                yield {"gen_in": x[s:s + 16]}, {"gen_out": y[s:s + 16]}

    h = m.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0, shuffle=False)
    assert len(h.history["loss"]) == 1
    out = m.predict((({"gen_in": x[s:s + 16]},) for s in range(0, len(x), 16)), verbose=0)
    np.testing.assert_array_equal(out, m.predict(x, verbose=0))


@pytest.mark.parametrize("mutate", [
    lambda c: "not an object",
    lambda c: dict(c, layers=[]),
    lambda c: dict(c, layers=c["layers"][1:]),                                      # no InputLayer first
    lambda c: dict(c, layers=[c["layers"][0]] + c["layers"][:0:-1]),                # layers in another order
    lambda c: dict(c, layers=[dict(c["layers"][0], config={"batch_shape": [None, 5]})] + c["layers"][1:]),
    lambda c: dict(c, layers=[dict(c["layers"][0], config={"bogus": 1})] + c["layers"][1:]),
])
def test_a_hostile_functional_config_in_a_model_file_is_a_value_error_naming_it(tmp_path, mutate):
    from ranvier import _model_io as saving  # the model file's writer
    m = _functional(seed=13)
    tensors, meta = saving._model_payload(m)
    meta["functional_config"] = json.dumps(mutate(json.loads(meta["functional_config"])))
    path = tmp_path / "hostile.safetensors"
    saving._write_model_file(path, tensors, meta, "save")
    with pytest.raises(ValueError, match="hostile.safetensors"):
        ranvier.load_model(path)
    # the C API runs the file's architecture, which is intact
    x, _ = _data(d=8)
    np.testing.assert_array_equal(c_api_ctypes.predict_file(path, x), m.predict(x, verbose=0))


def test_models_called_as_layers_keras_functional_guide_autoencoder():
    """keras.io's functional API guide: an encoder and a decoder model, called on a new Input to
    make an autoencoder; after training it, the encoder and decoder run on the trained weights."""
    x, _ = _data(n=96, d=12)
    set_random_seed(4)
    enc_in = ranvier.Input(shape=(12,), name="img")
    encoder = ranvier.Model(enc_in, layers.Dense(4)(layers.Dense(8, activation="relu")(enc_in)), name="encoder")
    dec_in = ranvier.Input(shape=(4,), name="encoded_img")
    decoder = ranvier.Model(dec_in, layers.Dense(12)(layers.Dense(8, activation="relu")(dec_in)), name="decoder")
    auto_in = ranvier.Input(shape=(12,), name="img")
    autoencoder = ranvier.Model(auto_in, decoder(encoder(auto_in)), name="autoencoder")
    # Keras: ['img', 'encoder', 'decoder'], the models as one entry each
    assert [l.name for l in autoencoder.layers] == ["img", "encoder", "decoder"]
    assert autoencoder.layers[1] is encoder and autoencoder.layers[2] is decoder
    autoencoder.compile("adam", "mse")
    autoencoder.fit(x, x, epochs=2, verbose=0)
    code = encoder.predict(x, verbose=0)
    np.testing.assert_allclose(decoder.predict(code, verbose=0), autoencoder.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    (k1, b1), (k2, b2) = (encoder.layers[1].get_weights(), encoder.layers[2].get_weights())
    ref = np.maximum(x.astype(np.float64) @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(code, ref, rtol=1e-5, atol=1e-5)


def test_summary_rows_keep_the_table_width_with_long_names():
    i = ranvier.Input((5,), name="a_very_long_input_layer_name_that_needs_wrapping_in_the_table")
    m = ranvier.Model(i, layers.Dense(2, name="another_very_long_dense_layer_name_wider_than_its_column")(i))
    for line_length in (None, 60, 100):
        lines = []
        m.summary(line_length=line_length, print_fn=lambda s: lines.extend(s.splitlines()))
        assert len({len(l) for l in lines[1:] if l[0] in "┏┃┡│├└"}) == 1, "\n".join(lines)
        # Keras's rich table crops a word wider than its column to "…" (no folding) and puts
        # the class on the next line: "a_very_long_input_laye…" / "(InputLayer)"
        cells = [l.split("│")[1] for l in lines if l.startswith("│")]
        width = len(cells[0]) - 2
        name = "a_very_long_input_layer_name_that_needs_wrapping_in_the_table"
        assert cells[0].strip() == name[:width - 1] + "…" and cells[1].strip() == "(InputLayer)"


def test_model_arguments_are_checked():
    i = ranvier.Input((3,))
    o = layers.Dense(1)(i)
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        ranvier.Model(i, o, name=5)
    with pytest.raises(TypeError, match="trainable must be True or False"):
        ranvier.Model(i, o, trainable="yes")
    with pytest.raises(TypeError, match="unexpected arguments: bogus"):
        ranvier.Model(i, o, bogus=1)


def test_tabular_and_noise_layers_in_a_functional_chain(tmp_path):
    """Every layer Sequential runs runs in a chain: preprocessing, noise and regularization
    layers (adapted Normalization included), with the same predictions after a reload."""
    L = layers
    x, _ = _data(n=64, d=6)
    i = ranvier.Input((6,))
    norm = L.Normalization()
    norm.adapt(x)
    h = norm(i)
    for layer in (L.Rescaling(0.5), L.Identity(), L.Dense(8), L.UnitNormalization(),
                  L.ActivityRegularization(l1=0.01), L.GaussianDropout(0.1), L.AlphaDropout(0.1),
                  L.GaussianNoise(0.1), L.Dense(2)):
        h = layer(h)
    m = ranvier.Model(i, h)
    m.compile("adam", "mse")
    m.fit(x, x[:, :2], epochs=1, verbose=0)
    path = tmp_path / "tab.safetensors"
    m.save(path)
    back = ranvier.load_model(path)
    assert isinstance(back, ranvier.Model)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    for cls in (L.GaussianDropout, L.AlphaDropout):  # accepted (Keras 3: the model's mode wins)
        assert cls(0.1)(i, training=True).shape == i.shape


@pytest.mark.parametrize("suffix", [".safetensors", ".keras"])
def test_a_functional_model_file_loads_in_a_fresh_process(tmp_path, suffix):
    # The functional Model registers itself when ranvier._functional is imported; a process
    # that only calls load_model (never touching ranvier.Model) must still get a Model back.
    import subprocess
    import sys
    if suffix == ".keras":
        pytest.importorskip("h5py")
    inp = ranvier.Input(shape=(4,))
    out = ranvier.layers.Dense(3)(ranvier.layers.Dense(5, activation="relu")(inp))
    model = ranvier.Model(inp, out)
    path = tmp_path / f"f{suffix}"
    model.save(path)
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, ranvier.models as M\n"
            f"m = M.load_model({str(path)!r})\n"
            "print(type(m).__name__)\n"
            f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "Model"
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0))
