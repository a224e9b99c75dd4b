"""Small pieces of Keras's surface real scripts use: Constant with an
array, initializer=None, model.metrics / metrics_names / losses, callbacks from other
libraries, the on_test_* hooks inside fit, TensorBoard, the messages for custom layers
and Python losses, plot_model."""
import math
import os
import sys
import types

import numpy as np
import pytest

import ranvier as keras
from ranvier import initializers


def _xy(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x, (x.sum(axis=1, keepdims=True) > 0).astype(np.float32)


# ----------------------------------------------------------------------------- initializers
def test_constant_with_an_array_of_the_weight_shape():
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    b = np.array([1.0, -1.0, 0.5, 2.0], np.float32)
    d = keras.layers.Dense(4, kernel_initializer=initializers.Constant(w), bias_initializer=initializers.Constant(b))
    d.build((None, 3))
    np.testing.assert_array_equal(d.get_weights()[0], w)
    np.testing.assert_array_equal(d.get_weights()[1], b)
    # Keras serializes the array as {"class_name": "__numpy__", ...}; the config round-trips
    cfg = d.get_config()["kernel_initializer"]["config"]["value"]
    assert cfg["class_name"] == "__numpy__" and cfg["config"]["value"] == w.tolist()
    d2 = keras.layers.Dense.from_config(d.get_config())
    d2.build((None, 3))
    np.testing.assert_array_equal(d2.get_weights()[0], w)
    # broadcasting as value * ones(shape); a shape that does not broadcast is an error
    np.testing.assert_array_equal(initializers.Constant(b)((2, 4)), np.tile(b, (2, 1)))
    with pytest.raises(ValueError, match="broadcast"):
        keras.layers.Dense(5, kernel_initializer=initializers.Constant(w)).build((None, 3))
    # a bare array as the initializer: exactly its shape
    d3 = keras.layers.Dense(4, kernel_initializer=w)
    d3.build((None, 3))
    np.testing.assert_array_equal(d3.get_weights()[0], w)
    with pytest.raises(ValueError, match="shape"):
        keras.layers.Dense(4, kernel_initializer=w).build((None, 5))


def test_initializer_none_is_glorot_uniform_as_in_keras():
    keras.utils.set_random_seed(3)
    d = keras.layers.Dense(50, bias_initializer=None)
    d.build((None, 8))
    bias = d.get_weights()[1]
    limit = math.sqrt(6.0 / (50 + 50))  # a 1-D weight: fan_in = fan_out = 50
    assert np.all(np.abs(bias) <= limit) and np.std(bias) > limit / 4
    assert d.get_config()["bias_initializer"] is None
    assert keras.layers.Dense.from_config(d.get_config()).get_config()["bias_initializer"] is None
    k = keras.layers.Dense(4, kernel_initializer=None)
    k.build((None, 6))
    assert np.all(np.abs(k.get_weights()[0]) <= math.sqrt(6.0 / 10)) and np.any(k.get_weights()[0] != 0)


# ----------------------------------------------------------------------------- model surface
def test_metrics_names_metrics_and_losses_as_keras_3():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(0.1)),
                          keras.layers.Dense(1, activation="sigmoid")])
    assert m.metrics_names == [] and m.metrics == []
    kernel = m.layers[0].get_weights()[0]
    np.testing.assert_allclose(m.losses, [0.1 * np.sum(kernel.astype(np.float64) ** 2)], rtol=1e-5)
    m.compile("adam", "binary_crossentropy")
    assert m.metrics_names == ["loss"]
    m.compile("adam", "binary_crossentropy", metrics=["accuracy", "mae"])
    assert m.metrics_names == ["loss", "compile_metrics"]
    x, y = _xy()
    m.fit(x, y, epochs=1, verbose=0)
    res = m.evaluate(x, y, verbose=0, return_dict=True)
    tracker, compiled = m.metrics
    assert tracker.name == "loss" and compiled.name == "compile_metrics"
    np.testing.assert_allclose(tracker.result(), res["loss"], rtol=1e-6)
    assert [mm.name for mm in compiled.metrics] == ["accuracy", "mae"]
    assert compiled.result() == pytest.approx({"accuracy": res["accuracy"], "mae": res["mae"]})
    kernel = m.layers[0].get_weights()[0]
    np.testing.assert_allclose(m.losses, [0.1 * np.sum(kernel.astype(np.float64) ** 2)], rtol=1e-5)


# ----------------------------------------------------------------------------- callbacks
class _KerasCallback:
    """A stand-in for keras.callbacks.Callback (same module name, same no-op hooks)."""

    def __init__(self):
        self.params = None
        self._model = None

    def set_model(self, model):
        self._model = model

    def set_params(self, params):
        self.params = params

    @property
    def model(self):
        return self._model

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


_KerasCallback.__module__ = "keras.src.callbacks.callback"
_KerasCallback.__name__ = _KerasCallback.__qualname__ = "Callback"


def test_callbacks_from_other_libraries():
    class FromKeras(_KerasCallback):
        def __init__(self):
            super().__init__()
            self.batches = 0
            self.epochs = []

        def on_batch_end(self, batch, logs=None):
            self.batches += 1

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(sorted(logs))
            if epoch == 1:
                self.model.stop_training = True

    class Plain:  # no base class at all
        def __init__(self):
            self.begun = 0
            self.end_logs = None

        def on_train_begin(self, logs=None):
            self.begun += 1

        def on_train_end(self, logs=None):
            self.end_logs = logs

    x, y = _xy()
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    m.compile("sgd", "mse")
    a, p = FromKeras(), Plain()
    m.fit(x, y, epochs=5, batch_size=16, validation_split=0.25, verbose=0, callbacks=[a, p])
    assert a.batches == 6 and a.epochs == [["loss", "val_loss"]] * 2  # every batch; stopped after epoch 2
    assert a.params == {"verbose": 0, "epochs": 5, "steps": 3} and a.model is m
    assert p.begun == 1 and sorted(p.end_logs) == ["loss", "val_loss"]
    m.fit(x, y, epochs=1, verbose=0, callbacks=Plain())  # a single object, not in a list
    with pytest.raises(TypeError, match="callback objects"):
        m.fit(x, y, verbose=0, callbacks=[object()])


def test_test_hooks_fire_during_fit_validation():
    events = []

    class Rec(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            events.append("epoch_begin")

        def on_test_begin(self, logs=None):
            events.append("test_begin")

        def on_test_batch_begin(self, batch, logs=None):
            events.append(("test_batch_begin", batch))

        def on_test_batch_end(self, batch, logs=None):
            events.append(("test_batch_end", batch, sorted(logs)))

        def on_test_end(self, logs=None):
            events.append(("test_end", sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", sorted(logs)))

        def on_train_end(self, logs=None):
            events.append(("train_end", sorted(logs)))

    x, y = _xy(n=80)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=2, batch_size=16, validation_data=(x[:40], y[:40]), validation_batch_size=20,
          validation_freq=2, verbose=0, callbacks=[Rec()])
    keys = ["accuracy", "loss"]
    assert events == ["epoch_begin", ("epoch_end", keys), "epoch_begin", "test_begin",
                      ("test_batch_begin", 0), ("test_batch_end", 0, keys),
                      ("test_batch_begin", 1), ("test_batch_end", 1, keys), ("test_end", keys),
                      ("epoch_end", keys + ["val_accuracy", "val_loss"]),
                      ("train_end", keys + ["val_accuracy", "val_loss"])]
    events.clear()
    m.fit(x, y, epochs=0, verbose=0, callbacks=[Rec()])
    assert events == [("train_end", [])]


def test_tensorboard_writes_what_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y = _xy(n=64)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d1"), keras.layers.Dense(1, name="d2")])
    m.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    tb = keras.callbacks.TensorBoard(str(tmp_path), histogram_freq=1, update_freq=2)
    h = m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[tb])

    def acc(sub):
        ea = EventAccumulator(str(tmp_path / sub), size_guidance={"histograms": 0, "scalars": 0})
        ea.Reload()
        return ea

    train, val = acc("train"), acc("validation")
    for key in ("loss", "mae"):
        got = [(e.step, e.value) for e in train.Scalars(f"epoch_{key}")]
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h.history[key], rtol=1e-6)
        np.testing.assert_allclose([e.value for e in val.Scalars(f"epoch_{key}")], h.history[f"val_{key}"],
                                   rtol=1e-6)
        assert [e.step for e in val.Scalars(f"evaluation_{key}_vs_iterations")] == [3, 6, 9]
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_learning_rate")], [0.05] * 3, rtol=1e-6)
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]  # every 2nd of 9 batches
    hist_tags = train.Tags()["histograms"]
    assert f"{m.name}/d1/kernel/histogram" in hist_tags and f"{m.name}/d2/bias/histogram" in hist_tags
    last = train.Histograms(f"{m.name}/d1/kernel/histogram")[-1]
    kernel = m.layers[0].get_weights()[0]
    assert last.step == 2 and last.histogram_value.num == kernel.size
    np.testing.assert_allclose(last.histogram_value.sum, kernel.sum(), rtol=1e-5, atol=1e-6)


def test_tensorboard_without_the_package_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "tensorboard.compat", None)
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto", None)
    monkeypatch.setitem(sys.modules, "tensorboard.summary", None)
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer", None)
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(ImportError, match=r"ranvier\[tensorboard\]"):
        keras.callbacks.TensorBoard("logs")


# ----------------------------------------------------------------------------- messages
def test_custom_layer_subclass_gets_an_explanation():
    class MyLayer(keras.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units))

        def call(self, x):
            return x @ self.w

    with pytest.raises(NotImplementedError, match="custom layer MyLayer.*Supported: the built-in layers.*Dense"):
        keras.Sequential([keras.Input((3,)), MyLayer()])
    with pytest.raises(NotImplementedError, match="add_weight"):
        MyLayer()(np.ones((2, 3), np.float32))

    class CallOnly(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    with pytest.raises(NotImplementedError, match="Nearest alternatives"):
        keras.Sequential([CallOnly()])

    class DenseWithCall(keras.layers.Dense):  # its call would silently never run
        def call(self, x):
            return x

    with pytest.raises(NotImplementedError, match="defines call"):
        keras.Sequential([keras.Input((3,)), DenseWithCall(2)])

    class MyDense(keras.layers.Dense):  # a subclass that keeps Dense's computation is fine
        def __init__(self, units=3, **kwargs):
            super().__init__(units, activation="relu", **kwargs)

    m = keras.Sequential([keras.Input((3,)), MyDense()])
    assert m.predict(np.ones((2, 3), np.float32), verbose=0).shape == (2, 3)


def test_python_loss_gets_an_explanation_at_compile():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])

    def my_loss(y_true, y_pred):
        return np.mean((y_true - y_pred) ** 2)

    with pytest.raises(ValueError, match="my_loss.*Python code.*Supported: the built-in losses"):
        m.compile("adam", loss=my_loss)

    class Twice(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return 2 * keras.losses.mean_absolute_error(y_true, y_pred)

    with pytest.raises(ValueError, match="Python code"):
        m.compile("adam", loss=Twice())
    m.compile("adam", loss=keras.losses.Huber(delta=2.0))  # built-ins with arguments still compile


# ----------------------------------------------------------------------------- plot_model
def test_plot_model_without_pydot_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pydot", None)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ImportError, match="pip install pydot"):
        keras.utils.plot_model(m, to_file=str(tmp_path / "m.png"))


def test_plot_model_graph_with_a_stand_in_pydot(monkeypatch, tmp_path):
    written = {}

    class Dot:
        def __init__(self, *args, **kwargs):
            self.nodes, self.edges, self.kwargs = [], [], kwargs

        def create(self):
            return b""

        def set_node_defaults(self, **kwargs):
            pass

        def add_node(self, node):
            self.nodes.append(node)

        def add_edge(self, edge):
            self.edges.append(edge)

        def write(self, path, format="raw"):
            written["path"], written["format"] = path, format
            written["dot"] = self

    class Node:
        def __init__(self, name, label=""):
            self.name, self.label = name, label

    class Edge:
        def __init__(self, a, b):
            self.ends = (a, b)

    fake = types.ModuleType("pydot")
    fake.Dot, fake.Node, fake.Edge = Dot, Node, Edge
    monkeypatch.setitem(sys.modules, "pydot", fake)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, name="hidden"), keras.layers.Dense(1, name="out")])
    keras.utils.plot_model(m, to_file=str(tmp_path / "m.svg"), show_shapes=True, rankdir="LR")
    dot = written["dot"]
    assert written["format"] == "svg" and written["path"].endswith("m.svg") and dot.kwargs["rankdir"] == "LR"
    labels = [n.label for n in dot.nodes]
    assert labels[1] == "hidden (Dense)|output: (None, 5)" and labels[2] == "out (Dense)|output: (None, 1)"
    assert [e.ends for e in dot.edges] == [("input", "layer_0"), ("layer_0", "layer_1")]
    with pytest.raises(ValueError, match="rankdir"):
        keras.utils.plot_model(m, rankdir="XY")
