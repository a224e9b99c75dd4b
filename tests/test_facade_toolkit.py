"""The facade's shared toolkit: one verbose rule (``_checks.check_verbose``), one naming
module for models too, one registry for layers and schedules, and the model's saving
protocol (``_save_state`` / ``_restore_state``)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import ranvier as rv
from ranvier import _checks, _model_io
from ranvier import callbacks as C
from ranvier import layers as L
from ranvier.optimizers import schedules


def _model(seed=0, dropout_seed=None):
    rv.utils.set_random_seed(seed)
    return rv.Sequential([rv.Input((4,)), L.Dense(5, activation="relu", name="d1"),
                          L.Dropout(0.25, seed=dropout_seed, name="drop"), L.Dense(3, name="d2")])


def _data(n=40):
    rs = np.random.RandomState(7)
    return rs.rand(n, 4).astype(np.float32), rs.rand(n, 3).astype(np.float32)


# ----------------------------------------------------------------------------- verbose
@pytest.mark.parametrize("value, expected", [("auto", 1), (0, 0), (1, 1), (2, 2), (True, 1), (False, 0),
                                             (np.int64(2), 2)])
def test_fit_verbose_is_auto_or_0_1_2(value, expected):
    assert _checks.check_verbose(value, "fit", auto=True) == expected


@pytest.mark.parametrize("value", [3, -1, "loud", "AUTO", None, 1.5])
def test_fit_verbose_refuses_other_values_naming_the_call(value):
    with pytest.raises(ValueError, match=r"^fit: verbose must be 'auto', 0, 1 or 2, got "):
        _checks.check_verbose(value, "fit", auto=True)


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_model_calls_share_the_verbose_rule(call):
    m = _model()
    m.compile("sgd", "mse")
    x, y = _data()
    args = (x, y) if call != "predict" else (x,)
    with pytest.raises(ValueError, match=rf"^{call}: verbose must be 'auto', 0, 1 or 2, got 3$"):
        getattr(m, call)(*args, verbose=3)
    getattr(m, call)(*args, verbose=0)


def test_callback_verbose_is_a_non_negative_int():
    assert C.EarlyStopping(verbose=3).verbose == 3  # Keras's callbacks only test verbose > 0
    assert C.EarlyStopping(verbose=True).verbose == 1
    with pytest.raises(TypeError, match=r"^EarlyStopping: verbose must be an int >= 0, got verbose='auto'"):
        C.EarlyStopping(verbose="auto")
    with pytest.raises(ValueError, match=r"^EarlyStopping: verbose must be an int >= 0, got verbose=-1"):
        C.EarlyStopping(verbose=-1)


@pytest.mark.parametrize("value, ok", [(None, True), (1, True), (2**70, True), (0, False), (-3, False),
                                       (True, False), (2.0, False), ("8", False)])
def test_batch_size_rule(value, ok):
    if ok:
        got = _checks.check_batch_size(value, "fit")
        assert got == (None if value is None else min(value, 2**62))
    else:
        with pytest.raises(ValueError, match=r"^fit: batch_size must be a positive int, got "):
            _checks.check_batch_size(value, "fit")


# ----------------------------------------------------------------------------- names
def test_models_are_named_by_the_session_counter():
    rv.utils.clear_session()
    assert rv.Sequential().name == "sequential"
    assert rv.Sequential().name == "sequential_1"
    assert rv.Sequential(name="mine").name == "mine"
    rv.utils.clear_session()
    assert rv.Sequential().name == "sequential"


# ----------------------------------------------------------------------------- registry
class MyDense(L.Dense):
    """A user's Dense, saved under Keras's class name but its own registered name."""


def test_layer_round_trip_through_the_registry():
    layer = L.Dense(3, activation="tanh", name="d")
    cfg = L.serialize(layer)
    assert cfg["module"] == "keras.layers" and cfg["class_name"] == "Dense" and cfg["registered_name"] is None
    again = L.deserialize(cfg)
    assert type(again) is L.Dense and again.get_config() == layer.get_config()


def test_a_custom_layer_is_found_by_its_registered_name_before_the_builtin():
    cfg = L.serialize(MyDense(2, name="m"))
    assert cfg["class_name"] == "MyDense" and cfg["registered_name"] == "MyDense"
    cfg["class_name"] = "Dense"  # as Keras writes a subclass registered under another name
    assert type(L.deserialize(cfg, custom_objects={"MyDense": MyDense})) is MyDense
    assert type(L.deserialize(cfg)) is L.Dense


def test_layer_lookup_errors_name_the_choices():
    with pytest.raises(ValueError, match=r"Unknown layer: 'Conv9D'. Valid names: .*Dense.*custom_objects"):
        L.deserialize({"class_name": "Conv9D", "config": {}})
    with pytest.raises(ValueError, match=r"Could not interpret layer config: 'Dense'"):
        L.deserialize("Dense")
    with pytest.raises(TypeError, match=r"serialize: expected a Layer, got str"):
        L.serialize("dense")


class Halving(schedules.LearningRateSchedule):
    """A user's schedule."""

    def __init__(self, lr):
        self.lr = lr

    def __call__(self, step):
        return self.lr / 2

    def get_config(self):
        return {"lr": self.lr}


def test_schedules_resolve_through_the_registry():
    s = schedules.ExponentialDecay(0.1, 10, 0.5)
    cfg = schedules.serialize(s)
    assert cfg["module"] == "keras.optimizers.schedules" and cfg["registered_name"] is None  # as Keras
    assert schedules.deserialize(cfg).get_config() == s.get_config()
    mine = schedules.serialize(Halving(0.3))
    assert mine["registered_name"] == "Halving"
    assert schedules.deserialize(mine, custom_objects={"Halving": Halving}).lr == 0.3
    with pytest.raises(ValueError, match=r"Unknown learning rate schedule: 'Halving'. Valid names: .*ExponentialDecay"):
        schedules.deserialize(mine)
    with pytest.raises(TypeError, match=r"serialize: expected a LearningRateSchedule, got float"):
        schedules.serialize(0.1)


# ----------------------------------------------------------------------------- saving protocol
def test_save_state_of_a_new_model():
    dense = L.Dense(2)
    m = rv.Sequential([dense], name="new")
    state = m._save_state()
    assert state == {"class_name": "Sequential", "config": m.get_config(), "input_shape": None, "layers": [dense],
                     "train_steps": 0, "layer_seeds": {}, "compile_config": None, "optimizer_state": None,
                     "param_count": 0, "trainable_segments": [], "param_order": []}
    m.build((None, 3))
    assert m._save_state()["input_shape"] == (None, 3)


def test_save_state_after_training_and_restore_state_resume_exactly():
    x, y = _data()
    m = _model()
    m.compile(rv.optimizers.Adam(0.01), "mse")
    m.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    state = m._save_state()
    assert state["train_steps"] == 10
    assert list(state["layer_seeds"]) == ["drop"]
    assert state["compile_config"]["loss"] == "mse"
    assert state["param_count"] == 4 * 5 + 5 + 5 * 3 + 3
    assert [s[2] for s in state["trainable_segments"]] == [(4, 5), (5,), (5, 3), (3,)]
    assert state["optimizer_state"]["iterations"] == 10
    assert m._save_state(include_optimizer=False)["optimizer_state"] is None

    # other initial weights and random stream: the rest comes from the state
    twin = _model(seed=1, dropout_seed=state["layer_seeds"]["drop"])
    twin.compile(rv.optimizers.Adam(0.01), "mse")
    twin.set_weights(m.get_weights())
    twin._restore_state(train_steps=state["train_steps"], optimizer_state=state["optimizer_state"])
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    twin.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_optimizer_state_of_another_network_is_not_saved():
    x, y = _data()
    m = _model()
    m.compile("adam", "mse")
    m.fit(x, y, epochs=1, verbose=0)
    m.pop()
    m.add(L.Dense(3))  # a new network: the optimizer's slots are for the old one
    assert m._save_state()["optimizer_state"] is None


def test_restore_state_refuses_an_optimizer_state_without_an_optimizer():
    m = _model()
    with pytest.raises(ValueError, match="not compiled"):
        m._restore_state(optimizer_state={"iterations": 1, "slots": {}})


def test_the_writer_reads_the_weights_in_place():
    m = _model()
    tensors = _model_io._weight_tensors(m)
    assert [name for name, _ in tensors] == ["layers/d1/kernel", "layers/d1/bias", "layers/d2/kernel",
                                             "layers/d2/bias"]
    for (_, arr), var in zip(tensors, m.weights):
        assert arr.flags.c_contiguous and arr.dtype == np.float32
        assert np.shares_memory(arr, var.value)


def test_pickles_name_the_public_class_path():
    blob = pickle.dumps(_model())
    assert b"ranvier.models" in blob and b"_sequential" not in blob
    assert type(pickle.loads(blob)) is rv.Sequential
    assert pickle.loads(pickle.dumps(C.EarlyStopping(patience=2))).patience == 2
    assert C.EarlyStopping.__module__ == "ranvier.callbacks"


# ----------------------------------------------------------------------------- one registry
@pytest.fixture
def registry_calls(monkeypatch):
    """Spies on ``_registry``'s functions: each call records (function, kind) and runs the
    real function."""
    from ranvier import _registry
    calls = []

    def spy(fn_name):
        real = getattr(_registry, fn_name)

        def wrapper(*args, **kwargs):
            calls.append((fn_name, kwargs.get("kind")))
            return real(*args, **kwargs)
        return wrapper

    for fn_name in ("get", "serialize", "deserialize", "resolve_name"):
        monkeypatch.setattr(_registry, fn_name, spy(fn_name))
    return calls


def _families():
    from ranvier import constraints, initializers, regularizers
    return [
        ("initializer", initializers, "zeros", lambda: initializers.Zeros()),
        ("regularizer", regularizers, "l2", lambda: regularizers.L2(0.1)),
        ("constraint", constraints, "non_neg", lambda: constraints.NonNeg()),
        ("optimizer", rv.optimizers, "adam", lambda: rv.optimizers.Adam(0.01)),
        ("metric", rv.metrics, "mse", lambda: rv.metrics.MeanSquaredError()),
    ]


@pytest.mark.parametrize("kind, module, name, make", _families(), ids=[f[0] for f in _families()])
def test_every_family_resolves_through_the_registry(registry_calls, kind, module, name, make):
    assert type(module.get(name)) is type(make())
    assert ("get", kind) in registry_calls
    cfg = module.serialize(make())
    assert ("serialize", kind) in registry_calls
    assert type(module.deserialize(cfg)) is type(make())
    assert ("deserialize", kind) in registry_calls


def test_layers_schedules_activations_losses_resolve_through_the_registry(registry_calls):
    """Activations and losses resolve names through ``resolve_name`` (a name may give a
    function); Loss objects serialize and deserialize through the registry."""
    layer = L.Dense(2)
    assert type(L.deserialize(L.serialize(layer))) is L.Dense
    sched = schedules.ExponentialDecay(0.1, 10, 0.5)
    assert type(schedules.deserialize(schedules.serialize(sched))) is schedules.ExponentialDecay
    assert rv.activations.get("relu") is rv.activations.deserialize("relu")
    assert rv.losses.get("mse") is rv.losses.deserialize("mse")
    loss = rv.losses.Huber(delta=2.0)
    assert rv.losses.deserialize(rv.losses.serialize(loss)).get_config() == loss.get_config()
    for entry in [("serialize", "layer"), ("deserialize", "layer"), ("serialize", "learning rate schedule"),
                  ("deserialize", "learning rate schedule"), ("resolve_name", "activation function"),
                  ("resolve_name", "loss"), ("serialize", "loss"), ("deserialize", "loss")]:
        assert entry in registry_calls


# Keras 3's optimizers.get / serialize / deserialize
def test_optimizer_get_follows_keras():
    O = rv.optimizers
    assert O.get(None) is None
    assert type(O.get("adam")) is O.Adam and type(O.get("AdamW")) is O.AdamW  # case-insensitive
    opt = O.get({"class_name": "Adam", "config": {"learning_rate": 0.01, "beta_1": 0.8}})
    assert type(opt) is O.Adam and opt.get_config()["learning_rate"] == pytest.approx(0.01)
    assert opt.get_config()["beta_1"] == 0.8
    assert O.get(opt) is opt
    with pytest.raises(ValueError, match=r"^Could not interpret optimizer identifier: <class "):
        O.get(O.Adam)  # Keras refuses a class: write Adam()
    with pytest.raises(ValueError, match=r"^Could not interpret optimizer identifier: <function "):
        O.get(lambda: None)
    with pytest.raises(ValueError, match=r"^Could not interpret optimizer identifier: 'adamm'. "
                                         r"Valid names: .*adam.*\(case-insensitive\)$"):
        O.get("adamm")
    with pytest.raises(ValueError, match=r"^Could not interpret optimizer identifier: 3$"):
        O.get(3)


class MyAdam(rv.optimizers.Adam):
    """A user's optimizer."""


def test_optimizer_serialize_and_custom_objects():
    O = rv.optimizers
    cfg = O.serialize(O.SGD(0.1, momentum=0.5))
    assert cfg["module"] == "keras.optimizers" and cfg["class_name"] == "SGD"  # as Keras
    assert cfg["registered_name"] is None and cfg["config"]["momentum"] == 0.5
    mine = O.serialize(MyAdam(0.02))
    assert mine["class_name"] == "MyAdam" and mine["registered_name"] == "MyAdam"
    assert mine["module"] == __name__
    assert type(O.deserialize(mine, custom_objects={"MyAdam": MyAdam})) is MyAdam
    with pytest.raises(ValueError, match=r"^Could not interpret optimizer identifier: 'MyAdam'"):
        O.deserialize(mine)
    # custom_objects reach the optimizer's from_config: a schedule of the user's own is rebuilt
    cfg = O.serialize(O.Adam(learning_rate=Halving(0.3)))
    again = O.deserialize(cfg, custom_objects={"Halving": Halving})
    rebuilt = again.get_config()["learning_rate"]
    assert rebuilt["class_name"] == "Halving" and rebuilt["config"] == {"lr": 0.3}
    assert again.learning_rate == pytest.approx(0.15)  # the schedule's value at step 0
    with pytest.raises(ValueError, match=r"Unknown learning rate schedule: 'Halving'"):
        O.deserialize(cfg)
    with pytest.raises(TypeError, match=r"^serialize: expected a ranvier optimizer, got str$"):
        O.serialize("adam")
    with pytest.raises(ValueError, match=r"^deserialize: expected a dict with 'class_name' and 'config'"):
        O.deserialize("adam")
    with pytest.raises(ValueError, match=r"^Could not interpret optimizer identifier: \['x'\]"):
        O.deserialize({"class_name": ["x"], "config": {}}, custom_objects={"x": MyAdam})


# Keras 3's metrics.get / serialize / deserialize
def _my_metric(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred)))


def test_metric_get_follows_keras():
    M = rv.metrics
    assert M.get(None) is None
    assert type(M.get("mse")) is M.MeanSquaredError
    assert type(M.get("BinaryAccuracy")) is M.BinaryAccuracy
    m = M.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.7}})
    assert type(m) is M.BinaryAccuracy and m.get_config()["threshold"] == pytest.approx(0.7)
    assert M.get(m) is m
    assert type(M.get(M.Precision)) is M.Precision  # a class is built, as Keras
    assert M.get(_my_metric) is _my_metric
    with pytest.raises(ValueError, match=r"^Could not interpret metric identifier: 'accurasy'. Valid names: "):
        M.get("accurasy")
    with pytest.raises(ValueError, match=r"^Could not interpret metric identifier: 'Metric'"):
        M.get("Metric")  # the abstract base is not built from a name
    with pytest.raises(ValueError, match=r"^Could not interpret metric identifier: 3$"):
        M.get(3)


class MyMean(rv.metrics.Mean):
    """A user's metric."""


def test_metric_serialize_and_custom_objects():
    M = rv.metrics
    cfg = M.serialize(M.BinaryAccuracy(threshold=0.7))
    assert cfg["module"] == "keras.metrics" and cfg["class_name"] == "BinaryAccuracy"  # as Keras
    assert cfg["registered_name"] is None
    assert M.serialize(_my_metric) == "_my_metric"
    assert M.deserialize("_my_metric", custom_objects={"_my_metric": _my_metric}) is _my_metric
    mine = M.serialize(MyMean(name="mine"))
    assert mine["registered_name"] == "MyMean" and mine["module"] == __name__
    again = M.deserialize(mine, custom_objects={"MyMean": MyMean})
    assert type(again) is MyMean and again.name == "mine"
    with pytest.raises(ValueError, match=r"^Unknown metric class_name 'MyMean': a metric class of your own "
                                         r"must be passed in custom_objects=\{'MyMean': MyMean\}"):
        M.deserialize(mine)
    with pytest.raises(ValueError, match=r"^Could not interpret metric config: 3"):
        M.deserialize(3)
    with pytest.raises(ValueError, match=r"^Cannot serialize metric 3"):
        M.serialize(3)


def test_a_name_in_custom_objects_wins_in_deserialize_as_keras():
    from ranvier import constraints, initializers
    assert type(constraints.deserialize("mine", custom_objects={"mine": constraints.NonNeg})) \
        is constraints.NonNeg
    assert type(initializers.deserialize("zeros", custom_objects={"zeros": initializers.Ones})) \
        is initializers.Ones
    assert type(initializers.deserialize("zeros")) is initializers.Zeros


class MyLoss(rv.losses.MeanSquaredError):
    """A user's loss."""


def test_a_loss_of_the_users_own_keeps_its_module_and_registered_name():
    cfg = rv.losses.serialize(MyLoss())
    assert cfg["module"] == __name__ and cfg["registered_name"] == "MyLoss"
    assert type(rv.losses.deserialize(cfg, custom_objects={"MyLoss": MyLoss})) is MyLoss
    builtin = rv.losses.serialize(rv.losses.MeanSquaredError())
    assert builtin["module"] == "keras.losses" and builtin["registered_name"] is None
    with pytest.raises(ValueError, match=r"^Could not interpret loss config: unknown class_name 'MyLoss'; known: "):
        rv.losses.deserialize(cfg)
    with pytest.raises(ValueError, match=r"^Could not interpret loss config: unknown class_name None; known: "):
        rv.losses.deserialize({"config": {}})
