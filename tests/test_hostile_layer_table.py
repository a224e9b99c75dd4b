"""Hostile layer configs against the C++ layer table and its constructor checks.

Dense ``units``, Dropout ``rate``, GaussianNoise ``stddev`` and BatchNormalization
``momentum`` are checked once, in the C++ constructors, and reached four ways: the Python
constructors, ``from_config``, model files (the Python loader and the C++/C API loaders)
and ``_core.layer_check_config`` / ``layer_from_config`` directly. Every hostile value
(bools, NaN, inf, huge ints, negatives, strings, None, nested and self-referencing
containers, NumPy scalars and arrays, objects whose ``__index__``/``__float__`` raise,
missing and extra keys) must give Keras's exception type with a message naming the
argument, never a crash, and the four ways must agree.
"""
import ctypes
import json
import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ranvier
from ranvier import _core, saving
from ranvier import layers as L

import c_api_ctypes as capi

ARGS = [(L.Dense, "units"), (L.Dropout, "rate"), (L.GaussianNoise, "stddev"), (L.BatchNormalization, "momentum")]


class _RaisingIndex:
    def __index__(self):
        raise RuntimeError("no index")


class _RaisingFloat:
    def __float__(self):
        raise RuntimeError("no float")


def _self_list():
    a = []
    a.append(a)
    return a


def _self_dict():
    d = {}
    d["d"] = d
    return d


def _deep(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v


NOT_NUMBERS = [None, "0.5", "abc", b"1", [0.5], (0.5,), {"a": 1}, {0.5}, _self_list(), _self_dict(), _deep(100000),
               _RaisingIndex(), _RaisingFloat(), object(), 0.5j]
BAD_NUMBERS = [-1, -0.5, 1.5, float("nan"), float("inf"), -float("inf"), 10**30, 2**63, 2**64, 10**5000, 1e300,
               np.float64(2.0), np.int64(-3), np.array(2.5), np.array([2.5]), np.array([[0.5, 0.5]])]


def _keras_type(cls, value):
    """The exception Keras 3 raises for this argument value (its checks: Dense
    ``not isinstance(units, int) or units <= 0`` -> ValueError; Dropout/GaussianNoise
    ``not 0 <= v <= 1`` -> TypeError when v is not comparable; BatchNormalization
    ``float(momentum)`` -> TypeError for None or containers)."""
    if cls is L.Dense:
        return ValueError
    if isinstance(value, (str, bytes)) and cls is L.BatchNormalization:
        return ValueError  # float("abc"): ValueError (ranvier also refuses float("0.5") by type)
    if value is None or isinstance(value, (str, bytes, list, tuple, dict, set, complex, object)) and not isinstance(
            value, (int, float, np.generic, np.ndarray)):
        return TypeError
    return ValueError


@pytest.mark.parametrize("cls,arg", ARGS, ids=[a for _, a in ARGS])
@pytest.mark.parametrize("value", NOT_NUMBERS + BAD_NUMBERS, ids=lambda v: type(v).__name__)
def test_constructor_refuses_hostile_values_by_name(cls, arg, value):
    with pytest.raises((ValueError, TypeError)) as info:
        cls(**{arg: value})
    assert isinstance(info.value, _keras_type(cls, value)), type(info.value)
    assert arg in str(info.value)


@pytest.mark.parametrize("cls,arg", ARGS[1:], ids=[a for _, a in ARGS[1:]])
@pytest.mark.parametrize("value", [None, "0.5", [0.5], {"a": 1}])
def test_non_numbers_are_a_type_error_that_is_also_a_value_error(cls, arg, value):
    """Keras raises TypeError (``0 <= None``); ranvier's error has always been a ValueError:
    both catch it."""
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match=arg):
            cls(**{arg: value})


@pytest.mark.parametrize("cls,arg,value", [(L.Dense, "units", 1), (L.Dense, "units", np.int64(7)),
                                           (L.Dense, "units", np.array(3)), (L.Dropout, "rate", 0),
                                           (L.Dropout, "rate", 1), (L.Dropout, "rate", np.float32(0.25)),
                                           (L.GaussianNoise, "stddev", 0.0), (L.GaussianNoise, "stddev", 1.0),
                                           (L.BatchNormalization, "momentum", 0), (L.BatchNormalization, "momentum", 1.0)])
def test_valid_edge_values_are_accepted_and_round_trip(cls, arg, value):
    layer = cls(**{arg: value})
    assert float(getattr(layer, arg)) == float(value)
    again = cls.from_config(layer.get_config())
    assert getattr(again, arg) == getattr(layer, arg)


@pytest.mark.parametrize("cls,arg", ARGS, ids=[a for _, a in ARGS])
def test_from_config_refuses_what_the_constructor_refuses(cls, arg):
    good = {L.Dense: 3, L.Dropout: 0.5, L.GaussianNoise: 0.1, L.BatchNormalization: 0.9}[cls]
    config = cls(**{arg: good}).get_config()
    for value in NOT_NUMBERS[:6] + BAD_NUMBERS[:11]:
        bad = dict(config, **{arg: value})
        with pytest.raises((ValueError, TypeError)) as info:
            cls.from_config(bad)
        assert arg in str(info.value)
    with pytest.raises(ValueError, match="not_an_argument"):
        cls.from_config(dict(config, not_an_argument=1))  # Keras: "Unrecognized keyword arguments"
    if cls is not L.BatchNormalization:  # momentum has a default
        missing = dict(config)
        del missing[arg]
        with pytest.raises((TypeError, ValueError), match=arg):
            cls.from_config(missing)


# ------------------------------------------------------------------ _core directly
@pytest.mark.parametrize("class_name,arg", [("Dense", "units"), ("Dropout", "rate"), ("GaussianNoise", "stddev"),
                                            ("BatchNormalization", "momentum")])
@pytest.mark.parametrize("value", NOT_NUMBERS + BAD_NUMBERS, ids=lambda v: type(v).__name__)
def test_core_check_never_crashes(class_name, arg, value):
    if class_name == "BatchNormalization" and isinstance(value, (list, tuple)) and value == [0.5]:
        pass
    with pytest.raises(ValueError) as info:
        _core.layer_check_config(class_name, {arg: value})
    assert arg in str(info.value) or "nests deeper" in str(info.value)
    with pytest.raises(ValueError):
        _core.layer_from_config(class_name, {arg: value})


def test_core_config_nesting_anywhere_is_refused_by_key():
    for value in (_self_list(), _self_dict(), _deep(65)):
        with pytest.raises(ValueError, match="kernel_initializer nests deeper than 64"):
            _core.layer_from_config("Dense", {"units": 3, "kernel_initializer": value})
    _core.layer_from_config("Dense", {"units": 3, "name": _deep(10)})  # a shallow unknown value is fine


def test_core_unknown_class_names_the_known_ones():
    with pytest.raises(ValueError, match="Dense"):
        _core.layer_check_config("Conv9D", {})
    with pytest.raises(ValueError, match="Conv9D"):
        _core.layer_from_config("Conv9D", {})
    assert {"Dense", "Dropout", "GaussianNoise", "BatchNormalization"} <= set(_core.layer_class_names())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["Dense", "Dropout", "GaussianNoise", "BatchNormalization", "LayerNormalization"]),
       st.dictionaries(st.sampled_from(["units", "rate", "stddev", "momentum", "epsilon", "center", "scale",
                                        "use_bias", "activation", "noise_shape", "seed", "axis", "dtype", "extra"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c,
                                                                                        max_size=3),
                                    max_leaves=10), max_size=5))
def test_core_from_config_fuzz(class_name, config):
    """Random configs: built, or ValueError with a message; nothing else."""
    try:
        layer = _core.layer_from_config(class_name, config)
    except ValueError as e:
        assert str(e)
    else:
        assert layer.type_name


# ------------------------------------------------------------------ model files
_FILE = {}


def _model_blob():
    if "blob" not in _FILE:
        ranvier.utils.set_random_seed(0)
        m = ranvier.Sequential([ranvier.Input(shape=(5,)), L.Dense(8, activation="relu"), L.BatchNormalization(),
                                L.Dropout(0.2), L.GaussianNoise(0.1), L.Dense(3)])
        _FILE["blob"] = saving.model_to_bytes(m)
    return _FILE["blob"]


def _with_value(cls_name, arg, raw_json):
    """The model file with layer ``cls_name``'s ``arg`` set to the JSON text ``raw_json``
    (None: the key removed)."""
    blob = _model_blob()
    n = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    arch = json.loads(header["__metadata__"]["architecture"])
    layer = next(l for l in arch["config"]["layers"] if l["class_name"] == cls_name)
    if raw_json is None:
        layer["config"].pop(arg, None)
        text = json.dumps(arch)
    else:
        layer["config"][arg] = "@@HOSTILE@@"
        text = json.dumps(arch).replace('"@@HOSTILE@@"', raw_json)
    header["__metadata__"]["architecture"] = text
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + data


FILE_VALUES = ["true", "null", '"3"', "-1", "2", "1.5", "9223372036854775808", "1" + "0" * 400, "1e999", "-1e999",
               '{"a": 1}', "[3]", "[[[[[[3]]]]]]", "[" * 70 + "]" * 70, "NaN", "Infinity"]


@pytest.mark.parametrize("cls_name,arg", [("Dense", "units"), ("Dropout", "rate"), ("GaussianNoise", "stddev"),
                                          ("BatchNormalization", "momentum")])
@pytest.mark.parametrize("raw", FILE_VALUES + [None])
def test_model_file_hostile_value_same_outcome_in_every_loader(tmp_path, cls_name, arg, raw):
    blob = _with_value(cls_name, arg, raw)
    path = tmp_path / "m.safetensors"
    path.write_bytes(blob)
    x = np.ones((2, 5), np.float32)
    outcomes = []
    try:
        py = saving.model_from_bytes(blob).predict(x, verbose=0)
        outcomes.append("ok")
    except ValueError as e:
        outcomes.append("error")
        assert str(e)
    try:
        cpp = _core.io_cpp_predict(str(path), x, 32)
        outcomes.append("ok")
    except ValueError as e:
        outcomes.append("error")
        assert str(e)
    h = ctypes.c_void_p()
    status = capi.load(str(path).encode(), ctypes.byref(h))
    if status == 0:
        capi.free(h)
        outcomes.append("ok")
    else:
        outcomes.append("error")
        assert capi.last_error()
    assert len(set(outcomes)) == 1, outcomes  # the Python, C++ and C loaders agree
    if raw is None and cls_name == "BatchNormalization":
        assert outcomes[0] == "ok"  # momentum's default
    elif raw in ("2", "[3]") and cls_name == "Dense":
        assert outcomes[0] == "error"  # the weights are (8, 8)/(8, 3): the shapes disagree
    elif raw not in (None,) or cls_name != "BatchNormalization":
        assert outcomes[0] == "error", (cls_name, arg, raw)
    if outcomes[0] == "ok":
        assert np.array_equal(py, cpp)


def test_model_file_errors_name_the_argument(tmp_path):
    for cls_name, arg in [("Dense", "units"), ("Dropout", "rate"), ("GaussianNoise", "stddev"),
                          ("BatchNormalization", "momentum")]:
        for raw in ('"3"', "null", "-1", "1e999", "[3]"):
            blob = _with_value(cls_name, arg, raw)
            path = tmp_path / "m.safetensors"
            path.write_bytes(blob)
            with pytest.raises(ValueError, match=arg):
                saving.model_from_bytes(blob)
            with pytest.raises(ValueError, match=arg):
                _core.io_cpp_predict(str(path), np.ones((1, 5), np.float32), 32)


@pytest.mark.parametrize("key,raw", [("center", "null"), ("scale", "null"), ("epsilon", "null"),
                                     ("momentum", "null")])
def test_null_for_a_number_or_flag_is_refused_by_every_loader(tmp_path, key, raw):
    """A null momentum/epsilon/center/scale: the Python constructors refuse None, so the
    C++ loader must too (it read the default and built a model the Python loader refused)."""
    blob = _with_value("BatchNormalization", key, raw)
    path = tmp_path / "m.safetensors"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=key):
        saving.model_from_bytes(blob)
    with pytest.raises(ValueError, match=key):
        _core.io_cpp_predict(str(path), np.ones((1, 5), np.float32), 32)


def test_extra_keys_in_a_file_are_refused_by_the_python_loader_by_name():
    """Keras's from_config refuses an unknown argument (ValueError naming it). The C++ and C
    loaders build what they know and ignore the rest (a documented leniency): when they do,
    their numbers are the file's without that key."""
    blob = _with_value("Dropout", "some_future_argument", '{"nested": [1, 2, {"x": null}]}')
    with pytest.raises(ValueError, match="some_future_argument"):
        saving.model_from_bytes(blob)


SEEDED = [(L.Dropout, {"rate": 0.5}), (L.GaussianNoise, {"stddev": 0.5}), (L.GaussianDropout, {"rate": 0.5}),
          (L.AlphaDropout, {"rate": 0.5})]


@pytest.mark.parametrize("cls,kw", SEEDED, ids=[c.__name__ for c, _ in SEEDED])
@pytest.mark.parametrize("rate", [None, "0.5", [0.5], {"a": 1}, 0.5j])
def test_every_seeded_layer_refuses_a_non_number_as_type_and_value_error(cls, kw, rate):
    arg = next(iter(kw))
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match=arg):
            cls(**{arg: rate})


@pytest.mark.parametrize("cls,kw", SEEDED, ids=[c.__name__ for c, _ in SEEDED])
@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, "x", True, float("nan"), [1], {"s": 1}])
def test_seeded_layers_refuse_bad_seeds_alike(cls, kw, seed):
    """Keras's SeedGenerator raises ValueError for a non-int seed; both seeded layers do, by
    name, and the core's reader (model files) refuses the same values."""
    with pytest.raises(ValueError, match="seed"):
        cls(seed=seed, **kw)
    with pytest.raises(ValueError, match="seed"):
        _core.layer_from_config(cls.__name__, dict(kw, seed=seed))
    assert cls(seed=2**64 - 1, **kw).seed == 2**64 - 1


@pytest.mark.parametrize("cls_name,arg", [("Dense", "units"), ("Dropout", "rate"), ("GaussianNoise", "stddev")])
def test_a_missing_required_argument_is_named_as_missing(tmp_path, cls_name, arg):
    blob = _with_value(cls_name, arg, None)
    path = tmp_path / "m.safetensors"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=f"'{arg}' is missing"):
        _core.io_cpp_predict(str(path), np.ones((1, 5), np.float32), 32)
    with pytest.raises(ValueError, match=arg):
        saving.model_from_bytes(blob)
    with pytest.raises(ValueError, match=f"'{arg}' is missing"):
        _core.layer_check_config(cls_name, {})


@pytest.mark.parametrize("value", ["\ud800", "a\x00b", "\u00e9" * 300, list(range(100000)), {"k\x00": "x"}],
                         ids=["surrogate", "nul", "long", "huge-list", "nul-key"])
def test_odd_strings_and_huge_values_are_named_in_a_bounded_message(value):
    """A lone surrogate (not UTF-8) or a NUL (it ended the C++ message) is escaped as
    Python's repr does; a huge value is cut to a few hundred characters."""
    for make, arg in ((L.Dense, "units"), (L.Dropout, "rate"), (L.GaussianNoise, "stddev")):
        with pytest.raises(ValueError) as info:
            make(value)
        text = str(info.value)
        assert f"{arg}=" in text and len(text) < 400
        if isinstance(value, str) and "\x00" in value:
            assert "\\x00" in text and text.rstrip().endswith("'")
    _core.layer_from_config("Dense", {"units": 3, "name": value})  # an unread key: no check, no crash


@pytest.mark.parametrize("shape", [(2.5, 2), (np.float32(2.0), 3), (True, 2), "4", ("a", 2), ([2], 2)],
                         ids=["float", "np-float", "bool", "str", "str-dim", "list-dim"])
def test_a_layers_input_shape_holds_ints_only(shape):
    """input_shape=(2.5, 2) became (2, 2) (int() truncates) and "4" became (4,): Keras's
    standardize_shape refuses floats and strings, as ranvier.Input does."""
    with pytest.raises(ValueError, match="input_shape"):
        ranvier.Sequential([L.Flatten(input_shape=shape), L.Dense(1)])
    with pytest.raises(ValueError):
        ranvier.Sequential([L.Input(shape), L.Flatten(), L.Dense(1)])
    assert ranvier.Sequential([L.Flatten(input_shape=(np.int64(2), 3)), L.Dense(1)]).input_shape == (None, 2, 3)


@pytest.mark.parametrize("value", ["x", 10**5000, _self_list(), {"k": 1}, 0.5j, [[1], [2, 3]]],
                         ids=["str", "huge-int", "self-list", "dict", "complex", "ragged"])
def test_tabular_table_layers_name_hostile_arguments(value):
    """Discretization's bin_boundaries and ActivityRegularization's l1/l2 (rows of the same
    table): NumPy's or float()'s own error (not naming the argument) or an OverflowError
    became ValueError naming it, with a bounded message."""
    with pytest.raises(ValueError, match="bin_boundaries"):
        L.Discretization(bin_boundaries=value)
    for arg in ("l1", "l2"):
        with pytest.raises(ValueError, match=arg) as info:
            L.ActivityRegularization(**{arg: value})
        assert len(str(info.value)) < 400
