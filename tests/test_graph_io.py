"""Functional (graph) models in ranvier's model file, read by the C++ loader and run through
the C API (ctypes: the real C ABI): several inputs and outputs with names and widths, shared
layers, merge layers, nested models, a file the C++ API rewrites, and hostile graphs refused
with a message that names the layer (by the C API and by the check Python's loader runs).

The files are written by hand in Keras's functional layout (tests/graph_files.py) and the
predictions compared with a NumPy float64 forward pass of the same graph: float32 rounding
over reductions of at most 8 terms, rtol 1e-5 (atol 1e-6 for values near 0)."""
import copy
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import c_api_ctypes as capi
import graph_files
from ranvier import _core

OK, INVALID = 0, 1
RTOL, ATOL = 1e-5, 1e-6


def _check(path):
    blob = open(path, "rb").read()
    _core.io_check_model(blob, len(blob))


def _data(g, n=29, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, int(np.prod(g.by_name[name]["config"]["batch_shape"][1:])))).astype(np.float32)
            for name in g.inputs]


def _load(path):
    status, h = capi.load_handle(path)
    assert status == OK, capi.last_error()
    return h


def test_c_api_reads_names_widths_and_predicts_two_outputs(tmp_path):
    g = graph_files.two_in_two_out()
    p = tmp_path / "g.safetensors"
    graph_files.write(p, g.config(), g.weights)
    _check(p)
    h = _load(p)
    try:
        assert capi.describe(h) == {"inputs": [("a", 3, "float32"), ("b", 2, "float32")],
                                    "outputs": [("out1", 2), ("out2", 1)]}
        xs = _data(g)
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK, capi.last_error()
        for got, want in zip(outs, g.forward(xs)):
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
        # the row count does not change the numbers (batches of 256 inside)
        _, first = capi.predict_multi_arrays(h, [x[:5] for x in xs])
        assert all(np.array_equal(a, b[:5]) for a, b in zip(first, outs))
        assert capi.input_name(h, 2) is None and capi.output_width(h, -1) == 0
        assert capi.num_inputs(None) == 0 and capi.input_name(None, 0) is None
    finally:
        capi.free(h)


def test_predict_multi_refuses_wrong_counts_and_short_outputs(tmp_path):
    g = graph_files.two_in_two_out()
    p = tmp_path / "g.safetensors"
    graph_files.write(p, g.config(), g.weights)
    h = _load(p)
    try:
        xs = _data(g, n=7)
        status, _ = capi.predict_multi_arrays(h, xs[:1])
        assert status == INVALID and b"2 input(s)" in capi.last_error()
        status, _ = capi.predict_multi_arrays(h, xs, out_lens=[14, 6])
        assert status == INVALID
        assert b"'out2'" in capi.last_error() and b"holds 6 floats" in capi.last_error()
        x0 = np.zeros((7, 3), np.float32)
        out = np.zeros((7, 2), np.float32)
        assert capi.predict(h, x0.ctypes.data, 7, out.ctypes.data, out.size) == INVALID
        assert b"2 input(s) and 2 output(s)" in capi.last_error()
        assert capi.input_size(h) == 3 and capi.output_size(h) == 2  # the first input's / output's
        status, _ = capi.encode_input_strings_array(h, 0, ["x"])
        assert status == INVALID and b"input 'a'" in capi.last_error()
        status, _ = capi.encode_input_ints_array(h, 5, [1])
        assert status == INVALID and b"out of range" in capi.last_error()
    finally:
        capi.free(h)


def test_dict_outputs_are_named_by_key_in_sorted_order(tmp_path):
    g = graph_files.two_in_two_out()
    g.set_outputs(*g.outputs, keys=["z_score", "a_prob"])  # sorted: a_prob (out2), z_score (out1)
    p = tmp_path / "g.safetensors"
    graph_files.write(p, g.config(), g.weights)
    h = _load(p)
    try:
        assert capi.describe(h)["outputs"] == [("a_prob", 1), ("z_score", 2)]
        xs = _data(g)
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK
        for got, want in zip(outs, g.forward(xs)):
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    finally:
        capi.free(h)


def test_every_merge_layer_and_an_input_used_twice(tmp_path):
    g = graph_files.Graph("merges", seed=3)
    a, b = g.input("a", (4,)), g.input("b", (4,))
    refs = []
    for cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        g.layer(cls, cls.lower())
        refs.append(g.call(cls.lower(), a, b, as_list=True))
    g.layer("Concatenate", "cat", axis=-1)
    g.dense("head", 24, 3, "tanh")
    out = g.call("head", g.call("cat", *refs, as_list=True))
    g.dense("side", 4, 2)
    g.set_outputs(out, g.call("side", a))
    p = tmp_path / "m.safetensors"
    graph_files.write(p, g.config(), g.weights)
    h = _load(p)
    try:
        xs = _data(g, n=40, seed=5)
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK, capi.last_error()
        for got, want in zip(outs, g.forward(xs)):
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    finally:
        capi.free(h)


def _nested_sequential(name, in_width, units, seed):
    rng = np.random.default_rng(seed)
    k = rng.uniform(-0.5, 0.5, (in_width, units)).astype(np.float32)
    b = rng.uniform(-0.2, 0.2, units).astype(np.float32)
    entry = {"module": "keras", "class_name": "Sequential", "name": name,
             "config": {"name": name, "layers": [
                 {"class_name": "InputLayer", "config": {"batch_shape": [None, in_width], "name": f"{name}_in"}},
                 {"class_name": "Dense", "config": {"name": f"{name}_dense", "units": units, "activation": "relu"}}]},
             "inbound_nodes": []}
    return entry, {f"layers/{name}_dense/kernel": k, f"layers/{name}_dense/bias": b}


def test_a_nested_sequential_called_twice_is_inlined_with_shared_weights(tmp_path):
    g = graph_files.Graph("outer", seed=4)
    a, b = g.input("a", (3,)), g.input("b", (3,))
    entry, w = _nested_sequential("tower", 3, 5, seed=9)
    g.entries.append(entry)
    g.by_name["tower"] = entry
    g.weights.update(w)
    ta, tb = g.call("tower", a, out_shape=(5,)), g.call("tower", b, out_shape=(5,))
    g.layer("Add", "sum")
    g.dense("out", 5, 1)
    g.set_outputs(g.call("out", g.call("sum", ta, tb, as_list=True)))
    p = tmp_path / "n.safetensors"
    graph_files.write(p, g.config(), g.weights)
    h = _load(p)
    try:
        xs = _data(g, n=11)
        k = w["layers/tower_dense/kernel"].astype(np.float64)
        bias = w["layers/tower_dense/bias"].astype(np.float64)
        tower = [np.maximum(x.astype(np.float64) @ k + bias, 0.0) for x in xs]
        want = (tower[0] + tower[1]) @ g.weights["layers/out/kernel"].astype(np.float64) + g.weights["layers/out/bias"]
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK, capi.last_error()
        np.testing.assert_allclose(outs[0], want, rtol=RTOL, atol=ATOL)
    finally:
        capi.free(h)


def test_a_file_the_cpp_api_rewrites_keeps_its_graph_and_predictions(tmp_path):
    g = graph_files.two_in_two_out(seed=2)
    p, q = tmp_path / "g.safetensors", tmp_path / "g2.safetensors"
    graph_files.write(p, g.config(), g.weights)
    _core.io_cpp_resave(str(p), str(q))
    _check(q)
    meta = _core.io_parse_header(open(q, "rb").read(), q.stat().st_size, True)["metadata"]
    assert json.loads(meta["architecture"]) == g.config()  # written back as read
    hp, hq = _load(p), _load(q)
    try:
        xs = _data(g, n=13)
        a, b = capi.predict_multi_arrays(hp, xs)[1], capi.predict_multi_arrays(hq, xs)[1]
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    finally:
        capi.free(hp)
        capi.free(hq)


# ------------------------------------------------------------------ hostile graphs
def _mutated(mutate):
    g = graph_files.two_in_two_out()
    arch = g.config()
    mutate(arch["config"])
    return arch, g.weights


def _layer(cfg, name):
    return next(e for e in cfg["layers"] if e["name"] == name)


def _history(cfg, name, node=0, arg=0, item=None):
    a = _layer(cfg, name)["inbound_nodes"][node]["args"][arg]
    return (a[item] if item is not None else a)["config"]["keras_history"]


def _cycle(c):
    _history(c, "d1")[:2] = ["out1", 0]  # d1 <- out1 <- cat <- shared <- d1


def _self_loop(c):
    _history(c, "out2")[0] = "out2"


def _unknown_layer(c):
    _history(c, "out1")[0] = "ghost"


def _bad_node(c):
    _history(c, "cat", item=1)[1] = 5


def _bad_tensor(c):
    _history(c, "out2")[2] = 1


def _input_node(c):
    _history(c, "d1")[1] = 1


def _not_an_input(c):
    c["input_layers"][1] = ["d1", 0, 0]


def _input_missing(c):
    c["input_layers"].pop()


def _unused_input(c):
    _history(c, "e")[0] = "a"
    _layer(c, "e")["inbound_nodes"][0]["args"][0]["config"]["shape"] = [None, 3]
    _layer(c, "e")["config"]["units"] = 4


def _never_called(c):
    _layer(c, "add")["inbound_nodes"] = []


def _duplicate_name(c):
    e = _layer(c, "e")
    e["name"] = e["config"]["name"] = "d1"


def _shared_widths(c):
    _history(c, "shared", node=1)[0] = "b"
    _layer(c, "shared")["inbound_nodes"][1]["args"][0]["config"]["shape"] = [None, 2]


def _shape_lies(c):
    _layer(c, "out1")["inbound_nodes"][0]["args"][0]["config"]["shape"] = [None, 9]


def _output_unknown(c):
    c["output_layers"][1] = ["nope", 0, 0]


def _dense_two_inputs(c):
    node = _layer(c, "out2")["inbound_nodes"][0]
    node["args"] = [[node["args"][0], copy.deepcopy(node["args"][0])]]


def _kwarg_tensor(c):
    node = _layer(c, "out2")["inbound_nodes"][0]
    node["kwargs"] = {"mask": copy.deepcopy(node["args"][0])}


def _not_a_tensor(c):
    _layer(c, "out2")["inbound_nodes"][0]["args"].append(3.5)


def _name_mismatch(c):
    _layer(c, "e")["config"]["name"] = "other"


HOSTILE = [
    (_cycle, "cycle"), (_self_loop, "cycle"), (_unknown_layer, "'ghost', which is no layer"),
    (_bad_node, "call 5 of layer 'shared', which is called 2 time(s)"),
    (_bad_tensor, "output 1 of layer 'add', which has 1"), (_input_node, "InputLayer 'a' has one tensor"),
    (_not_an_input, "'d1', which is not an InputLayer"), (_input_missing, "InputLayer 'b' is not in input_layers"),
    (_unused_input, "input 'b' feeds no layer"), (_never_called, "layer 'add' (Add) is never called"),
    (_duplicate_name, "two layers are named 'd1'"), (_shared_widths, "layer 'shared' (Dense) is called on inputs of widths (4) then (2)"),
    (_shape_lies, "layer 'out1' (Dense), call 0: input 0 has 8 values per sample"),
    (_output_unknown, "'nope', which is no layer"),
    (_dense_two_inputs, "layer 'out2' (Dense) takes one input, called on 2"),
    (_kwarg_tensor, "keyword argument 'mask' passes a tensor"), (_not_a_tensor, "layer 'out2' (Dense), call 0: expected a tensor"),
    (_name_mismatch, "has another name in its config"),
]


@pytest.mark.parametrize("mutate,expect", HOSTILE, ids=[m.__name__.strip("_") for m, _ in HOSTILE])
def test_hostile_graphs_are_refused_naming_the_layer(tmp_path, mutate, expect):
    arch, weights = _mutated(mutate)
    p = tmp_path / "bad.safetensors"
    graph_files.write(p, arch, weights)
    with pytest.raises(ValueError) as e:
        _check(p)
    assert expect in str(e.value)
    status, h = capi.load_handle(p)
    assert status == INVALID and not h.value
    msg = capi.last_error().decode()
    assert expect in msg and "invalid model file" in msg
    import ranvier  # Python's loader runs the same check first: a ValueError naming the file and the layer
    with pytest.raises(ValueError, match=re.escape(expect)) as py_err:
        ranvier.models.load_model(p)
    assert "bad.safetensors" in str(py_err.value)


def test_a_graph_asking_for_more_weights_than_the_file_holds_is_refused_before_allocating(tmp_path):
    def huge(c):
        _layer(c, "out1")["config"]["units"] = 1 << 30
    arch, weights = _mutated(huge)
    p = tmp_path / "big.safetensors"
    graph_files.write(p, arch, weights)
    status, _ = capi.load_handle(p)
    assert status == INVALID and b"more weights than the file holds" in capi.last_error()
    assert b"'out1'" in capi.last_error()


def test_a_layer_build_config_is_checked_against_the_graph(tmp_path):
    """Python's loader builds a layer from its build_config before the model: a width the
    graph does not give the layer is refused first, naming both."""
    def edit(c):
        _layer(c, "out2")["build_config"] = {"input_shape": [None, 5]}
    arch, weights = _mutated(edit)
    p = tmp_path / "bc.safetensors"
    graph_files.write(p, arch, weights)
    expect = "layer 'out2' (Dense) was built for 5 input features (its build_config), but the model's input gives it 4"
    with pytest.raises(ValueError, match=re.escape(expect)):
        _check(p)
    status, _ = capi.load_handle(p)
    assert status == INVALID and expect.encode() in capi.last_error()


def test_layers_after_a_custom_layer_are_still_held_to_the_files_weights(tmp_path):
    """After a layer C++ does not know (a Python custom layer: Python's loader checks the file
    with allow_unknown), widths are unknown until a tensor's shape gives them, and a layer's
    build_config still bounds what it may allocate."""
    def edit(c):
        _layer(c, "add")["class_name"] = "MyCustomMerge"
        del _layer(c, "out2")["inbound_nodes"][0]["args"][0]["config"]["shape"]
        _layer(c, "out2")["build_config"] = {"input_shape": [None, 1 << 28]}
    arch, weights = _mutated(edit)
    p = tmp_path / "custom.safetensors"
    graph_files.write(p, arch, weights)
    with pytest.raises(ValueError, match="more weights than the file holds .layer 'out2'"):
        _check(p)
    status, _ = capi.load_handle(p)  # the C API knows no custom layer
    assert status == INVALID and b"'MyCustomMerge' is not one C++ can load" in capi.last_error()


def test_nesting_and_call_counts_are_bounded(tmp_path):
    g = graph_files.Graph("deep")
    a = g.input("a", (2,))
    inner = g.config()
    inner["config"]["layers"].append({"class_name": "Identity", "name": "idn", "config": {"name": "idn"},
                                      "inbound_nodes": [{"args": [graph_files.keras_tensor(a)], "kwargs": {}}]})
    inner["config"]["output_layers"] = [["idn", 0, 0]]
    arch = inner
    for depth in range(20):  # each level calls the previous model on its own input
        name = f"m{depth}"
        arch = dict(copy.deepcopy(arch), name=name)
        arch["config"] = dict(arch["config"], name=name)
        outer = {"module": "keras.src.models.functional", "class_name": "Functional",
                 "config": {"name": f"o{depth}", "layers": [
                     {"class_name": "InputLayer", "name": "a", "config": {"batch_shape": [None, 2], "name": "a"},
                      "inbound_nodes": []},
                     dict(arch, inbound_nodes=[{"args": [graph_files.keras_tensor(a)], "kwargs": {}}])],
                     "input_layers": [["a", 0, 0]], "output_layers": [[name, 0, 0]]}}
        arch = outer
    p = tmp_path / "deep.safetensors"
    graph_files.write(p, arch, {})
    status, _ = capi.load_handle(p)
    assert status == INVALID
    assert b"nest more than 16 deep" in capi.last_error() or b"nesting" in capi.last_error()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_edits_of_a_graph_config_are_accepted_or_refused_cleanly(tmp_path_factory, data):
    """Any value of the config replaced by a random one: the C++ loader accepts the file or
    raises ValueError (the C API: RANVIER_ERROR_INVALID_ARGUMENT), never anything else."""
    g = graph_files.two_in_two_out()
    arch = g.config()
    paths = []

    def walk(v, path):
        paths.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + (i,))
    walk(arch["config"], ())
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths[1:]))
        new = data.draw(st.one_of(st.integers(-3, 12), st.sampled_from(["a", "b", "d1", "shared", "cat", "out1", ""]),
                                  st.none(), st.just([]), st.just({}), st.booleans()))
        try:
            target = arch["config"]
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = new
        except (KeyError, IndexError, TypeError):
            continue
    p = tmp_path_factory.mktemp("fuzz") / "f.safetensors"
    graph_files.write(p, arch, g.weights)
    try:
        _check(p)
    except ValueError:
        pass
    status, h = capi.load_handle(p)
    assert status in (OK, INVALID), capi.last_error()
    if status == OK:
        capi.free(h)


# ------------------------------------------------------------------ Python <-> C++ files
def _python_graph(seed=3):
    import ranvier
    from ranvier import layers
    ranvier.utils.set_random_seed(seed)
    a, b = ranvier.Input(shape=(3,), name="a"), ranvier.Input(shape=(2,), name="b")
    shared = layers.Dense(4, name="shared")
    s1 = shared(layers.Dense(4, activation="relu", name="d1")(a))
    s2 = shared(layers.Dense(4, activation="tanh", name="e")(b))
    o1 = layers.Dense(2, name="out1")(layers.Concatenate(name="cat")([s1, s2]))
    o2 = layers.Dense(1, activation="sigmoid", name="out2")(layers.Add(name="add")([s1, s2]))
    m = ranvier.Model([a, b], [o1, o2])
    m.compile(optimizer="adam", loss=["mse", "binary_crossentropy"], loss_weights=[1.0, 0.5])
    r = np.random.RandomState(0)
    data = ([r.normal(size=(40, 3)).astype(np.float32), r.normal(size=(40, 2)).astype(np.float32)],
            [r.normal(size=(40, 2)).astype(np.float32), (r.rand(40, 1) > 0.5).astype(np.float32)])
    return m, data


def _rewrite_architecture(src, dst, edit):
    """The file ``src`` with its architecture edited (weights and optimizer state kept)."""
    blob = open(src, "rb").read()
    h = _core.io_parse_header(blob, len(blob), True)
    data = memoryview(blob)[h["data_start"]:]
    meta = dict(h["metadata"])
    arch = json.loads(meta["architecture"])
    edit(arch)
    meta["architecture"] = json.dumps(arch)
    tensors = [(t["name"], np.frombuffer(data[t["begin"]:t["end"]], "<f4").reshape(t["shape"]).copy())
               for t in h["tensors"]]
    _core.io_write_safetensors(str(dst), tensors, list(meta.items()))


def test_a_python_graph_file_predicts_and_resumes_exactly_through_the_cpp_api(tmp_path):
    """Python saves a trained graph (Adam state included); the C API predicts it bit for bit;
    the C++ API rewrites it; Python loads either file and resumes training identically."""
    import ranvier
    m, (xs, ys) = _python_graph()
    m.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
    p, q = tmp_path / "py.safetensors", tmp_path / "cpp.safetensors"
    m.save(p)
    want = m.predict(xs, verbose=0)
    h = _load(p)
    try:
        assert capi.describe(h)["outputs"] == [("out1", 2), ("out2", 1)]
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK and all(np.array_equal(g, w) for g, w in zip(outs, want))
    finally:
        capi.free(h)
    _core.io_cpp_resave(str(p), str(q))
    resumed = []
    for path in (p, q):
        r = ranvier.models.load_model(path)
        assert r.optimizer.iterations == m.optimizer.iterations
        r.fit(xs, ys, epochs=1, batch_size=8, verbose=0, shuffle=False)
        resumed.append(r.get_weights())
    m.fit(xs, ys, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b, c in zip(m.get_weights(), *resumed):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_optimizer_slots_follow_the_weights_when_loaders_order_nodes_differently(tmp_path):
    """The config's layers listed in reverse (valid: Keras replays a node once its inputs
    exist): the C++ network then adds 'e' before 'd1' and 'shared', another parameter layout
    than the saving model's. The file's param_order moves each weight's optimizer slots to its
    place, in C++ (load, then save) and in Python (load), so training resumes exactly."""
    import ranvier
    m, (xs, ys) = _python_graph(seed=5)
    m.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
    p, rev, q = tmp_path / "py.safetensors", tmp_path / "rev.safetensors", tmp_path / "cpp.safetensors"
    m.save(p)
    _rewrite_architecture(p, rev, lambda a: a["config"]["layers"].reverse())
    _core.io_cpp_resave(str(rev), str(q))
    meta = _core.io_parse_header(open(q, "rb").read(), q.stat().st_size, True)["metadata"]
    cpp_order = [f"{l}/{w}" for l, w in json.loads(meta["optimizer_state"])["param_order"]]
    py_order = [n for _, _, n in sorted(m._param_segments())]
    assert sorted(cpp_order) == sorted(py_order) and cpp_order != py_order  # the layouts differ
    m.fit(xs, ys, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for path in (rev, q):
        r = ranvier.models.load_model(path)
        r.fit(xs, ys, epochs=1, batch_size=8, verbose=0, shuffle=False)
        for name in ("d1", "e", "shared", "out1", "out2"):
            for a, b in zip(m.get_layer(name).get_weights(), r.get_layer(name).get_weights()):
                assert np.array_equal(a, b), (path.name, name)


def test_a_c_app_feeds_raw_strings_and_int_keys_as_python_predict_takes_them(tmp_path):
    """String and int64 inputs (dtype 'string' / 'int64': they feed a StringLookup /
    IntegerLookup): the C app encodes the same raw keys Python's predict takes through the
    model (ranvier_model_encode_input_strings / _ints) and predicts Python's numbers exactly.
    A dict of inputs is in sorted-key order, as Keras flattens it."""
    import ranvier
    from ranvier import layers
    ranvier.utils.set_random_seed(1)
    city = ranvier.Input(shape=(1,), dtype="string", name="city")
    num = ranvier.Input(shape=(3,), name="num")
    code = ranvier.Input(shape=(2,), dtype="int64", name="code")
    c = layers.StringLookup(vocabulary=["paris", "rome", "oslo"], output_mode="one_hot", name="city_lookup")(city)
    k = layers.IntegerLookup(vocabulary=[10, 20, 30, 40], output_mode="multi_hot", name="code_lookup")(code)
    h = layers.Concatenate(name="cat")([c, k, layers.Dense(4, activation="relu", name="numd")(num)])
    m = ranvier.Model({"num": num, "city": city, "code": code}, layers.Dense(2, name="out")(h))
    xs = {"city": np.array([["paris"], ["oslo"], ["lima"], ["rome"], ["é"]]),
          "num": np.random.RandomState(0).normal(size=(5, 3)).astype(np.float32),
          "code": np.array([[10, 40], [99, 20], [30, 30], [20, 10], [-1, 0]], dtype=np.int64)}
    want = m.predict(xs, verbose=0)
    p = tmp_path / "lookup.safetensors"
    m.save(p)
    h = _load(p)
    try:
        assert capi.describe(h)["inputs"] == [("city", 1, "string"), ("code", 2, "int64"), ("num", 3, "float32")]
        status, cities = capi.encode_input_strings_array(h, 0, list(xs["city"].ravel()))
        assert status == OK, capi.last_error()
        # Keras's layout: OOV 0, then the vocabulary from 1
        np.testing.assert_array_equal(cities, [1, 3, 0, 2, 0])
        status, codes = capi.encode_input_ints_array(h, 1, xs["code"].ravel())
        assert status == OK, capi.last_error()
        status, outs = capi.predict_multi_arrays(h, [cities.reshape(5, 1), codes.reshape(5, 2), xs["num"]])
        assert status == OK, capi.last_error()
        np.testing.assert_array_equal(outs[0], want)
        # the wrong kind of keys, or a float input, is refused naming the input
        status, _ = capi.encode_input_ints_array(h, 0, [1])
        assert status == INVALID and b"input 'city'" in capi.last_error()
        status, _ = capi.encode_input_strings_array(h, 2, ["x"])
        assert status == INVALID and b"input 'num'" in capi.last_error()
    finally:
        capi.free(h)


def _local_app(tmp_path, source, cpp):
    """examples/<c|cpp>/main.* compiled against a local build's static library (skipped when
    there is none or no compiler; CI builds the installed package's examples, .ci/embed.sh)."""
    import glob
    import os
    import shutil
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    libs = sorted(glob.glob(os.path.join(root, "build", "*", "libranvier_core.a")), key=os.path.getmtime)
    cc = shutil.which("c++" if cpp else "cc") or shutil.which("g++" if cpp else "gcc")
    if not libs or cc is None:
        pytest.skip("no local build of libranvier_core.a, or no compiler")
    app = tmp_path / ("predict_cpp" if cpp else "predict_c")
    std = ["-std=c++17"] if cpp else ["-std=c99", "-lstdc++"]
    build = subprocess.run([cc, "-O1", os.path.join(root, "examples", source), "-I", os.path.join(root, "cpp", "include"),
                            libs[-1], *std, "-fopenmp", "-lm", "-o", str(app)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"the example does not link against {libs[-1]} here: {build.stderr[-500:]}")
    return app


@pytest.mark.parametrize("source,cpp", [("c/main.c", False), ("cpp/main.cpp", True)], ids=["c", "cpp"])
def test_the_example_apps_predict_a_python_graph_with_raw_inputs_exactly(tmp_path, source, cpp):
    """The C and C++ example apps (one input file per model input: floats, int64 keys, or
    one string key per line) print a 3-input, 2-output graph's predictions as Python's."""
    import subprocess
    import ranvier
    from ranvier import layers
    app = _local_app(tmp_path, source, cpp)
    ranvier.utils.set_random_seed(4)
    city = ranvier.Input(shape=(1,), dtype="string", name="city")
    code = ranvier.Input(shape=(2,), dtype="int64", name="code")
    num = ranvier.Input(shape=(3,), name="num")
    c = layers.StringLookup(vocabulary=["paris", "rome", "oslo"], output_mode="one_hot")(city)
    k = layers.IntegerLookup(vocabulary=[10, 20, 30], output_mode="count")(code)
    hid = layers.Dense(5, activation="relu", name="hid")(layers.Concatenate()([c, k, num]))
    m = ranvier.Model([city, code, num], [layers.Dense(2, name="o1")(hid), layers.Dense(1, name="o2")(num)])
    r = np.random.RandomState(2)
    xs = [np.array([["rome"], ["paris"], ["nice"], ["oslo"]]), np.array([[10, 10], [30, 7], [20, 10], [0, 30]]),
          r.normal(size=(4, 3)).astype(np.float32)]
    want = np.concatenate(m.predict(xs, verbose=0), axis=1)
    m.save(tmp_path / "m.safetensors")
    (tmp_path / "city.txt").write_text("\n".join(xs[0].ravel()) + "\n")
    xs[1].astype("<i8").tofile(tmp_path / "code.i64")
    xs[2].astype("<f4").tofile(tmp_path / "num.f32")
    out = subprocess.run([str(app), str(tmp_path / "m.safetensors"), str(tmp_path / "city.txt"),
                          str(tmp_path / "code.i64"), str(tmp_path / "num.f32")],
                         capture_output=True, text=True, check=True).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.strip().splitlines()]).astype(np.float32)
    np.testing.assert_array_equal(got, want)  # %.9g round-trips float32
    bad = subprocess.run([str(app), str(tmp_path / "m.safetensors"), str(tmp_path / "num.f32")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "city (string, 1 per row)" in bad.stderr


def test_nested_models_called_twice_per_level_cannot_multiply_into_a_huge_network(tmp_path):
    """Each level calls the previous model twice: 2**15 layer calls from a file of a few KB.
    Refused (the inlined call count is bounded) quickly, before anything is built."""
    import time
    a = ("a", 0, (2,))
    inner = {"module": "keras.src.models.functional", "class_name": "Functional", "name": "m0",
             "config": {"name": "m0", "layers": [
                 {"class_name": "InputLayer", "name": "a", "config": {"batch_shape": [None, 2], "name": "a"},
                  "inbound_nodes": []},
                 {"class_name": "Identity", "name": "idn", "config": {"name": "idn"},
                  "inbound_nodes": [{"args": [graph_files.keras_tensor(a)], "kwargs": {}}]}],
                 "input_layers": [["a", 0, 0]], "output_layers": [["idn", 0, 0]]}}
    model = inner
    for level in range(1, 16):
        name = f"m{level}"
        prev = model["name"]
        call = {"args": [graph_files.keras_tensor(a)], "kwargs": {}}
        again = {"args": [graph_files.keras_tensor((prev, 0, (2,)))], "kwargs": {}}
        model = {"module": "keras.src.models.functional", "class_name": "Functional", "name": name,
                 "config": {"name": name, "layers": [
                     {"class_name": "InputLayer", "name": "a", "config": {"batch_shape": [None, 2], "name": "a"},
                      "inbound_nodes": []},
                     dict(model, inbound_nodes=[call, again])],
                     "input_layers": [["a", 0, 0]], "output_layers": [[prev, 1, 0]]}}
    p = tmp_path / "bomb.safetensors"
    graph_files.write(p, model, {})
    t0 = time.process_time()
    status, _ = capi.load_handle(p)
    assert status == INVALID and b"layer calls (nested models inlined)" in capi.last_error()
    with pytest.raises(ValueError, match="nested models inlined"):
        _check(p)
    assert time.process_time() - t0 < 30  # generous: refused long before 32768 calls are built


def test_a_nested_functional_model_with_two_inputs_is_inlined(tmp_path):
    import ranvier
    from ranvier import layers
    ranvier.utils.set_random_seed(8)
    u, v = ranvier.Input(shape=(3,), name="u"), ranvier.Input(shape=(3,), name="v")
    inner = ranvier.Model([u, v], layers.Dense(2, name="inner_out")(layers.Multiply(name="mul")([u, v])),
                          name="inner")
    a, b = ranvier.Input(shape=(3,), name="a"), ranvier.Input(shape=(3,), name="b")
    outer = ranvier.Model([a, b], layers.Dense(1, name="head")(inner([layers.Dense(3, name="pa")(a), b])))
    xs = [np.random.RandomState(1).normal(size=(6, 3)).astype(np.float32) for _ in range(2)]
    want = outer.predict(xs, verbose=0)
    p = tmp_path / "nested.safetensors"
    outer.save(p)
    h = _load(p)
    try:
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK, capi.last_error()
        np.testing.assert_array_equal(outs[0], want)
    finally:
        capi.free(h)


def test_a_dict_loss_and_loss_weights_survive_a_cpp_rewrite(tmp_path):
    """compile(loss={...}, loss_weights={...}) by output name: the C++ API restores the
    training state from it (else its save would drop it) and writes it back as it was."""
    import ranvier
    m, (xs, ys) = _python_graph(seed=7)
    m.compile(optimizer="sgd", loss={"out2": "binary_crossentropy", "out1": "mae"},
              loss_weights={"out1": 2.0, "out2": 0.25})
    m.fit(xs, ys, epochs=1, batch_size=10, verbose=0)
    p, q = tmp_path / "py.safetensors", tmp_path / "cpp.safetensors"
    m.save(p)
    _core.io_cpp_resave(str(p), str(q))
    meta = [_core.io_parse_header(open(f, "rb").read(), f.stat().st_size, True)["metadata"] for f in (p, q)]
    cc = [json.loads(x["compile_config"]) for x in meta]
    assert cc[1]["loss"] == cc[0]["loss"] and cc[1]["loss_weights"] == cc[0]["loss_weights"]
    r = ranvier.models.load_model(q)
    assert r.optimizer.iterations == m.optimizer.iterations
    np.testing.assert_allclose(r.evaluate(xs, ys, verbose=0), m.evaluate(xs, ys, verbose=0), rtol=1e-6)


def test_concurrent_predictions_on_one_graph_model(tmp_path):
    import threading
    g = graph_files.two_in_two_out(seed=6)
    p = tmp_path / "g.safetensors"
    graph_files.write(p, g.config(), g.weights)
    h = _load(p)
    xs = _data(g, n=300)
    want = capi.predict_multi_arrays(h, xs)[1]
    results = []

    def work():
        for _ in range(10):
            results.append(capi.predict_multi_arrays(h, xs))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    capi.free(h)
    assert len(results) == 40
    assert all(s == OK and all(np.array_equal(a, b) for a, b in zip(o, want)) for s, o in results)


def test_a_sequential_whose_first_layer_is_a_lookup_takes_raw_keys_through_its_input(tmp_path):
    import ranvier
    from ranvier import layers
    m = ranvier.Sequential([ranvier.Input(shape=(2,), dtype="string"),
                            layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot"), layers.Dense(2)])
    x = np.array([["a", "b"], ["c", "a"], ["b", "b"]])
    want = m.predict(x, verbose=0)
    m.save(tmp_path / "s.safetensors")
    h = _load(tmp_path / "s.safetensors")
    try:
        status, enc = capi.encode_input_strings_array(h, 0, list(x.ravel()))
        assert status == OK, capi.last_error()
        status, outs = capi.predict_multi_arrays(h, [enc.reshape(3, 2)])
        assert status == OK and np.array_equal(outs[0], want)
    finally:
        capi.free(h)


def test_a_graph_built_and_trained_in_cpp_loads_in_python_and_keeps_training(tmp_path):
    """examples/cpp/train_graph.cpp builds a functional model with the C++ API alone (a shared
    layer, Concatenate and Add, two outputs), trains and saves it; Python loads it as a
    functional Model with the same names, predicts as the C++ predict app does, and resumes."""
    import subprocess
    import ranvier
    train = _local_app(tmp_path, "cpp/train_graph.cpp", True)
    (tmp_path / "app").mkdir()
    predict = _local_app(tmp_path / "app", "cpp/main.cpp", True)
    path = tmp_path / "graph.safetensors"
    subprocess.run([str(train), str(path)], check=True, capture_output=True)
    m = ranvier.models.load_model(path)
    assert [t.name for t in m.inputs] == ["num", "aux"] and m.get_layer("shared") is not None
    r = np.random.RandomState(3)
    xs = [r.uniform(-1, 1, (7, 4)).astype(np.float32), r.uniform(-1, 1, (7, 2)).astype(np.float32)]
    want = np.concatenate(m.predict(xs, verbose=0), axis=1)
    xs[0].astype("<f4").tofile(tmp_path / "num.f32")
    xs[1].astype("<f4").tofile(tmp_path / "aux.f32")
    out = subprocess.run([str(predict), str(path), str(tmp_path / "num.f32"), str(tmp_path / "aux.f32")],
                         capture_output=True, text=True, check=True).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.strip().splitlines()]).astype(np.float32)
    np.testing.assert_array_equal(got, want)
    assert m.optimizer.iterations == 8 * 13  # 400 rows in batches of 32, 8 epochs: the state came along
    y = [r.normal(size=(7, 1)).astype(np.float32), np.ones((7, 1), np.float32)]
    before = m.evaluate(xs, y, verbose=0)[0]
    m.fit(xs, y, epochs=5, verbose=0)
    assert m.evaluate(xs, y, verbose=0)[0] < before


def test_a_layer_without_weights_may_be_called_again_on_other_widths(tmp_path):
    """As Keras: a merge layer (no weights) called twice on inputs of other widths is two
    independent calls; only a layer with weights must keep its widths (they are shared)."""
    g = graph_files.Graph("merge_twice")
    a, b = g.input("a", (3,)), g.input("b", (3,))
    g.layer("Add", "add")
    s2 = g.call("add", g.call("add", a, b, as_list=True), a, as_list=True)
    g.layer("Concatenate", "cat", axis=-1)
    g.set_outputs(g.call("cat", s2, g.call("cat", a, b, as_list=True), as_list=True, out_shape=(9,)))
    p = tmp_path / "m.safetensors"
    graph_files.write(p, g.config(), g.weights)
    _check(p)
    h = _load(p)
    try:
        xs = _data(g, n=5)
        status, outs = capi.predict_multi_arrays(h, xs)
        assert status == OK and outs[0].shape == (5, 9)
        np.testing.assert_allclose(outs[0], g.forward(xs)[0], rtol=RTOL, atol=ATOL)
    finally:
        capi.free(h)
