"""Keras's custom-object registry (register_keras_serializable, custom_object_scope,
get_custom_objects, get_registered_name/object) and keras.utils.pad_sequences / normalize,
with the expected values written from Keras 3.15's behaviour."""
from __future__ import annotations

import numpy as np
import pytest

import ranvier as keras
from ranvier import _custom_objects


@pytest.fixture(autouse=True)
def _clean_registry():
    saved = dict(_custom_objects._GLOBAL)
    yield
    _custom_objects._GLOBAL.clear()
    _custom_objects._GLOBAL.update(saved)


def test_register_a_metric_function_and_reload_without_custom_objects(tmp_path):
    @keras.saving.register_keras_serializable(package="my")
    def abs_err(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

    assert keras.saving.get_registered_name(abs_err) == "my>abs_err"
    assert keras.saving.get_registered_object("my>abs_err") is abs_err
    assert keras.utils.get_custom_objects()["my>abs_err"] is abs_err
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = x[:, :1] * 2
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=[abs_err])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(str(tmp_path / "m.keras"))
    again = keras.models.load_model(str(tmp_path / "m.keras"))
    logs = again.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == ["abs_err", "loss"]
    assert logs["abs_err"] == pytest.approx(float(np.abs(y - again.predict(x, verbose=0)).mean()), rel=1e-5)
    # a second registration of the name replaces the object (Keras does not refuse it)
    other = keras.saving.register_keras_serializable(package="my", name="abs_err")(lambda a, b: a)
    assert keras.saving.get_registered_object("my>abs_err") is other
    with pytest.raises(ValueError, match="'>'"):
        keras.saving.register_keras_serializable(package="a>b")


def test_custom_object_scope_and_registered_names_resolve_in_get():
    def sq(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    with pytest.raises(ValueError):
        keras.metrics.get("sq")
    with keras.saving.custom_object_scope({"sq": sq}):
        assert keras.metrics.get("sq") is sq
        assert keras.losses.get("sq") is sq
    with pytest.raises(ValueError):
        keras.metrics.get("sq")
    assert keras.saving.get_registered_object("sq") is None
    assert keras.saving.get_registered_name(sq) == "sq"
    assert keras.utils.CustomObjectScope is keras.saving.CustomObjectScope
    assert keras.losses.get("mse") is keras.losses.get("mean_squared_error")


def test_pad_sequences():
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], []]
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs), [
        [0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 10], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(
        keras.utils.pad_sequences(seqs, maxlen=4, padding="post", truncating="post", value=-1),
        [[1, 2, 3, -1], [4, 5, -1, -1], [6, 7, 8, 9], [-1, -1, -1, -1]])
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs, maxlen=2), [[2, 3], [4, 5], [9, 10], [0, 0]])
    assert keras.utils.pad_sequences(seqs).dtype == np.int32
    f = keras.utils.pad_sequences([[1.5, 2.5]], maxlen=3, dtype="float32")
    assert f.dtype == np.float32 and f.tolist() == [[0.0, 1.5, 2.5]]
    with pytest.raises(ValueError, match="Padding type"):
        keras.utils.pad_sequences(seqs, padding="mid")
    with pytest.raises(ValueError, match="non-iterable"):
        keras.utils.pad_sequences([1, 2])
    with pytest.raises(ValueError, match="dtype=object"):
        keras.utils.pad_sequences(seqs, value="x")


def test_normalize():
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0, 0]])
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0], [1.0, 0.0]]), axis=0, order=1),
                               [[0.75, 1.0], [0.25, 0.0]])


def test_serialize_and_deserialize_keras_object():
    S, D = keras.saving.serialize_keras_object, keras.saving.deserialize_keras_object
    objs = [keras.layers.Dense(3, name="d"), keras.metrics.AUC(name="a"), keras.losses.Huber(delta=2.0),
            keras.optimizers.Adam(0.01), keras.initializers.GlorotUniform(seed=1), keras.regularizers.L2(0.1),
            keras.constraints.MaxNorm(2.0), keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)]
    for obj in objs:
        config = S(obj)
        assert config["class_name"] == type(obj).__name__ and isinstance(config["config"], dict)
        again = D(config)
        assert type(again) is type(obj) and again.get_config() == obj.get_config()
    assert D(S(keras.losses.mean_squared_error)) is keras.losses.mean_squared_error
    arr = D(S(np.arange(3, dtype=np.float32)))
    assert arr.dtype == np.float32 and arr.tolist() == [0.0, 1.0, 2.0]
    assert D(S([1, "a", None, {"x": 2.5}])) == [1, "a", None, {"x": 2.5}]

    @keras.saving.register_keras_serializable(package="t")
    class Scale:
        def __init__(self, factor):
            self.factor = factor

        def get_config(self):
            return {"factor": self.factor}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    config = S(Scale(3.0))
    assert config["registered_name"] == "t>Scale" and config["config"] == {"factor": 3.0}
    assert D(config).factor == 3.0
    with pytest.raises(ValueError, match="Could not locate class 'Nope'"):
        D({"module": "somewhere", "class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="cannot serialize"):
        S(object())
