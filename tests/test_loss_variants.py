"""categorical_focal_crossentropy (Keras 3) through every path: Keras's check values, the
function and the class (config, reduction, sample weights, errors), get/serialize,
core_spec, training with fit (the loss computed in C++), the model file (Python and the
C++ loader), resuming training, and the C++ API's loss names. The kernel itself (every
ISA, float64 reference, finite-difference gradients) is in test_losses.py.

Tolerances: float32 per-sample values against the float64 reference, 1e-6 relative
(k = 3..10 terms); the model's evaluate against a float64 forward, 1e-5 relative."""
from __future__ import annotations

import numpy as np
import pytest

import ranvier
from ranvier import _core
from ranvier import losses as L
from reference import losses as RL

NAME = "categorical_focal_crossentropy"


def test_keras_check_values():
    # keras.losses.categorical_focal_crossentropy's docstring example
    y_true = [[0, 1, 0], [0, 0, 1]]
    y_pred = [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]
    np.testing.assert_allclose(L.categorical_focal_crossentropy(y_true, y_pred), [2.63401289e-04, 6.75912094e-01],
                               rtol=1e-6)
    np.testing.assert_allclose(L.CategoricalFocalCrossentropy()(y_true, y_pred),
                               np.mean([2.63401289e-04, 6.75912094e-01]), rtol=1e-6)
    # gamma = 0: alpha times the categorical cross-entropy
    np.testing.assert_allclose(L.categorical_focal_crossentropy(y_true, y_pred, gamma=0.0, alpha=1.0),
                               L.categorical_crossentropy(y_true, y_pred), rtol=1e-6)


@pytest.mark.parametrize("params", [{}, {"from_logits": True}, {"label_smoothing": 0.2, "gamma": 1.5, "alpha": 0.7}])
def test_function_matches_reference_with_axis_and_shapes(rng, params):
    y = np.eye(6)[rng.integers(0, 6, (4, 5))].astype(np.float32)
    p = rng.uniform(0.01, 1, (4, 5, 6)).astype(np.float32)
    got = L.categorical_focal_crossentropy(y, p, **params)
    ref, _ = RL.categorical_focal_crossentropy(y.reshape(-1, 6), p.reshape(-1, 6), **params)
    assert got.shape == (4, 5)
    np.testing.assert_allclose(got, ref.reshape(4, 5), rtol=1e-6, atol=1e-7)
    moved = L.categorical_focal_crossentropy(np.moveaxis(y, -1, 1), np.moveaxis(p, -1, 1), axis=1, **params)
    np.testing.assert_allclose(moved, got, rtol=1e-6)


def test_class_config_reduction_and_sample_weight(rng):
    obj = L.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.0, label_smoothing=0.1, reduction="sum")
    cfg = obj.get_config()
    assert cfg == {"name": NAME, "reduction": "sum", "from_logits": False, "label_smoothing": 0.1, "axis": -1,
                   "alpha": 0.5, "gamma": 1.0}
    assert L.CategoricalFocalCrossentropy.from_config(cfg).get_config() == cfg
    assert L.deserialize(L.serialize(obj)).get_config() == cfg
    y = np.eye(4)[rng.integers(0, 4, 8)].astype(np.float32)
    p = rng.uniform(0.05, 1, (8, 4)).astype(np.float32)
    w = rng.uniform(0, 2, 8)
    ref, _ = RL.categorical_focal_crossentropy(y, p, alpha=0.5, gamma=1.0, label_smoothing=0.1)
    np.testing.assert_allclose(obj(y, p, sample_weight=w), np.sum(ref * w), rtol=1e-6)
    assert L.CategoricalFocalCrossentropy().name == NAME


def test_registry_and_core_spec():
    assert L.get(NAME) is L.categorical_focal_crossentropy
    assert isinstance(L.get("CategoricalFocalCrossentropy"), L.CategoricalFocalCrossentropy)
    assert L.deserialize({"class_name": "function", "config": NAME}) is L.categorical_focal_crossentropy
    kind, params = L.core_spec(L.CategoricalFocalCrossentropy(alpha=0.4, gamma=3.0, from_logits=True))
    assert kind == NAME and L.core_kind(kind) == L.KIND_NAMES.index(NAME)
    assert params["alpha"] == 0.4 and params["gamma"] == 3.0 and params["from_logits"] is True
    with pytest.raises(ValueError, match="axis=-1"):
        L.core_spec(L.CategoricalFocalCrossentropy(axis=0))
    row = [r for r in _core.loss_table() if r["name"] == NAME][0]
    assert row["class_name"] == "CategoricalFocalCrossentropy" and row["labels"] == "dense"
    assert row["params"] == {"alpha": 0.25, "gamma": 2.0, "from_logits": 0.0, "label_smoothing": 0.0}


def test_argument_errors():
    with pytest.raises(ValueError, match="gamma must be in"):
        L.CategoricalFocalCrossentropy(gamma=-1.0)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        L.categorical_focal_crossentropy([[0, 1]], [[0.5, 0.5]], label_smoothing=1.5)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        L.CategoricalFocalCrossentropy(alpha=[0.25, 0.75])
    with pytest.raises(TypeError, match="from_logits must be True or False"):
        L.categorical_focal_crossentropy([[0, 1]], [[0.5, 0.5]], from_logits="yes")
    with pytest.raises(ValueError, match="incompatible shapes"):
        L.categorical_focal_crossentropy(np.zeros((2, 3)), np.full((2, 4), 0.25))


@pytest.mark.parametrize("loss", [NAME, L.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.5, from_logits=True)])
def test_fit_save_load_resume_and_cpp_loader(isa, tmp_path, loss):
    ranvier.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 5)).astype(np.float32)
    lab = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    y = np.eye(3)[lab].astype(np.float32)
    logits = not isinstance(loss, str)
    m = ranvier.Sequential([ranvier.Input(shape=(5,)), ranvier.layers.Dense(16, activation="relu"),
                            ranvier.layers.Dense(3, activation=None if logits else "softmax")])
    m.compile(optimizer=ranvier.optimizers.Adam(0.02), loss=loss)
    first = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=15, batch_size=16, verbose=0)
    last = m.evaluate(x, y, verbose=0)
    assert last < 0.5 * first
    # evaluate = the mean per-sample focal loss of the predictions (float64 reference)
    params = {"alpha": 0.5, "gamma": 1.5, "from_logits": True} if logits else {}
    ref, _ = RL.categorical_focal_crossentropy(y, m.predict(x, verbose=0), **params)
    np.testing.assert_allclose(last, ref.mean(), rtol=1e-5)
    path = tmp_path / "m.ranvier"
    m.save(path)
    loaded = ranvier.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(_core.io_cpp_predict(str(path), x, 32), m.predict(x, verbose=0))
    # resuming: one more epoch of each gives the same weights
    m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_module_lists_every_row_of_the_table():
    """ranvier.losses exports one function and one class per row of losses.def (the
    submodules' __all__ are written out for static analysis)."""
    rows = _core.loss_table()
    assert sorted(L._functions.__all__) == sorted(r["name"] for r in rows)
    assert sorted(L._classes.__all__) == sorted([r["class_name"] for r in rows] + ["Loss", "LossFunctionWrapper"])
    for r in rows:
        assert getattr(L, r["name"]) is L._FUNCTIONS[r["name"]] and r["name"] in L.__all__
        assert getattr(L, r["class_name"])._fn is getattr(L, r["name"]) and r["class_name"] in L.__all__
