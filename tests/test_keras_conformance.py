"""Keras 3 facts found by running the same programs under Keras 3.15.1 (TensorFlow
backend) and ranvier, written down here as plain expected values (no Keras import)."""
import numpy as np
import pytest

import ranvier as keras


def _data(n=20, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d), dtype=np.float32), rng.random((n, k), dtype=np.float32)


# ------------------------------------------------------------------ optimizer.variables
def test_optimizer_variables_of_a_sequential_have_keras_names_shapes_and_order():
    # Keras 3.15.1: Sequential([Input(3), Dense(4, "hid"), BatchNormalization, Dense(2, "out")])
    # + Adam after one fit: 14 variables; slots are named after the variable's path
    # ("sequential/hid/kernel" -> "sequential_hid_kernel_momentum"), interleaved per variable
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, name="hid"),
                              keras.layers.BatchNormalization(name="bn"), keras.layers.Dense(2, name="out")],
                             name="seq")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, batch_size=10, verbose=0)
    variables = model.optimizer.variables
    paths = ["seq_hid_kernel", "seq_hid_bias", "seq_bn_gamma", "seq_bn_beta", "seq_out_kernel", "seq_out_bias"]
    assert [v.name for v in variables] == ["iteration", "learning_rate"] + [
        f"{p}_{s}" for p in paths for s in ("momentum", "velocity")]
    assert [v.shape for v in variables] == [(), (), (3, 4), (3, 4), (4,), (4,), (4,), (4,), (4,), (4,),
                                            (4, 2), (4, 2), (2,), (2,)]
    assert int(variables[0]) == 2 and variables[0].dtype == np.int64
    assert float(variables[1]) == pytest.approx(0.001) and variables[1].dtype == np.float32
    # the slots are the optimizer's live state: after another step they hold the new values
    before = variables[2].numpy()
    model.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert not np.array_equal(before, np.asarray(variables[2]))
    assert len(model.optimizer.variables) == 14


@pytest.mark.parametrize("opt, slots", [
    ("sgd", []),
    (lambda: keras.optimizers.SGD(momentum=0.9), [["momentum"]]),
    (lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
     [["velocity"], ["momentum"], ["average_gradient"]]),
    (lambda: keras.optimizers.Adam(amsgrad=True), [["momentum", "velocity"], ["velocity_hat"]]),
    ("ftrl", [["accumulator", "linear"]]),
])
def test_optimizer_variables_group_slots_as_keras(opt, slots):
    # Keras: one group per add_optimizer_variables call, each interleaved per variable
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, name="a"),
                              keras.layers.Dense(2, name="b")], name="s")
    model.compile(optimizer=opt if isinstance(opt, str) else opt(), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    paths = [("s_a_kernel", (3, 4)), ("s_a_bias", (4,)), ("s_b_kernel", (4, 2)), ("s_b_bias", (2,))]
    expected = [("iteration", ()), ("learning_rate", ())] + [
        (f"{p}_{s}", shape) for group in slots for p, shape in paths for s in group]
    assert [(v.name, v.shape) for v in model.optimizer.variables] == expected


def test_optimizer_variables_nadam_scalar_and_schedule():
    # Nadam adds its momentum product last (unnamed in Keras: "variable"); a schedule has
    # no learning_rate variable
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer="nadam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    names = [v.name for v in model.optimizer.variables]
    assert len(names) == 2 + 4 + 1 and names[-1] == "variable" and model.optimizer.variables[-1].shape == ()
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=keras.optimizers.Adam(sched), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert [v.name for v in model.optimizer.variables][:2] != ["iteration", "learning_rate"]
    assert len(model.optimizer.variables) == 1 + 4


def test_optimizer_variables_of_a_functional_follow_model_layers_order():
    # Keras: a graph's trainable variables go by model.layers (topological: d2 before d1
    # here, as d2's input comes first in the Concatenate); paths have no model scope
    x, y = _data()
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Dense(4, name="d1")(a)
    g = keras.layers.Dense(4, name="d2")(b)
    out = keras.layers.Dense(1, name="o")(keras.layers.Concatenate()([g, h]))
    model = keras.Model([a, b], out)
    model.compile("adam", "mse")
    model.fit([x, y], y[:, :1], verbose=0)
    got = [(v.name, v.shape) for v in model.optimizer.variables]
    assert got == [("iteration", ()), ("learning_rate", ()),
                   ("d2_kernel_momentum", (2, 4)), ("d2_kernel_velocity", (2, 4)),
                   ("d2_bias_momentum", (4,)), ("d2_bias_velocity", (4,)),
                   ("d1_kernel_momentum", (3, 4)), ("d1_kernel_velocity", (3, 4)),
                   ("d1_bias_momentum", (4,)), ("d1_bias_velocity", (4,)),
                   ("o_kernel_momentum", (8, 1)), ("o_kernel_velocity", (8, 1)),
                   ("o_bias_momentum", (1,)), ("o_bias_velocity", (1,))]


def test_optimizer_variables_survive_a_keras_archive_round_trip(tmp_path):
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    mine, theirs = model.optimizer.variables, loaded.optimizer.variables
    assert [v.shape for v in mine] == [v.shape for v in theirs] and len(mine) == 6
    for a, b in zip(mine, theirs):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------ metric names and configs
def test_function_metric_names_are_snake_cased_as_keras():
    # Keras names a function metric to_snake_case(fn.__name__): a lambda logs as "lambda"
    x, y = _data(k=1)

    def meanPred(y_true, y_pred):  # noqa: N802 - the name is what is tested
        return np.mean(y_pred, axis=-1)

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[lambda yt, yp: np.mean(yp, axis=-1), meanPred])
    history = model.fit(x, y, epochs=1, verbose=0)
    assert list(history.history) == ["lambda", "loss", "mean_pred"]


def test_sparse_top_k_config_has_no_from_sorted_ids_by_default():
    # Keras 3.15.1 writes from_sorted_ids only when it is True
    m = keras.metrics.SparseTopKCategoricalAccuracy(k=3)
    assert m.get_config() == {"name": "sparse_top_k_categorical_accuracy", "dtype": "float32", "k": 3}
    assert keras.metrics.SparseTopKCategoricalAccuracy.from_config(m.get_config()).k == 3


def test_sequential_config_build_input_shape_is_a_tuple():
    # Keras 3.15.1: Sequential.get_config()["build_input_shape"] == (None, 3) (a tuple;
    # JSON turns it into a list)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    config = model.get_config()
    assert config["build_input_shape"] == (None, 3)
    assert keras.Sequential.from_config(config).get_config()["build_input_shape"] == (None, 3)
    assert keras.Sequential([keras.layers.Dense(2)]).get_config()["build_input_shape"] is None


# ------------------------------------------------------------------ when compile's errors surface
@pytest.mark.parametrize("kwargs", [
    dict(loss="bogus"),
    dict(loss=["mse", "mse"]),
    dict(loss="mse", loss_weights=[1.0, 2.0]),
    dict(loss=None),
])
def test_compile_defers_loss_errors_to_the_first_fit_as_keras(kwargs):
    # Keras 3.15.1: compile(...) returns; fit, evaluate, train_on_batch and test_on_batch
    # raise the ValueError (the loss is checked against the model's outputs there)
    x, y = _data(k=2)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", **kwargs)
    assert model.optimizer is not None and model.optimizer.name.startswith("adam")
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0),
                 lambda: model.train_on_batch(x, y), lambda: model.test_on_batch(x, y)):
        with pytest.raises(ValueError):
            call()
    assert model.predict(x, verbose=0).shape == (20, 2)  # predict needs no loss
    model.compile(optimizer="adam", loss="mse")
    assert np.isfinite(model.evaluate(x, y, verbose=0))


def test_compile_raises_at_once_for_a_bad_optimizer_or_metrics_type():
    # Keras 3.15.1: an unknown optimizer and a metrics argument that is not a list fail in
    # compile itself (both ValueError)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError):
        model.compile(optimizer="bogus", loss="mse")
    with pytest.raises(ValueError):
        model.compile(optimizer="adam", loss="mse", metrics="mae")


# ------------------------------------------------------------------ data Keras cannot read
@pytest.mark.parametrize("bad", [{"a": np.zeros((4, 3))}, "data.csv", np.array([object()] * 4)])
def test_unreadable_x_is_a_value_error_as_in_keras(bad):
    # Keras 3.15.1 raises ValueError ("Unrecognized data type" / a structure mismatch);
    # ranvier's message names the argument and is also a TypeError
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    for call in (lambda: model.fit(bad, np.zeros((4, 1)), verbose=0), lambda: model.predict(bad, verbose=0)):
        with pytest.raises(ValueError):
            call()
        with pytest.raises(TypeError):
            call()


def test_registered_name_is_not_taken_from_a_collected_object():
    # the registry held names by id(): once a replaced registration was collected, a new
    # function could reuse its id and be reported under the old name
    import gc
    for _ in range(200):
        keras.saving.register_keras_serializable(package="spec4", name="tmp")(lambda a, b: a)
    gc.collect()
    fresh = [(lambda a, b: b) for _ in range(200)]
    assert all(keras.saving.get_registered_name(f) == "<lambda>" for f in fresh)


# ------------------------------------------------------------------ to_json / model_from_json
def test_to_json_carries_the_compile_config_and_model_from_json_compiles():
    # Keras 3.15.1: to_json() has "compile_config" ({} before compile);
    # model_from_json of a compiled model's JSON returns a compiled model
    import json
    x, y = _data(k=1)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    assert json.loads(model.to_json())["compile_config"] == {}
    assert not keras.models.model_from_json(model.to_json()).compiled
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    cc = json.loads(model.to_json())["compile_config"]
    assert cc["loss"] == "mse" and cc["metrics"] == ["mae"] and cc["optimizer"]["class_name"] == "Adam"
    assert cc["loss_weights"] is None and cc["weighted_metrics"] is None
    again = keras.models.model_from_json(model.to_json())
    assert again.compiled and type(again.optimizer).__name__ == "Adam"
    assert sorted(again.evaluate(x, y, verbose=0, return_dict=True)) == ["loss", "mae"]
    model.compile(optimizer="sgd", loss="mse")
    assert json.loads(model.to_json())["compile_config"]["metrics"] is None


def test_keras_archive_of_an_uncompiled_model_has_an_empty_compile_config(tmp_path):
    import json
    import zipfile
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert json.loads(z.read("config.json"))["compile_config"] == {}
    assert not keras.models.load_model(tmp_path / "m.keras").compiled


# ------------------------------------------------------------------ model/layer surface
def test_model_build_and_compile_config_protocol_and_repr():
    # Keras 3.15.1 values
    unbuilt = keras.Sequential([keras.layers.Dense(2)], name="u")
    assert unbuilt.get_build_config() is None and repr(unbuilt) == "<Sequential name=u, built=False>"
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)], name="s")
    assert model.get_build_config() == {"input_shape": (None, 3)}
    assert repr(model) == "<Sequential name=s, built=True>"
    assert model.get_compile_config() == {}
    model.compile(optimizer="adam", loss="mse")
    cc = model.get_compile_config()
    assert cc["loss"] == "mse" and cc["metrics"] is None and cc["optimizer"]["class_name"] == "Adam"
    other = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    other.compile_from_config(cc)
    assert other.compiled and type(other.optimizer).__name__ == "Adam" and other.loss == "mse"
    fresh = keras.Sequential([keras.layers.Dense(2)])
    fresh.build_from_config({"input_shape": (None, 3)})
    assert fresh.built and fresh.count_params() == 8
    i = keras.Input((3,))
    functional = keras.Model(i, keras.layers.Dense(2)(i), name="f")
    assert functional.get_build_config() == {"input_shape": None}
    assert repr(functional) == "<Functional name=f, built=True>"


def test_model_compute_output_shape():
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    assert model.compute_output_shape((5, 3)) == (5, 2)
    assert model.compute_output_shape((None, 3)) == (None, 2)
    with pytest.raises(ValueError):
        model.compute_output_shape((None, 4))
    i = keras.Input((3,))
    functional = keras.Model(i, keras.layers.Dense(2)(i))
    assert functional.compute_output_shape((5, 3)) == (5, 2)


def test_layer_activation_attribute_is_the_function_and_build_config_a_tuple():
    # Keras: Dense(...).activation is activations.get(identifier): linear for None
    assert keras.layers.Dense(2).activation.__name__ == "linear"
    assert keras.layers.Dense(2, activation="swish").activation.__name__ == "silu"
    assert keras.layers.Activation("relu").activation is keras.activations.relu
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(keras.layers.Dense(2, activation="relu").activation(x), [[0.0, 2.0]])
    dense = keras.layers.Dense(3)
    dense.build((None, 4))
    assert dense.get_build_config() == {"input_shape": (None, 4)}


# ------------------------------------------------------------------ BackupAndRestore
def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    # Keras 3.15.1: latest.weights.h5 + training_metadata.json ({"epoch": 2, "batch": 0}
    # after two epochs); a new fit with the same folder starts at epoch 2 with the saved
    # weights and optimizer state; the folder is deleted when training ends
    import json
    import os
    x, y = _data(n=40, k=1)
    backup = str(tmp_path / "backup")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    seen = {}

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = [w.copy() for w in self.model.get_weights()]

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=5, batch_size=20, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), Interrupt()])
    assert sorted(os.listdir(backup)) == ["latest.weights.h5", "training_metadata.json"]
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert json.load(f) == {"epoch": 2, "batch": 0}
    assert model.optimizer.iterations == 4

    again = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    again.compile("adam", "mse")
    start = {}

    class Check(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if not start:
                start["epoch"] = epoch
                start["weights"] = [w.copy() for w in self.model.get_weights()]
                start["iterations"] = self.model.optimizer.iterations

    history = again.fit(x, y, epochs=5, batch_size=20, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup), Check()])
    assert history.epoch == [2, 3, 4] and start["epoch"] == 2 and start["iterations"] == 4
    for a, b in zip(start["weights"], seen[1]):
        np.testing.assert_array_equal(a, b)
    assert not os.path.exists(backup)  # delete_checkpoint=True


def test_backup_and_restore_arguments():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore("b", save_freq="batch")
    cb = keras.callbacks.BackupAndRestore("b")
    assert (cb.save_freq, cb.double_checkpoint, cb.delete_checkpoint) == ("epoch", False, True)


def test_load_weights_restores_a_built_optimizer_state(tmp_path):
    # Keras: load_weights of a .weights.h5 holding optimizer variables restores them into
    # a built optimizer (iterations continue)
    x, y = _data(k=1)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=3, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    other.compile("adam", "mse")
    other.fit(x, y, epochs=1, verbose=0)
    other.load_weights(tmp_path / "w.weights.h5")
    assert other.optimizer.iterations == model.optimizer.iterations == 3
    for a, b in zip(other.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_sequential_add_and_pop_errors_are_keras_types():
    # Keras 3.15.1: add(3) -> ValueError, pop() of an empty model -> IndexError
    with pytest.raises(ValueError):
        keras.Sequential().add(3)
    with pytest.raises(TypeError):  # ranvier's own type as well
        keras.Sequential().add(3)
    with pytest.raises(IndexError):
        keras.Sequential().pop()
    with pytest.raises(ValueError):
        keras.Sequential().pop()


def test_model_loss_tracker_is_a_mean():
    # Keras 3: model.metrics[0] is a Mean named "loss" (its running epoch loss)
    x, y = _data(k=1)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(x, y, verbose=0)
    tracker = model.metrics[0]
    assert isinstance(tracker, keras.metrics.Mean) and tracker.name == "loss"
    loss = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert tracker.result() == pytest.approx(loss)  # the last evaluate's running loss


# ------------------------------------------------------------------ top-level names, Variable
def test_top_level_keras_names():
    assert keras.Layer is keras.layers.Layer and keras.Metric is keras.metrics.Metric
    assert keras.Loss is keras.losses.Loss and keras.Optimizer is keras.optimizers.Optimizer
    assert keras.Initializer is keras.initializers.Initializer
    assert keras.Regularizer is keras.regularizers.Regularizer
    assert keras.version() == keras.__version__


def test_variable_with_a_standalone_optimizer():
    # Keras 3.15.1: Variable([1., 2.]) is float32 named "variable"; an int is int32; an
    # array keeps its dtype; Adam's slots are named after the variable ("k_momentum")
    v = keras.Variable([1.0, 2.0])
    assert v.dtype == "float32" and v.shape == (2,) and v.trainable and v.name.startswith("variable")
    assert keras.Variable(3).dtype == "int32" and keras.Variable(np.zeros(3)).dtype == "float64"
    assert keras.Variable("zeros", shape=(2,)).numpy().tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="shape"):
        keras.Variable("zeros")
    sgd = keras.optimizers.SGD(0.1)
    sgd.apply_gradients([(np.array([1.0, 1.0], dtype=np.float32), v)])
    np.testing.assert_allclose(v.numpy(), [0.9, 1.9], rtol=1e-6)
    k = keras.Variable(np.ones((2, 2), dtype=np.float32), name="k")
    adam = keras.optimizers.Adam(0.1)
    adam.apply_gradients([(np.ones((2, 2), dtype=np.float32), k)])
    np.testing.assert_allclose(k.numpy(), np.full((2, 2), 0.9), rtol=1e-5)  # Adam's first step: lr * sign(g)
    assert [x.name for x in adam.variables] == ["iteration", "learning_rate", "k_momentum", "k_velocity"]
    v.assign([5.0, 6.0])
    v.assign_add([1.0, 1.0])
    v.assign_sub(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(v.numpy(), [5.5, 6.5])
    np.testing.assert_array_equal(v + 1, [6.5, 7.5])
    with pytest.raises(ValueError, match="shape"):
        v.assign([1.0, 2.0, 3.0])


def test_model_weights_are_variables():
    # Keras: model.weights are keras.Variable objects (assign_add works on them too)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, name="d")], name="s")
    kernel = model.weights[0]
    assert isinstance(kernel, keras.Variable) and kernel.path == "s/d/kernel"
    kernel.assign(np.ones((3, 2)))
    kernel.assign_add(np.ones((3, 2)))
    np.testing.assert_array_equal(model.get_weights()[0], np.full((3, 2), 2.0))


# ------------------------------------------------------------------ summary(show_trainable, layer_range)
def _summary_lines(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    return out[0].splitlines()


def test_summary_show_trainable_and_layer_range_as_keras():
    # Keras 3.15.1 (rich), text without colours: a "Trainable" column (header cut to
    # "Traina…"), Y/N for layers with weights, "-" without; line length 88 + 12
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dropout(0.1, name="dr"),
                              keras.layers.Dense(2, name="b")], name="s")
    model.layers[0].trainable = False
    lines = _summary_lines(model, show_trainable=True)
    assert lines[1] == "┏" + "━" * 39 + "┳" + "━" * 31 + "┳" + "━" * 16 + "┳" + "━" * 9 + "┓"
    assert lines[2] == "┃ Layer (type)" + " " * 26 + "┃ Output Shape" + " " * 18 + "┃        Param # ┃ Traina… ┃"
    assert lines[4] == "│ a (Dense)" + " " * 29 + "│ (None, 4)" + " " * 21 + "│" + " " * 13 + "16 │    N    │"
    assert lines[6].endswith("│    -    │") and lines[8].endswith("│    Y    │")
    names = [l.split()[1] for l in _summary_lines(model, layer_range=["dr", "b"]) if l.startswith("│ ")]
    assert names == ["dr", "b"]
    names = [l.split()[1] for l in _summary_lines(model, layer_range=["b", "a"]) if l.startswith("│ ")]
    assert names == ["a", "dr", "b"]  # reversed bounds: Keras takes the span between them
    with pytest.raises(ValueError, match="do not match"):
        model.summary(layer_range=["zz", "b"], print_fn=lambda s: None)
    with pytest.raises(ValueError, match="length 2"):
        model.summary(layer_range=["b"], print_fn=lambda s: None)


def test_sequential_config_layout_is_keras_3_15():
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, name="d")], name="s")
    config = model.get_config()
    assert config["dtype"] == {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                               "registered_name": None}
    entry = config["layers"][0]
    assert entry["config"]["name"].startswith("input_layer")  # the Input's own (session-unique) name
    assert entry == {
        "module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
        "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "ragged": False,
                   "name": entry["config"]["name"], "optional": False}}
    assert keras.Sequential.from_config(config).get_config() == config


def test_serialize_modules_are_keras_modules():
    # Keras 3.15.1 writes "keras.<kind>" for the built-in metrics, optimizers and schedules
    assert keras.metrics.serialize(keras.metrics.AUC())["module"] == "keras.metrics"
    assert keras.optimizers.serialize(keras.optimizers.SGD())["module"] == "keras.optimizers"
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert keras.optimizers.schedules.serialize(sched)["module"] == "keras.optimizers.schedules"
    assert type(keras.optimizers.deserialize(keras.optimizers.serialize(keras.optimizers.Adam(0.01)))).__name__ == "Adam"
    assert keras.metrics.deserialize(keras.metrics.serialize(keras.metrics.AUC(name="a"))).name == "a"
