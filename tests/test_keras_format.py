"""Keras's file names mean Keras's files: ``.keras`` archives and ``.weights.h5`` weights.

The archives Keras writes are built here by hand in Keras 3's layout (config.json with
Keras's nested object form and extra keys, metadata.json, model.weights.h5), so CI checks
the reader without Keras. Where Keras itself is importable, the round trip both ways runs
against it (skipped otherwise).
"""
import io
import json
import sys
import zipfile

import numpy as np
import pytest

import ranvier

h5py = pytest.importorskip("h5py")

OPTIMIZERS = ["sgd", ("sgd_momentum", lambda: ranvier.optimizers.SGD(momentum=0.9)), "adam",
              ("adam_amsgrad", lambda: ranvier.optimizers.Adam(amsgrad=True)), "rmsprop",
              ("rmsprop_centered", lambda: ranvier.optimizers.RMSprop(momentum=0.5, centered=True)),
              "adagrad", "adadelta", "adamw", "adamax", "nadam", "lion", "ftrl"]


def _opt(spec):
    return spec[1]() if isinstance(spec, tuple) else spec


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 4), dtype=np.float32), rng.integers(0, 2, n)


def _model(optimizer="adam"):
    ranvier.utils.set_random_seed(3)
    m = ranvier.Sequential([ranvier.Input(shape=(4,)), ranvier.layers.Dense(5, activation="relu"),
                            ranvier.layers.Dropout(0.2), ranvier.layers.BatchNormalization(),
                            ranvier.layers.LayerNormalization(), ranvier.layers.Dense(2, activation="softmax")])
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_archive_has_keras_layout(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    p = tmp_path / "m.keras"
    m.save(p)
    with zipfile.ZipFile(p) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        meta = json.loads(zf.read("metadata.json"))
        weights = zf.read("model.weights.h5")
    assert meta["keras_version"].startswith("3.") and "date_saved" in meta
    assert config["module"] == "keras" and config["class_name"] == "Sequential"
    assert config["build_config"] == {"input_shape": [None, 4]}
    assert config["compile_config"]["optimizer"]["module"] == "keras.optimizers"
    assert config["compile_config"]["loss"] == "sparse_categorical_crossentropy"
    layers = config["config"]["layers"]
    assert [l["class_name"] for l in layers] == ["InputLayer", "Dense", "Dropout", "BatchNormalization",
                                                 "LayerNormalization", "Dense"]
    # every nested object in Keras's serialized form, no ranvier module names
    text = json.dumps(config)
    assert "ranvier." not in text
    assert layers[1]["config"]["kernel_initializer"]["module"] == "keras.initializers"
    with h5py.File(io.BytesIO(weights), "r") as f:
        assert sorted(f["layers"].keys()) == ["batch_normalization", "dense", "dense_1", "dropout",
                                              "layer_normalization"]
        assert f["layers/dense/vars"].attrs["name"] == m.layers[0].name
        np.testing.assert_array_equal(f["layers/dense_1/vars/0"][()], m.layers[4].get_weights()[0])
        assert len(f["layers/batch_normalization/vars"]) == 4
        # iterations, learning rate, then (momentum, velocity) per trainable variable (8 of them)
        assert len(f["optimizer/vars"]) == 2 + 2 * 8
        assert f["optimizer/vars/0"][()] == m.optimizer.iterations


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=lambda s: s[0] if isinstance(s, tuple) else s)
def test_round_trip_is_exact_and_resumes(tmp_path, spec):
    x, y = _data()
    m = _model(_opt(spec))
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    p = tmp_path / "m.keras"
    m.save(p)
    m2 = ranvier.models.load_model(p)
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    s1, s2 = m.optimizer.get_state(), m2.optimizer.get_state()
    assert s1["iterations"] == s2["iterations"]
    assert sorted(s1["slots"]) == sorted(s2["slots"])
    for k in s1["slots"]:
        np.testing.assert_array_equal(s1["slots"][k], s2["slots"][k])
    # training continues exactly as the original would (Dropout masks included)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    m2.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))


def test_weights_h5_and_load_weights_from_archive(tmp_path):
    x, _ = _data()
    m = _model()
    m.save_weights(tmp_path / "w.weights.h5")
    m.save(tmp_path / "m.keras")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert sorted(f["layers"]) == ["batch_normalization", "dense", "dense_1", "dropout",
                                       "layer_normalization"]
    for name in ("w.weights.h5", "m.keras"):
        other = ranvier.Sequential([ranvier.Input(shape=(4,)), ranvier.layers.Dense(5, activation="relu"),
                                    ranvier.layers.Dropout(0.2), ranvier.layers.BatchNormalization(),
                                    ranvier.layers.LayerNormalization(),
                                    ranvier.layers.Dense(2, activation="softmax")])
        other.load_weights(tmp_path / name)
        np.testing.assert_array_equal(other.predict(x, verbose=0), m.predict(x, verbose=0))


def test_keras_names_never_hold_ranvier_format(tmp_path):
    m = _model()
    with pytest.raises(ValueError, match=r"legacy HDF5 model.*\.keras"):
        m.save(tmp_path / "m.h5")
    for bad in ("w.h5", "w.hdf5", "w.keras"):
        with pytest.raises(ValueError, match=r"must end in '\.weights\.h5'"):
            m.save_weights(tmp_path / bad)
    assert list(tmp_path.iterdir()) == []
    m.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="weights only"):
        ranvier.models.load_model(tmp_path / "w.weights.h5")


def test_without_h5py_the_error_points_to_ranviers_format(tmp_path, monkeypatch):
    m = _model()
    monkeypatch.setitem(sys.modules, "h5py", None)
    for call in (lambda: m.save(tmp_path / "m.keras"), lambda: m.save_weights(tmp_path / "w.weights.h5")):
        with pytest.raises(ImportError, match=r"h5py.*\.safetensors"):
            call()
    assert list(tmp_path.iterdir()) == []
    m.save(tmp_path / "m.safetensors")  # ranvier's own format needs nothing
    assert ranvier.models.load_model(tmp_path / "m.safetensors").count_params() == m.count_params()


def test_an_old_ranvier_file_named_keras_still_loads(tmp_path):
    """Earlier versions wrote ranvier's format under any name: loading sniffs the content."""
    m = _model()
    p = tmp_path / "m.safetensors"
    m.save(p)
    old = tmp_path / "old.keras"
    old.write_bytes(p.read_bytes())
    x, _ = _data()
    np.testing.assert_array_equal(ranvier.models.load_model(old).predict(x, verbose=0), m.predict(x, verbose=0))


# ------------------------------------------------------------------ archives Keras wrote
def _dtype():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None, "shared_object_id": 140000000000000}


def _init(cls):
    cfg = {"seed": None, "input_axes": None, "output_axes": None} if cls == "GlorotUniform" else {}
    return {"module": "keras.initializers", "class_name": cls, "config": cfg, "registered_name": None}


def _keras_dense(name, units, activation, n_in, **extra):
    cfg = {"name": name, "trainable": True, "dtype": _dtype(), "units": units, "activation": activation,
           "use_bias": True, "kernel_initializer": _init("GlorotUniform"), "bias_initializer": _init("Zeros"),
           "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
           "bias_constraint": None, "quantization_config": None}
    cfg.update(extra)
    return {"module": "keras.layers", "class_name": "Dense", "config": cfg, "registered_name": None,
            "build_config": {"input_shape": [None, n_in]}}


def _keras_archive(path, w1, b1, w2, b2, class_name="Sequential", optimizer_vars=None, dense_extra=None):
    """An archive laid out as Keras 3.15 writes it (keras.saving.save_model)."""
    config = {"module": "keras", "class_name": class_name, "config": {
        "name": "sequential", "trainable": True, "dtype": _dtype(), "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {
                "batch_shape": [None, w1.shape[0]], "dtype": "float32", "sparse": False, "ragged": False,
                "name": "input_layer", "optional": False}, "registered_name": None},
            _keras_dense("hidden", w1.shape[1], "relu", w1.shape[0], **(dense_extra or {})),
            _keras_dense("dense", w2.shape[1], "softmax", w2.shape[0])],
        "build_input_shape": [None, w1.shape[0]]},
        "registered_name": None, "build_config": {"input_shape": [None, w1.shape[0]]},
        "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {
            "name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None, "clipnorm": None,
            "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
            "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None,
            "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}, "registered_name": None},
            "loss": "sparse_categorical_crossentropy", "loss_weights": None, "metrics": ["accuracy"],
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}}
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        for key, name, arrays in (("dense", "hidden", (w1, b1)), ("dense_1", "dense", (w2, b2))):
            g = f.create_group(f"layers/{key}/vars")
            g.attrs["name"] = name
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)
        f.create_group("vars").attrs["name"] = "sequential"
        g = f.create_group("optimizer/vars")
        g.attrs["name"] = "adam"
        for i, a in enumerate(optimizer_vars or []):
            g.create_dataset(str(i), data=a)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-12-07@07:56:17"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights.getvalue())


def _keras_weights(seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal(6).astype(np.float32),
            rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32))


def _reference_forward(x, w1, b1, w2, b2):
    """float64 NumPy reference of Dense(relu) -> Dense(softmax)."""
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0.0)
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_reads_an_archive_in_kerases_layout(tmp_path):
    w1, b1, w2, b2 = _keras_weights()
    params = [w1, b1, w2, b2]
    rng = np.random.default_rng(7)
    slots = [(rng.random(a.shape).astype(np.float32), rng.random(a.shape).astype(np.float32)) for a in params]
    opt_vars = [np.asarray(12, dtype=np.int64), np.asarray(0.001, dtype=np.float32)]
    for m_, v_ in slots:
        opt_vars += [m_, v_]
    p = tmp_path / "k.keras"
    _keras_archive(p, w1, b1, w2, b2, optimizer_vars=opt_vars)
    m = ranvier.models.load_model(p)
    assert [type(l).__name__ for l in m.layers] == ["Dense", "Dense"]
    assert m.layers[0].name == "hidden" and m.layers[0].get_config()["activation"] == "relu"
    x = rng.random((9, 4), dtype=np.float32)
    # float32 forward of a 4-6-3 net against float64: rtol 1e-5 (reductions of length <= 6)
    np.testing.assert_allclose(m.predict(x, verbose=0), _reference_forward(x, *params), rtol=1e-5, atol=1e-7)
    assert m.compiled and type(m.optimizer).__name__ == "Adam"
    state = m.optimizer.get_state()
    assert state["iterations"] == 12
    offset = 0
    for a, (m_, v_) in zip(params, slots):
        np.testing.assert_array_equal(state["slots"]["momentum"][offset:offset + a.size], m_.reshape(-1))
        np.testing.assert_array_equal(state["slots"]["velocity"][offset:offset + a.size], v_.reshape(-1))
        offset += a.size
    m.fit(x, np.arange(9) % 3, epochs=1, verbose=0)  # trains on from the restored state


def test_kerases_archive_with_other_optimizer_layout_warns_and_starts_fresh(tmp_path):
    w = _keras_weights()
    p = tmp_path / "k.keras"
    _keras_archive(p, *w, optimizer_vars=[np.asarray(3, dtype=np.int64)])
    with pytest.warns(UserWarning, match="optimizer"):
        m = ranvier.models.load_model(p)
    assert m.compiled
    m2 = ranvier.models.load_model(p, compile=False)
    assert not m2.compiled


def test_hostile_or_unsupported_archives_name_the_problem(tmp_path):
    w = _keras_weights()
    p = tmp_path / "f.keras"
    _keras_archive(p, *w, class_name="Functional")  # a Functional class over a Sequential config
    with pytest.raises(ValueError, match=r"f\.keras.*functional config.*'input_layers'"):
        ranvier.models.load_model(p)
    _keras_archive(p, *w, class_name="Subclassed")
    with pytest.raises(ValueError, match=r"f\.keras.*'Subclassed'.*Sequential and functional"):
        ranvier.models.load_model(p)
    _keras_archive(p, *w, dense_extra={"quantization_config": {"mode": "int8"}})
    with pytest.raises(ValueError, match="quantization_config"):
        ranvier.models.load_model(p)
    for members, match in (({"metadata.json": "{}"}, "config.json"),
                           ({"config.json": "{not json"}, "not valid JSON"),
                           ({"config.json": "[]"}, "JSON object"),
                           ({"config.json": json.dumps({"class_name": "Sequential", "config": {"layers": []}})},
                            "model.weights.h5")):
        with zipfile.ZipFile(p, "w") as zf:
            for k, v in members.items():
                zf.writestr(k, v)
        with pytest.raises(ValueError, match=match):
            ranvier.models.load_model(p)
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    with pytest.raises(ValueError, match="not a valid Keras archive"):
        ranvier.models.load_model(p)


def test_archive_member_sizes_are_checked_before_reading(tmp_path, monkeypatch):
    from ranvier import _keras_format
    m = _model()
    p = tmp_path / "m.keras"
    m.save(p)
    monkeypatch.setattr(_keras_format, "_MAX_JSON_BYTES", 100)
    with pytest.raises(ValueError, match=r"config\.json' declares \d+ bytes"):
        ranvier.models.load_model(p)


def test_model_checkpoint_writes_kerases_format(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=2, verbose=0, callbacks=[ranvier.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.keras"))])
    assert zipfile.is_zipfile(tmp_path / "e2.keras")
    np.testing.assert_array_equal(ranvier.models.load_model(tmp_path / "e2.keras").predict(x, verbose=0),
                                  m.predict(x, verbose=0))


# ------------------------------------------------------------------ against Keras itself
def _keras():
    try:
        import keras  # noqa: F401
    except Exception:  # not installed, or no backend
        pytest.skip("keras is not installed (optional)")
    return sys.modules["keras"]


def test_keras_loads_what_ranvier_writes(tmp_path):
    keras = _keras()
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "m.keras")
    m.save_weights(tmp_path / "w.weights.h5")
    km = keras.saving.load_model(tmp_path / "m.keras")
    # float32 on both sides, different summation orders in BatchNorm/LayerNorm: 1e-5
    np.testing.assert_allclose(km.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert int(km.optimizer.iterations.numpy()) == m.optimizer.iterations
    kw = keras.models.clone_model(km)
    kw.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(kw.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_ranvier_loads_what_keras_writes(tmp_path):
    keras = _keras()
    x, y = _data()
    km = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="relu"),
                           keras.layers.Dropout(0.2), keras.layers.BatchNormalization(),
                           keras.layers.LayerNormalization(), keras.layers.Dense(2, activation="softmax")])
    km.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    km.fit(x, y, epochs=2, verbose=0)
    km.save(tmp_path / "k.keras")
    km.save_weights(tmp_path / "k.weights.h5")
    m = ranvier.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(m.predict(x, verbose=0), km.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert m.optimizer.iterations == int(km.optimizer.iterations.numpy())
    m2 = ranvier.Sequential.from_config(m.get_config())
    m2.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(m2.predict(x, verbose=0), km.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_an_uncompiled_keras_archive_with_an_empty_compile_config_loads_uncompiled(tmp_path):
    # Keras 3 writes "compile_config": {} for a model that was never compiled; load_model's
    # default compile=True must then give an uncompiled model, not ask for a loss.
    model = ranvier.Sequential([ranvier.Input(shape=(3,)), ranvier.layers.Dense(2)])
    src = tmp_path / "m.keras"
    model.save(src)
    dst = tmp_path / "keras_written.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                cfg = json.loads(data)
                cfg["compile_config"] = {}
                data = json.dumps(cfg).encode()
            zout.writestr(item, data)
    loaded = ranvier.models.load_model(dst)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer is None
    with pytest.raises(RuntimeError, match="compile"):
        loaded.fit(x, np.zeros((4, 2), np.float32), verbose=0)
