"""Facts from running the official Keras guides (keras-io: functional API, training with
the built-in methods, serialization and saving, callbacks, the structured-data examples)
with ``import ranvier as keras``. The expected values are Keras 3's, written in."""
import numpy as np
import pytest

import ranvier as keras
from ranvier import activations


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- layer.activation
@pytest.mark.parametrize("ident, name", [("relu", "relu"), ("softmax", "softmax"), (None, "linear"),
                                         ("swish", "silu"), ("linear", "linear")])
def test_layer_activation_is_the_function(ident, name):
    # Keras: Dense / Activation store activations.get(identifier), a function (linear for None)
    for layer in (keras.layers.Dense(3, activation=ident), keras.layers.Activation(ident or "linear")):
        assert callable(layer.activation)
        assert layer.activation.__name__ == name
        assert layer.activation is activations.get(ident)
    assert keras.layers.Dense(2, activation=activations.tanh).activation is activations.tanh


def test_layer_activation_config_round_trip():
    layer = keras.layers.Dense(3, activation="relu")
    new = keras.layers.Dense.from_config(layer.get_config())
    assert new.activation is activations.relu
    assert new.get_config()["activation"] == "relu"


def _models():
    def seq():
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
        return m, m.layers[-1]

    def chain():
        i = keras.Input((4,))
        o = keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(5, activation="relu")(i))
        m = keras.Model(i, o)
        return m, m.layers[-1]

    def graph():
        i = keras.Input((4,))
        h = keras.layers.add([keras.layers.Dense(5, activation="relu")(i), keras.layers.Dense(5)(i)])
        m = keras.Model(i, keras.layers.Dense(3, activation="softmax")(h))
        return m, m.layers[-1]

    def nested():
        inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        return keras.Sequential([inner, keras.layers.Identity()]), inner.layers[-1]

    return {"sequential": seq, "chain": chain, "graph": graph, "nested": nested}


@pytest.mark.parametrize("kind", sorted(_models()))
def test_setting_activation_changes_what_the_model_computes(kind):
    # The Grad-CAM / logits idiom: model.layers[-1].activation = None (or "linear") after
    # training; the weights stay, predict and __call__ return the logits from then on.
    rng = np.random.default_rng(0)
    x = rng.random((8, 4), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(8) % 3]
    model, last = _models()[kind]()
    model.compile("adam", "categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    probs = model.predict(x, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    last.activation = None
    assert last.activation is activations.linear
    logits = model.predict(x, verbose=0)
    np.testing.assert_allclose(_softmax(logits.astype(np.float64)), probs, rtol=1e-4, atol=1e-6)
    assert not np.allclose(logits.sum(axis=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(np.asarray(model(x)), logits, rtol=1e-5, atol=1e-6)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert last.get_config()["activation"] == "linear"
    model.fit(x, y, epochs=1, verbose=0)  # trains with the new activation
    last.activation = "softmax"
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def test_setting_activation_on_a_nested_models_layer_reaches_both_models():
    x = np.random.default_rng(1).random((6, 4), dtype=np.float32)
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    outer = keras.Sequential([inner, keras.layers.Identity()])
    outer.predict(x, verbose=0)  # the layers are bound to the outer model's network now
    inner.layers[-1].activation = "linear"
    a, b = inner.predict(x, verbose=0), outer.predict(x, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    kernel, bias = inner.layers[-1].get_weights()
    np.testing.assert_allclose(a, x @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_setting_activation_on_a_standalone_layer():
    d = keras.layers.Dense(3, activation="softmax")
    d.activation = "sigmoid"  # before build: built with the new one
    np.testing.assert_allclose(np.asarray(d(np.zeros((1, 4), np.float32))), 0.5)
    d.activation = "relu"  # after build: same weights, new activation
    x = -np.ones((5, 4), np.float32)
    kernel, bias = d.get_weights()
    np.testing.assert_allclose(np.asarray(d(x)), np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_setting_an_unknown_activation_is_refused_and_changes_nothing():
    d = keras.layers.Dense(3, activation="relu")
    d.build((None, 2))
    for bad in ("nope", 3, [1]):
        with pytest.raises(ValueError, match="activation"):
            d.activation = bad
    assert d.activation is activations.relu
    np.testing.assert_array_equal(np.asarray(d(-np.ones((2, 2), np.float32))) >= 0, True)


def test_activation_change_survives_saving(tmp_path):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    m.layers[-1].activation = None
    x = np.random.default_rng(2).random((4, 4), dtype=np.float32)
    names = ["m.safetensors"]
    try:
        import h5py  # noqa: F401 - the .keras archive needs it (an optional extra)
        names.append("m.keras")
    except ImportError:
        pass
    for name in names:
        m.save(tmp_path / name)
        back = keras.models.load_model(tmp_path / name)
        assert back.layers[-1].activation is activations.linear
        np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)


# ----------------------------------------------------------------------------- compile / build configs
COMPILE_CONFIG_KEYS = ["jit_compile", "loss", "loss_weights", "metrics", "optimizer", "run_eagerly",
                       "steps_per_execution", "weighted_metrics"]  # Keras 3's get_compile_config()
MODEL_DICT_KEYS = ["build_config", "class_name", "compile_config", "config", "module", "registered_name"]


def _seq():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])


def test_get_compile_config_and_compile_from_config():
    m = _seq()
    assert m.get_compile_config() == {}  # Keras: {} before compile
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    cc = m.get_compile_config()
    assert sorted(cc) == COMPILE_CONFIG_KEYS
    assert cc["loss"] == "mse" and cc["metrics"] == ["mae"]
    assert cc["optimizer"]["class_name"] == "Adam"
    assert cc["run_eagerly"] is False and cc["steps_per_execution"] == 1 and cc["jit_compile"] is False
    other = _seq()
    other.compile_from_config(cc)
    assert other.compiled and other.loss == "mse"
    assert type(other.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(np.asarray(other.optimizer.learning_rate)), 0.01, rtol=1e-6)
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    assert sorted(other.fit(x, y, verbose=0).history) == ["loss", "mae"]


@pytest.mark.parametrize("bad", [None, "mse", 3, ["adam"]])
def test_compile_from_config_refuses_what_is_not_a_config(bad):
    with pytest.raises((TypeError, ValueError), match="compile_from_config"):
        _seq().compile_from_config(bad)


def test_get_build_config_and_build_from_config():
    assert _seq().get_build_config() == {"input_shape": (None, 3)}
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    assert unbuilt.get_build_config() is None
    unbuilt.build_from_config({"input_shape": [None, 5]})
    assert unbuilt.built and unbuilt.layers[0].get_weights()[0].shape == (5, 2)
    i = keras.Input((3,))
    f = keras.Model(i, keras.layers.Dense(1)(i))
    assert f.get_build_config() == {"input_shape": None}  # a Functional's: its inputs define it
    f.build_from_config({"input_shape": None})
    with pytest.raises(TypeError, match="build_from_config"):
        unbuilt.build_from_config([None, 5])


def test_serialize_keras_object_of_a_model_is_kerass_dict():
    import json
    m = _seq()
    m.compile("adam", "mse")
    s = keras.saving.serialize_keras_object(m)
    assert sorted(s) == MODEL_DICT_KEYS
    assert s["class_name"] == "Sequential" and s["module"] == "keras"
    assert s["compile_config"]["loss"] == "mse"
    back = keras.saving.deserialize_keras_object(s)
    assert type(back) is keras.Sequential and back.built and back.compiled and back.loss == "mse"
    i = keras.Input((3,))
    f = keras.Model(i, keras.layers.Dense(1)(i))
    s = keras.saving.serialize_keras_object(f)
    assert s["class_name"] == "Functional" and s["registered_name"] == "Functional"
    assert s["compile_config"] == {}
    back = keras.saving.deserialize_keras_object(s)
    assert isinstance(back, keras.Model) and not back.compiled
    assert sorted(json.loads(_seq().to_json())) == MODEL_DICT_KEYS  # to_json: compile_config {} too


def test_dense_config_keys_are_keras_315s():
    assert list(keras.layers.Dense(2).get_config()) == [
        "name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
        "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "quantization_config"]
    cfg = keras.layers.Dense(2, activity_regularizer="l2").get_config()
    assert list(cfg)[3] == "activity_regularizer" and cfg["quantization_config"] is None
    assert keras.layers.Dense.from_config(cfg).get_config() == cfg


# ----------------------------------------------------------------------------- BackupAndRestore
def _backup_model():
    m = keras.Sequential([keras.Input((20,)), keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(1e-4), loss="mse")
    return m


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 4:
            raise RuntimeError("Interrupting!")


@pytest.mark.parametrize("data", ["arrays", "generator"])
def test_backup_and_restore_resumes_where_fit_was_interrupted(tmp_path, data):
    # Keras's docstring example: interrupted at (0-based) epoch 4, the second fit runs 4..9.
    import json
    import os
    backup = tmp_path / "backup"
    x, y = np.arange(100, dtype=np.float32).reshape(5, 20) / 100, np.zeros(5, np.float32)

    def fit(model, callbacks):
        if data == "arrays":
            return model.fit(x, y, epochs=10, batch_size=1, callbacks=callbacks, verbose=0)

        def gen():
            while True:
                for i in range(5):
                    yield x[i:i + 1], y[i:i + 1]
        return model.fit(gen(), steps_per_epoch=5, epochs=10, callbacks=callbacks, verbose=0)

    callback = keras.callbacks.BackupAndRestore(backup_dir=str(backup))
    model = _backup_model()
    with pytest.raises(RuntimeError, match="Interrupting"):
        fit(model, [callback, _Interrupt()])
    files = sorted(os.listdir(backup))
    assert files[1] == "training_metadata.json" and files[0].startswith("latest.weights.")
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 4, "batch": 0}
    saved = _backup_model()
    saved.load_weights(str(backup / files[0]))
    seen = {}

    class _Look(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["weights"] = self.model.get_weights()

    model2 = _backup_model()
    history = fit(model2, [callback, _Look()])
    assert history.epoch == [4, 5, 6, 7, 8, 9] and len(history.history["loss"]) == 6
    for a, b in zip(seen["weights"], saved.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not backup.exists()  # deleted once fit completes
    assert model2.fit(x, y, epochs=2, verbose=0).epoch == [0, 1]  # the next fit starts afresh


def test_backup_and_restore_save_freq_batches_and_keep(tmp_path):
    import json
    backup = tmp_path / "b"
    cb = keras.callbacks.BackupAndRestore(str(backup), save_freq=2, delete_checkpoint=False)
    m = _backup_model()
    m.fit(np.ones((5, 20), np.float32), np.zeros(5, np.float32), epochs=1, batch_size=1, callbacks=[cb], verbose=0)
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 0, "batch": 3}


def test_backup_and_restore_double_checkpoint_falls_back(tmp_path):
    backup = tmp_path / "b"
    x, y = np.ones((4, 20), np.float32), np.zeros(4, np.float32)
    cb = keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True)
    with pytest.raises(RuntimeError):
        _backup_model().fit(x, y, epochs=10, batch_size=2, callbacks=[cb, _Interrupt()], verbose=0)
    latest = next(p for p in backup.iterdir() if p.name.startswith("latest.weights.") and not p.name.endswith(".bkp"))
    assert (backup / (latest.name + ".bkp")).exists()
    latest.write_bytes(b"garbage")  # a backup cut short
    history = _backup_model().fit(x, y, epochs=10, batch_size=2, callbacks=[cb], verbose=0)
    assert history.epoch[0] == 3  # the previous backup: the end of epoch 2


@pytest.mark.parametrize("kwargs, err", [({"backup_dir": ""}, ValueError), ({"backup_dir": None}, ValueError),
                                         ({"backup_dir": 3}, TypeError),
                                         ({"backup_dir": "d", "save_freq": "batch"}, ValueError),
                                         ({"backup_dir": "d", "save_freq": 1.5}, ValueError),
                                         ({"backup_dir": "d", "save_freq": 0}, ValueError),
                                         ({"backup_dir": "d", "save_freq": True}, ValueError)])
def test_backup_and_restore_refuses_bad_arguments(kwargs, err):
    with pytest.raises(err, match="backup_dir|save_freq"):
        keras.callbacks.BackupAndRestore(**kwargs)


# ----------------------------------------------------------------------------- hostile inputs
def test_activation_change_refused_during_fit_leaves_the_layer_as_it_was():
    x, y = np.ones((16, 4), np.float32), np.zeros((16, 1), np.float32)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    m.compile("adam", "mse")
    errors = []

    class _Change(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                self.model.layers[0].activation = "tanh"
            except RuntimeError as e:
                errors.append(str(e))

    m.fit(x, y, epochs=1, verbose=0, callbacks=[_Change()])
    assert errors and "activation" in errors[0] and "fit" in errors[0]
    assert m.layers[0].activation is activations.relu
    kernel, bias = m.layers[0].get_weights()
    w2, b2 = m.layers[1].get_weights()
    z = -np.ones((2, 4), np.float32)
    np.testing.assert_allclose(m.predict(z, verbose=0), np.maximum(z @ kernel + bias, 0) @ w2 + b2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", ["abc", 5, (3,), (None, "a"), (None, 3.5), (None, True)])
def test_sequential_build_names_a_bad_input_shape(shape):
    m = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="input_shape"):
        m.build(shape)
    with pytest.raises(ValueError, match="input_shape"):
        m.build_from_config({"input_shape": shape})
    assert not m.built
    m.build((None, 4))  # the model is still usable
    assert m.built


def test_compile_from_config_refusal_says_what():
    m = _seq()
    with pytest.raises(ValueError, match="compile_from_config"):
        m.compile_from_config({"loss": "mse", "optimizer": {"class_name": "Nope", "config": {}}})
    assert not m.compiled


@pytest.mark.parametrize("config, message", [({}, "loss"), ({"loss": "nope", "optimizer": "adam"}, "nope")])
def test_compile_from_config_defers_loss_errors_to_fit_as_keras(config, message):
    # Keras 3.15.1: compile_from_config({}) and a config with an unknown loss compile (the
    # loss is checked when fit runs: "No loss to compute" / "Could not interpret loss identifier")
    m = _seq()
    m.compile_from_config(config)
    x = np.zeros((4,) + tuple(m.input_shape[1:]), dtype=np.float32)
    with pytest.raises(ValueError, match=message):
        m.fit(x, np.zeros((4,) + tuple(m.output_shape[1:]), dtype=np.float32), verbose=0)


def test_input_shape_argument_warns_as_keras():
    # the sequential-model guide: Keras 3 warns and still builds the model from the hint
    for kwargs in ({"input_shape": (4,)}, {"input_dim": 4}):
        with pytest.warns(UserWarning, match="Do not pass an `input_shape`/`input_dim` argument"):
            m = keras.Sequential([keras.layers.Dense(2, activation="relu", **kwargs)])
        assert m.built and m.layers[0].get_weights()[0].shape == (4, 2)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])


def test_model_repr_and_dtype_are_kerass():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="seq")
    assert repr(m) == "<Sequential name=seq, built=True>"
    assert repr(keras.Sequential(name="empty")) == "<Sequential name=empty, built=False>"
    i = keras.Input((3,))
    assert repr(keras.Model(i, keras.layers.Dense(2)(i), name="mnist")) == "<Functional name=mnist, built=True>"
    g = keras.Model(i, [keras.layers.Dense(2)(i), keras.layers.Dense(1)(i)], name="two")
    assert repr(g) == "<Functional name=two, built=True>"
    assert (m.dtype, m.compute_dtype, m.variable_dtype) == ("float32", "float32", "float32")
    assert m.dtype_policy.name == "float32"
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        b = keras.Sequential()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert (b.dtype, b.compute_dtype, b.dtype_policy.name) == ("float32", "bfloat16", "mixed_bfloat16")


def test_keras_tensor_repr_and_flags():
    i = keras.Input(shape=(784,), name="digits")
    assert repr(i) == "<KerasTensor shape=(None, 784), dtype=float32, sparse=False, ragged=False, name=digits>"
    assert i.sparse is False and i.ragged is False and i.ndim == 2


def test_automatic_model_names_follow_kerass_counter():
    # Keras's Sequential makes an inner Functional at each (re)build, which takes the next
    # automatic "functional" name: the names a later keras.Model gets (Keras 3.15's, in order).
    from ranvier import _naming
    _naming.reset()

    def name():
        i = keras.Input((3,))
        return keras.Model(i, keras.layers.Dense(1)(i)).name

    seen = [name()]
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    seen.append(name())
    m = keras.Sequential()
    m.add(keras.Input((3,)))
    seen.append(name())
    m.add(keras.layers.Dense(2))
    m.add(keras.layers.Dense(2))
    seen.append(name())
    m.pop()
    seen.append(name())
    m2 = keras.Sequential([keras.layers.Dense(2)])
    m2.predict(np.ones((1, 3)), verbose=0)
    m2.predict(np.ones((1, 3)), verbose=0)
    seen.append(name())
    m3 = keras.Sequential([keras.layers.Dense(2)])
    m3.build((None, 3))
    seen.append(name())
    keras.Sequential.from_config(m.get_config())
    seen.append(name())
    assert seen == ["functional", "functional_2", "functional_3", "functional_6", "functional_8",
                    "functional_10", "functional_12", "functional_14"]


# ----------------------------------------------------------------------------- summary
def _summary_lines(model, **kw):
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()), **kw)
    return lines


def test_summary_crops_long_words_with_an_ellipsis_as_keras():
    # Keras 3.15's rows (rich: words broken at spaces, a word wider than its column cropped)
    s = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, name="an_extremely_long_layer_name_that_does_not_fit_at_all_in_the_column")])
    assert _summary_lines(s)[4:6] == [
        "│ an_extremely_long_layer_name_that_d… │ (None, 2)                   │               8 │",
        "│ (Dense)                              │                             │                 │"]
    t = keras.Input(shape=(10,), name="title")
    g = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(100, 4)(t))
    tags = keras.Input((2,), name="tags")
    m = keras.Model([t, tags], [keras.layers.Dense(1)(g), keras.layers.Dense(1)(tags)])
    linked = [l.split("│")[4] for l in _summary_lines(m) if l.startswith("│") and "(Dense)" in l]
    assert " global_average_pooling1d[… " in linked  # "global_average_pooling1d[0][0]" cropped


def test_summary_show_trainable_column():
    # Keras 3.15 (line length 88 + 12, positions x 0.9 and a centred "Trainable" column)
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)], name="inner")
    m = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(4), keras.layers.Dropout(0.1),
                          keras.layers.BatchNormalization()])
    m.layers[1].trainable = False
    lines = _summary_lines(m, show_trainable=True)
    assert lines[2] == "┃ Layer (type)                          ┃ Output Shape                  ┃        Param # ┃ Traina… ┃"
    rows = [l for l in lines if l.startswith("│")]
    assert [r[-11:] for r in rows[:4]] == ["│    Y    │", "│    N    │", "│    -    │", "│    Y    │"]
    expanded = [l for l in _summary_lines(m, show_trainable=True, expand_nested=True) if l.startswith("│")]
    assert expanded[1].startswith("│    └ dense") and expanded[1].endswith("│    Y    │")
    i = keras.Input((3,))
    g = keras.Model(i, keras.layers.add([keras.layers.Dense(2)(i), keras.layers.Dense(2)(i)]))
    glines = _summary_lines(g, show_trainable=True)
    assert glines[2].endswith("┃ Trainable ┃") and len(glines[2]) == 120
    assert [l[-13:] for l in glines if l.startswith("│") and "(" in l.split("│")[1]] == [
        "│     -     │", "│     Y     │", "│     Y     │", "│     -     │"]


def test_trainable_false_on_a_model_reaches_nested_models():
    # the transfer-learning guide: model.trainable = False freezes everything, recursively
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(3, activation="relu")])
    model = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(3, activation="sigmoid")])
    model.trainable = False
    assert inner.trainable is False and inner.layers[0].trainable is False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.trainable = True
    assert inner.trainable is True and inner.layers[0].trainable is True
    base = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    i = keras.Input((3,))
    for m in (keras.Model(i, keras.layers.Dense(1)(base(i))),
              keras.Model(i, keras.layers.add([base(i), keras.layers.Dense(4)(i)]))):
        m.trainable = False
        assert base.trainable is False and base.layers[0].trainable is False
        m.trainable = True
        assert base.trainable is True


def test_summary_layer_range():
    m = keras.Sequential([keras.Input((3,))] + [keras.layers.Dense(3, name=n) for n in "abcd"])
    rows = [l for l in _summary_lines(m, layer_range=["b", "c"]) if l.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["b (Dense)", "c (Dense)"]
    rows = [l for l in _summary_lines(m, layer_range=["c", "b"]) if l.startswith("│")]  # either order
    assert [r.split("│")[1].strip() for r in rows] == ["b (Dense)", "c (Dense)"]
    assert "Total params: 48" in "\n".join(_summary_lines(m, layer_range=["b", "c"]))  # the whole model's
    with pytest.raises(ValueError, match="layer_range must be a list or tuple of length 2"):
        m.summary(layer_range=["b"])
    with pytest.raises(ValueError, match="Passed layer_names do not match"):
        m.summary(layer_range=["zz", "c"])
    with pytest.raises(ValueError, match="string type only"):
        m.summary(layer_range=["b", 3])
    i = keras.Input((3,), name="inp")
    f = keras.Model(i, keras.layers.Dense(2, name="z1")(keras.layers.Dense(2, name="y1")(i)))
    rows = [l for l in _summary_lines(f, layer_range=["inp", "y1"]) if l.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["inp (InputLayer)", "y1 (Dense)"]


def test_history_keys_are_sorted_as_kerass_epoch_logs():
    # Keras's CallbackList hands on_epoch_end a new dict with sorted keys: val_ keys
    # interleave with the training ones ('val_weighted_accuracy' before 'weighted_accuracy')
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 4), dtype=np.float32), rng.integers(0, 3, 40)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    seen = []

    class _Keys(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(list(logs))
            logs["extra"] = 1.0  # reaches the History, as in Keras

    h = m.fit(x, y, sample_weight=np.ones(40), validation_split=0.25, epochs=1, verbose=0, callbacks=[_Keys()])
    expected = ["accuracy", "loss", "val_accuracy", "val_loss", "val_weighted_accuracy", "weighted_accuracy"]
    assert seen == [expected]
    assert list(h.history) == expected + ["extra"]


def test_models_save_model_and_load_model_signatures(tmp_path):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    keras.models.save_model(m, tmp_path / "m.safetensors")
    back = keras.models.load_model(tmp_path / "m.safetensors", compile=False, safe_mode=True)
    np.testing.assert_array_equal(back.get_weights()[0], m.get_weights()[0])
    with pytest.raises(FileExistsError):
        keras.models.save_model(m, tmp_path / "m.safetensors", overwrite=False)


def test_sequential_config_keeps_the_input_layers_name():
    # Keras 3.15: the config's InputLayer is the model's: a named Input keeps its name; a
    # model built without one makes its InputLayer once, at its build (the next automatic
    # "input_layer" name); from_config keeps the name it reads
    keras.backend.clear_session()

    def first(m):
        return m.get_config()["layers"][0]["config"]["name"]

    assert first(keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(2)])) == "x"
    assert first(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])) == "input_layer"
    m = keras.Sequential([keras.layers.Dense(2)])
    assert [e["class_name"] for e in m.get_config()["layers"]] == ["Dense"]
    m.build((None, 3))
    assert first(m) == "input_layer_1"
    m.build((None, 3))  # built again: the same InputLayer
    assert first(m) == "input_layer_1"
    assert first(keras.Sequential.from_config(m.get_config())) == "input_layer_1"
    with pytest.warns(UserWarning):
        assert first(keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])) == "input_layer_2"
    assert m.inputs[0].name == "input_layer_1"


def test_top_level_base_classes_and_version():
    assert isinstance(keras.layers.Dense(2), keras.Layer)
    assert isinstance(keras.losses.MeanSquaredError(), keras.Loss)
    assert isinstance(keras.metrics.AUC(), keras.Metric)
    assert isinstance(keras.optimizers.Adam(), keras.Optimizer)
    assert isinstance(keras.initializers.GlorotUniform(), keras.Initializer)
    assert isinstance(keras.regularizers.L2(), keras.Regularizer)
    d = keras.layers.Dense(2)
    d.build((None, 3))
    assert isinstance(d.kernel, keras.Variable)
    assert keras.version() == keras.__version__


def test_utils_pack_unpack_and_source_inputs():
    u = keras.utils
    assert u.pack_x_y_sample_weight(1, 2) == (1, 2) and u.pack_x_y_sample_weight(1) == 1
    assert u.pack_x_y_sample_weight((1, 2)) == ((1, 2),) and u.pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    assert u.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert u.unpack_x_y_sample_weight((1,)) == (1, None, None)
    assert u.unpack_x_y_sample_weight([1, 2, 3]) == (1, 2, 3)
    assert u.unpack_x_y_sample_weight(5) == (5, None, None)
    with pytest.raises(ValueError, match="Data is expected to be in format"):
        u.unpack_x_y_sample_weight((1, 2, 3, 4))
    a, b = keras.Input((3,), name="src_a"), keras.Input((2,), name="src_b")
    out = keras.layers.Dense(1)(keras.layers.concatenate([a, keras.layers.Dense(3)(b)]))
    assert [t.name for t in u.get_source_inputs(out)] == ["src_a", "src_b"]
    assert u.get_source_inputs(a)[0] is a
    assert u.is_keras_tensor(out) and not u.is_keras_tensor(np.ones(2))
    with pytest.raises(ValueError, match="get_source_inputs"):
        u.get_source_inputs(np.ones(2))


def test_save_zipped_false_writes_kerass_folder(tmp_path):
    pytest.importorskip("h5py")
    import os
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu"), keras.layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32), verbose=0)
    with pytest.raises(ValueError, match="should not end in `.keras`"):
        m.save(tmp_path / "m.keras", zipped=False)
    folder = tmp_path / "unzipped"
    m.save(folder, zipped=False)
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
    back = keras.models.load_model(folder)
    assert back.compiled
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    m.save(str(folder).encode(), zipped=False)  # again (overwrite), a bytes path
    with pytest.raises(FileExistsError):
        m.save(folder, zipped=False, overwrite=False)
    with pytest.raises(TypeError, match="zipped"):
        m.save(tmp_path / "z", zipped="no")
