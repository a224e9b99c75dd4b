"""Round 4 attacks on the mixed-precision work (LossScaleOptimizer, mixed_float16) and
the Keras-guide work (BackupAndRestore, save(zipped=False), the activation setter,
summary, compile/build configs). The expected facts were read off Keras 3.15 and are
written here (no test imports keras)."""
from __future__ import annotations

import copy
import json
import os
import pickle

import numpy as np
import pytest

import ranvier
from ranvier import layers

LSO = ranvier.optimizers.LossScaleOptimizer


def _data(n=32):
    x = np.random.RandomState(0).randn(n, 4).astype("float32")
    return x, x.sum(1, keepdims=True)


def _model(units=1, policy="float32", optimizer="sgd"):
    ranvier.mixed_precision.set_global_policy(policy)
    try:
        m = ranvier.Sequential([ranvier.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(units)])
    finally:
        ranvier.mixed_precision.set_global_policy("float32")
    m.compile(optimizer=optimizer, loss="mse")
    return m


# ---- optimizers: copy, deepcopy and pickle (Keras's optimizers, LossScaleOptimizer included, are) ----
@pytest.mark.parametrize("copier", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_a_built_optimizer_copies_with_its_state(copier, name):
    opt = getattr(ranvier.optimizers, name)(0.1)
    w = [np.ones(3, np.float32), np.full((2, 2), 2.0, np.float32)]
    grads = [np.full(3, 0.5, np.float32), np.full((2, 2), -1.0, np.float32)]
    opt.apply(grads, w)
    twin = copier(opt)
    assert twin.iterations == opt.iterations == 1
    assert twin.get_config() == opt.get_config()
    for a, b in zip(opt.get_state()["slots"].values(), twin.get_state()["slots"].values()):
        np.testing.assert_array_equal(a, b)
    # the copy steps its own copies of the variables, exactly as the original steps its own
    w_twin = [np.array(v, copy=True) for v in w]
    twin_vars = twin.__dict__["_vars"]
    for v, c in zip(twin_vars, w_twin):
        v[...] = c
    opt.apply(grads)
    twin.apply(grads)
    for a, b in zip(w, twin_vars):
        np.testing.assert_array_equal(a, b)
    assert twin_vars[0] is not w[0]


@pytest.mark.parametrize("copier", [copy.deepcopy, copy.copy, lambda o: pickle.loads(pickle.dumps(o))])
def test_a_loss_scale_optimizer_copies_with_its_scale(copier):
    opt = LSO(ranvier.optimizers.SGD(0.1), initial_scale=8.0, dynamic_growth_steps=3)
    opt.dynamic_scale.assign(64.0)
    opt.step_counter.assign(2)
    twin = copier(opt)
    assert float(twin.dynamic_scale) == 64.0 and int(twin.step_counter) == 2
    assert twin.get_config() == opt.get_config()
    if copier is not copy.copy:
        twin.dynamic_scale.assign(4.0)
        assert float(opt.dynamic_scale) == 64.0  # the copy's scale is its own


def test_a_model_with_a_loss_scale_optimizer_pickles_and_trains_on():
    x, y = _data()
    m = _model(optimizer=LSO(ranvier.optimizers.Adam(0.01)))
    m.fit(x, y, epochs=1, verbose=0)
    m.optimizer.dynamic_scale.assign(256.0)
    m2 = pickle.loads(pickle.dumps(m))
    assert isinstance(m2.optimizer, LSO) and float(m2.optimizer.dynamic_scale) == 256.0
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    m2.fit(x, y, epochs=1, verbose=0)
    assert m2.optimizer.iterations == m.optimizer.iterations + 1


# ---- LossScaleOptimizer arguments ----
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 0, -1.0, 1e39, 1e-46, True,
                                   False, "2", None, [2.0]])
def test_initial_scale_must_be_a_positive_finite_float32(value):
    with pytest.raises(ValueError, match="initial_scale"):
        LSO(ranvier.optimizers.SGD(), initial_scale=value)


@pytest.mark.parametrize("value", [0, -1, 1.5, 2.0, True, "3", None, float("inf"), 2 ** 70])
def test_dynamic_growth_steps_must_be_an_integer_of_one_or_more(value):
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        LSO(ranvier.optimizers.SGD(), dynamic_growth_steps=value)


@pytest.mark.parametrize("inner", ["sgd", None, 0.1])
def test_the_inner_optimizer_must_be_an_optimizer(inner):
    with pytest.raises(TypeError, match="inner_optimizer"):
        LSO(inner)


def test_a_loss_scale_optimizer_does_not_wrap_another():
    with pytest.raises(ValueError, match="inner_optimizer"):
        LSO(LSO(ranvier.optimizers.SGD()))


# ---- BackupAndRestore ----
B = ranvier.callbacks.BackupAndRestore


class _Stop(Exception):
    pass


class _StopAt(ranvier.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise _Stop("stopped")


def test_save_freq_false_is_accepted_as_in_keras(tmp_path):
    # Keras documents save_freq=False (no periodic backup, for preemption checkpointing)
    cb = B(str(tmp_path / "b"), save_freq=False, delete_checkpoint=False)
    x, y = _data()
    batches = ranvier.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: None)  # batch hooks run
    hist = _model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb, batches])
    assert hist.epoch == [0, 1]
    assert not (tmp_path / "b").exists()  # nothing backed up, at epoch or batch ends


@pytest.mark.parametrize("value", [0, -1, 1.5, "batch", True, None])
def test_bad_save_freq_is_refused_with_keras_message(tmp_path, value):
    with pytest.raises(ValueError, match="save_freq"):
        B(str(tmp_path), save_freq=value)


def test_a_backup_dir_that_is_a_file_is_refused_before_training(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    m = _model()
    w0 = m.get_weights()
    x, y = _data()
    with pytest.raises(NotADirectoryError, match="backup_dir"):
        m.fit(x, y, epochs=2, verbose=0, callbacks=[B(str(f))])
    for a, b in zip(w0, m.get_weights()):  # refused before the first epoch
        np.testing.assert_array_equal(a, b)
    with pytest.raises(NotADirectoryError, match="backup_dir"):
        m.fit(x, y, epochs=2, verbose=0, callbacks=[B(str(f / "sub"))])


def test_an_interrupted_fit_resumes_from_the_backed_up_epoch(tmp_path):
    x, y = _data()
    d = str(tmp_path / "b")
    with pytest.raises(_Stop):
        _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d), _StopAt(1)])
    with open(os.path.join(d, "training_metadata.json")) as f:
        assert json.load(f) == {"epoch": 2, "batch": 0}
    assert not [n for n in os.listdir(d) if ".tmp" in n]  # the atomic writer leaves nothing behind
    assert _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d)]).epoch == [2, 3]
    assert not os.path.exists(d)  # deleted when fit completes


@pytest.mark.parametrize("content", ["", "{", "\xff\xfe", "[]", '{"epoch": "2"}', '{"epoch": -1}',
                                     '{"epoch": 2.0}', '{"epoch": true}'])
def test_a_corrupted_backup_metadata_file_is_a_clear_value_error(tmp_path, content):
    x, y = _data()
    d = str(tmp_path / "b")
    with pytest.raises(_Stop):
        _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d), _StopAt(0)])
    with open(os.path.join(d, "training_metadata.json"), "w", encoding="latin-1") as f:
        f.write(content)
    with pytest.raises(ValueError, match="training_metadata.json"):
        _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d)])


def test_a_truncated_backup_is_an_os_error_naming_the_backup_dir(tmp_path):
    x, y = _data()
    d = str(tmp_path / "b")
    with pytest.raises(_Stop):
        _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d), _StopAt(0)])
    wp = [os.path.join(d, n) for n in os.listdir(d) if "weights" in n][0]
    data = open(wp, "rb").read()
    with open(wp, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(OSError, match="backup_dir"):
        _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d)])


def test_a_backup_of_another_model_is_refused_and_changes_no_weight(tmp_path):
    x, y = _data()
    d = str(tmp_path / "b")
    with pytest.raises(_Stop):
        _model().fit(x, y, epochs=4, verbose=0, callbacks=[B(d), _StopAt(0)])
    other = _model(units=2)
    w0 = other.get_weights()
    with pytest.raises(ValueError, match="backup_dir"):
        other.fit(x, np.ones((32, 2), np.float32), epochs=4, verbose=0, callbacks=[B(d)])
    for a, b in zip(w0, other.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- save(zipped=False) ----
def test_zipped_false_to_a_path_that_is_a_file_is_refused_and_keeps_the_file(tmp_path):
    pytest.importorskip("h5py")  # Keras's unzipped archive holds model.weights.h5
    f = tmp_path / "file"
    f.write_text("keep")
    with pytest.raises(NotADirectoryError, match="zipped=False"):
        _model().save(str(f), zipped=False)
    assert f.read_text() == "keep"
    with pytest.raises(NotADirectoryError, match="cannot create the folder"):
        _model().save(str(f / "sub"), zipped=False)


def test_zipped_false_into_an_existing_folder_keeps_other_files(tmp_path):
    pytest.importorskip("h5py")  # Keras's unzipped archive holds model.weights.h5
    d = tmp_path / "m"
    d.mkdir()
    (d / "notes.txt").write_text("mine")
    m = _model()
    m.save(str(d), zipped=False)
    assert sorted(os.listdir(d)) == ["config.json", "metadata.json", "model.weights.h5", "notes.txt"]
    x, _ = _data(4)
    np.testing.assert_array_equal(ranvier.models.load_model(str(d)).predict(x, verbose=0), m.predict(x, verbose=0))
    with pytest.raises(FileExistsError, match="overwrite=False"):
        m.save(str(d), zipped=False, overwrite=False)


def test_an_interrupted_unzipped_save_never_leaves_a_folder_that_loads(tmp_path, monkeypatch):
    pytest.importorskip("h5py")  # Keras's unzipped archive holds model.weights.h5
    from ranvier import _saving_common
    d = str(tmp_path / "m")
    first = _model()
    first.save(d, zipped=False)
    real = _saving_common.write_atomic

    def full_disk(path, chunks, what="save"):
        if os.fspath(path).endswith(".h5"):
            raise OSError(28, "No space left on device")
        return real(path, chunks, what)

    monkeypatch.setattr(_saving_common, "write_atomic", full_disk)
    with pytest.raises(OSError):
        _model().save(d, zipped=False)
    monkeypatch.setattr(_saving_common, "write_atomic", real)
    # the first save's config.json went first: what is left is no saved model (an error), never a mix
    with pytest.raises(ValueError, match="no config.json"):
        ranvier.models.load_model(d)


# ---- build_from_config / compile_from_config with hostile values ----
@pytest.mark.parametrize("config", [None, {}, [], ""])
def test_an_empty_build_config_is_a_no_op_as_in_keras(config):
    m = ranvier.Sequential([layers.Dense(1)])
    m.build_from_config(config)
    assert not m.built
    d = layers.Dense(1)
    d.build_from_config(config)
    assert not d.built


@pytest.mark.parametrize("config", [{"input_shape": "x"}, {"input_shape": [None, -1]},
                                    {"input_shape": [None, 1e9]}])
def test_a_bad_build_config_shape_is_a_value_error(config):
    with pytest.raises(ValueError, match="input_shape"):
        ranvier.Sequential([layers.Dense(1)]).build_from_config(config)


@pytest.mark.parametrize("config", [None, [], "adam"])
def test_compile_from_config_needs_a_dict(config):
    with pytest.raises(TypeError, match="config must be a dict"):
        ranvier.Sequential([ranvier.Input((4,)), layers.Dense(1)]).compile_from_config(config)


@pytest.mark.parametrize("config", [{"optimizer": 3, "loss": "mse"}, {"optimizer": "nope", "loss": "mse"},
                                    {"optimizer": "sgd", "loss": "mse", "metrics": 5}])
def test_compile_from_config_refuses_what_compile_refuses(config):
    m = ranvier.Sequential([ranvier.Input((4,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="compile_from_config"):
        m.compile_from_config(config)


def test_compile_from_config_with_an_unknown_loss_fails_at_fit_as_keras():
    # Keras 3's compile defers a loss it cannot interpret to the first fit
    m = ranvier.Sequential([ranvier.Input((4,)), layers.Dense(1)])
    m.compile_from_config({"optimizer": "sgd", "loss": "nope"})
    x, y = _data(4)
    with pytest.raises(ValueError, match="nope"):
        m.fit(x, y, verbose=0)


# ---- the loss scale's variables: assign, set_state and the model file check what they get ----
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 1e39, "x", True, None, [1.0, 2.0]])
def test_dynamic_scale_assign_refuses_what_is_no_scale(value):
    opt = LSO(ranvier.optimizers.SGD())
    with pytest.raises(ValueError, match="dynamic_scale"):
        opt.dynamic_scale.assign(value)
    assert float(opt.dynamic_scale) == 2.0 ** 15


@pytest.mark.parametrize("value", [-3, 1.5, float("nan"), 1e30, "x", True, None])
def test_step_counter_assign_refuses_what_is_no_count(value):
    opt = LSO(ranvier.optimizers.SGD())
    with pytest.raises(ValueError, match="step_counter"):
        opt.step_counter.assign(value)
    assert int(opt.step_counter) == 0


@pytest.mark.parametrize("value", [np.float32(8.0), np.int64(4), np.array(16.0), 2])
def test_dynamic_scale_assign_takes_real_scalars(value):
    opt = LSO(ranvier.optimizers.SGD())
    opt.dynamic_scale.assign(value)
    assert float(opt.dynamic_scale) == float(value)


def _tampered_model_file(tmp_path, key, value):
    import struct
    m = _model(optimizer=LSO(ranvier.optimizers.SGD(), dynamic_growth_steps=4))
    x, y = _data(4)
    m.fit(x, y, verbose=0)
    p = str(tmp_path / "m.safetensors")
    m.save(p)
    blob = open(p, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    state = json.loads(header["__metadata__"]["optimizer_state"])
    state["scalars"][key] = value
    header["__metadata__"]["optimizer_state"] = json.dumps(state)
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    q = str(tmp_path / "tampered.safetensors")
    with open(q, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + blob[8 + n:])
    return q


@pytest.mark.parametrize("key,value", [("loss_scale/dynamic_scale", -1.0), ("loss_scale/dynamic_scale", 1e39),
                                       ("loss_scale/dynamic_scale", "x"), ("loss_scale/dynamic_scale", True),
                                       ("loss_scale/step_counter", -3.0), ("loss_scale/step_counter", 1.5),
                                       ("loss_scale/step_counter", 1e30), ("loss_scale/step_counter", "x")])
def test_a_model_file_with_a_bad_loss_scale_is_refused(tmp_path, key, value):
    q = _tampered_model_file(tmp_path, key, value)
    with pytest.raises(ValueError, match=key.split("/")[1]):
        ranvier.models.load_model(q)


# ---- summary with hostile values ----
def _summary(model, **kw):
    out = []
    model.summary(print_fn=lambda s, **k: out.append(s), **kw)
    return "".join(out)


@pytest.mark.parametrize("layer_range", [["(", "dense"], ["dense", "["], ["*", "dense"]])
def test_a_layer_range_that_is_no_regular_expression_names_the_argument(layer_range):
    import re
    m = _model()
    with pytest.raises(ValueError, match="layer_range") as info:
        _summary(m, layer_range=layer_range)
    assert isinstance(info.value, re.error)  # what Keras lets out, for code that catches it


@pytest.mark.parametrize("positions", [[0.5], [0.3, 0.6, 0.8, 1.0], "x", [float("nan")] * 3, [0.4, True, 1.0],
                                       [0.4, "a", 1.0]])
def test_positions_must_give_one_finite_end_per_column(positions):
    # Keras: a short list fails (IndexError), NaN fails in int(); never a table with columns dropped
    with pytest.raises(ValueError, match="positions"):
        _summary(_model(), positions=positions)


@pytest.mark.parametrize("kw", [dict(line_length=-5), dict(line_length=10), dict(positions=[0.8, 0.45, 1.0])])
def test_columns_narrower_than_four_are_keras_value_error(kw):
    with pytest.raises(ValueError, match="Insufficient console width to print summary"):
        _summary(_model(), **kw)


def test_good_positions_and_line_length_still_print():
    text = _summary(_model(), positions=[0.4, 0.7, 1.0], line_length=60)
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│├└"]
    assert len(table) == 7 and all(len(line) == 60 for line in table)


# ---- a scale halved down to 0 (or to a subnormal) never writes NaN or inf into the weights ----
@pytest.mark.parametrize("scale", [0.0, 2.0 ** -140])
def test_a_scale_whose_unscaling_is_not_finite_skips_the_step(scale):
    # Keras tests the gradients before dividing by the scale: with a scale of 0 its step
    # writes 0/0 = NaN into the weights (and -inf with 2**-140); here the step is skipped
    opt = LSO(ranvier.optimizers.SGD(0.1))
    opt.dynamic_scale.assign(scale)
    w = [np.ones(2, np.float32)]
    opt.apply([np.array([0.0, 1.0], np.float32)], w)
    np.testing.assert_array_equal(w[0], np.ones(2, np.float32))
    assert opt.iterations == 0


def test_a_normal_scale_below_one_still_steps():
    opt = LSO(ranvier.optimizers.SGD(0.5))
    opt.dynamic_scale.assign(2.0 ** -10)
    w = [np.ones(2, np.float32)]
    opt.apply([np.full(2, 2.0 ** -10, np.float32)], w)  # unscaled: 1.0
    np.testing.assert_array_equal(w[0], np.full(2, 0.5, np.float32))
    assert opt.iterations == 1


def test_fit_after_the_scale_underflowed_keeps_finite_weights():
    # 150+ overflowing steps halve 1.0 down to 0; Keras's next steps then write NaN weights
    x, y = _data(64)
    m = _model(policy="mixed_float16", optimizer=LSO(ranvier.optimizers.SGD(), initial_scale=1.0))
    m.fit(x * 1e5, y, epochs=40, batch_size=16, verbose=0)  # every step overflows half precision
    assert float(m.optimizer.dynamic_scale) == 0.0 and m.optimizer.iterations == 0
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert all(np.isfinite(w).all() for w in m.get_weights())
    assert m.optimizer.iterations == 0  # a zero scale can only skip: 0/0


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_the_optimizer_of_a_fitted_model_copies(copier):
    x, y = _data()
    m = _model(optimizer=LSO(ranvier.optimizers.Adam(0.01)))
    m.fit(x, y, epochs=1, verbose=0)
    twin = copier(m.optimizer)
    assert twin.iterations == m.optimizer.iterations and twin.built
    assert float(twin.dynamic_scale) == float(m.optimizer.dynamic_scale)
    other = _model(optimizer=twin)  # a model compiled with the copy trains with it
    other.fit(x, y, epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in other.get_weights())


@pytest.mark.parametrize("key,value", [("loss_scale/step_counter", 2.5), ("loss_scale/step_counter", 1e30),
                                       ("loss_scale/step_counter", -2.0), ("loss_scale/dynamic_scale", 1e39),
                                       ("loss_scale/dynamic_scale", -1.0)])
def test_the_cpp_api_does_not_restore_a_bad_loss_scale(tmp_path, key, value):
    # the C++ Model loads such a file uncompiled (its documented answer to a training state
    # it cannot restore), so what it saves back holds no compile state; 2.5 was truncated
    # to 2 and 1e30 cast to int64 (undefined behaviour)
    from ranvier import _core
    src = _tampered_model_file(tmp_path, key, value)
    dst = str(tmp_path / "resaved.safetensors")
    _core.io_cpp_resave(src, dst)
    assert ranvier.models.load_model(dst).optimizer is None


def test_the_cpp_api_still_restores_a_good_loss_scale(tmp_path):
    from ranvier import _core
    src = _tampered_model_file(tmp_path, "loss_scale/step_counter", 3.0)
    dst = str(tmp_path / "resaved.safetensors")
    _core.io_cpp_resave(src, dst)
    o = ranvier.models.load_model(dst).optimizer
    assert isinstance(o, LSO) and int(o.step_counter) == 3


@pytest.mark.parametrize("grads", [[np.ones(2, np.float32)], [np.ones(3, np.float32), np.ones(3, np.float32)],
                                   [np.ones(2, np.int32), np.ones(3, np.int32)], [None, None],
                                   [np.ones((1, 2), np.float32), np.ones(3, np.float32)]])
def test_a_refused_loss_scale_apply_moves_no_scale_state(grads):
    # the checks ran after the scale's step: a refused call counted a step (or halved the scale)
    opt = LSO(ranvier.optimizers.SGD(0.1), initial_scale=4.0, dynamic_growth_steps=2)
    w = [np.ones(2, np.float32), np.ones(3, np.float32)]
    with pytest.raises((ValueError, TypeError)):
        opt.apply(grads, w)
    assert (float(opt.dynamic_scale), int(opt.step_counter), opt.iterations) == (4.0, 0, 0)
    np.testing.assert_array_equal(w[0], np.ones(2, np.float32))
    opt.apply([np.ones(2, np.float32), np.ones(3, np.float32)], w)  # a good call after it steps
    assert (int(opt.step_counter), opt.iterations) == (1, 1)
    other = [np.ones(2, np.float32), np.ones(3, np.float32)]
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([np.ones(2, np.float32), np.ones(3, np.float32)], other)
    assert (int(opt.step_counter), opt.iterations) == (1, 1)


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    x, y = _data()
    d = str(tmp_path / "b")
    with pytest.raises(_Stop):
        _model().fit(x, y, epochs=5, verbose=0, callbacks=[B(d, double_checkpoint=True), _StopAt(2)])
    weights = [n for n in os.listdir(d) if n.startswith("latest.weights.") and not n.endswith(".bkp")]
    assert len(weights) == 1  # .h5 with h5py, else ranvier's .safetensors
    assert sorted(os.listdir(d)) == sorted(weights + [weights[0] + ".bkp", "training_metadata.json",
                                                      "training_metadata.json.bkp"])
    wp = os.path.join(d, weights[0])
    with open(wp, "r+b") as f:
        f.truncate(100)  # the latest backup was cut short
    hist = _model().fit(x, y, epochs=5, verbose=0, callbacks=[B(d, double_checkpoint=True)])
    assert hist.epoch == [2, 3, 4]  # the previous backup: epoch 2 reached
