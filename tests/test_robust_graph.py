"""Hostile inputs against the functional API, graph models and the tabular layers: every
bad input gets a Python exception that names the argument (and its shape or value), never
a crash, a hang or a silent wrong answer.

The expected facts are Keras 3's behaviour where it has one (written here, measured with
Keras 3.15): ``keras.Model(x, x)`` is an identity model; ragged nested lists are refused
(TensorFlow raises on them); ranvier refuses what it cannot represent exactly (indices past
2**24 travel through the network as float32) with a message naming the argument.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import ranvier
from ranvier import layers
from ranvier.utils import clear_session


def _two_in_two_out():
    clear_session()
    num = ranvier.Input(shape=(3,), name="num")
    cat = ranvier.Input(shape=(1,), name="cat", dtype="int64")
    e = layers.Flatten()(layers.Embedding(5, 2)(cat))
    x = layers.Concatenate()([num, e])
    o1 = layers.Dense(1, name="o1")(x)
    o2 = layers.Dense(2, name="o2", activation="softmax")(x)
    m = ranvier.Model({"num": num, "cat": cat}, {"o1": o1, "o2": o2})
    m.compile("sgd", {"o1": "mse", "o2": "sparse_categorical_crossentropy"})
    n = 4
    x = {"num": np.random.default_rng(0).random((n, 3)).astype("float32"), "cat": np.array([[0], [1], [2], [3]])}
    y = {"o1": np.zeros((n, 1)), "o2": np.array([0, 1, 0, 1])}
    return m, x, y


# ----------------------------------------------------------------------------- ragged data
RAGGED = [[1.0, 2.0, 3.0], [1.0, 2.0]]


def test_ragged_lists_are_refused_naming_the_argument_in_sequential():
    clear_session()
    m = ranvier.Sequential([ranvier.Input((3,)), layers.Dense(1)])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"predict: x could not be converted"):
        m.predict(RAGGED, verbose=0)
    with pytest.raises(ValueError, match=r"fit: y could not be converted"):
        m.fit(np.zeros((2, 3)), [[1.0], [1.0, 2.0]], verbose=0)
    with pytest.raises(ValueError, match=r"fit: sample_weight could not be converted"):
        m.fit(np.zeros((2, 3)), np.zeros((2, 1)), sample_weight=[[1.0], [1.0, 2.0]], verbose=0)


def test_ragged_lists_are_refused_naming_the_input_or_output_of_a_graph():
    m, x, y = _two_in_two_out()
    with pytest.raises(ValueError, match=r"predict: x\['num'\] could not be converted"):
        m.predict({"num": [[1, 2, 3], [1, 2], [1, 2, 3], [1, 2, 3]], "cat": x["cat"]}, verbose=0)
    with pytest.raises(ValueError, match=r"fit: y\['o1'\] could not be converted"):
        m.fit(x, {"o1": [[0.0], [0.0, 1.0], [0.0], [0.0]], "o2": y["o2"]}, verbose=0)
    with pytest.raises(ValueError, match=r"fit: sample_weight\['o2'\] could not be converted"):
        m.fit(x, y, sample_weight={"o1": np.ones(4), "o2": [[1.0], [1.0, 2.0], [1.0], [1.0]]}, verbose=0)


def test_ragged_raw_keys_of_a_string_input_are_refused_naming_it():
    clear_session()
    s = ranvier.Input(shape=(2,), dtype="string", name="s")
    m = ranvier.Model(s, layers.StringLookup(vocabulary=["a", "b"])(s))
    with pytest.raises(ValueError, match=r"StringLookup 'string_lookup' \(predict: x\): the keys could not be converted"):
        m.predict([["a", "b"], ["a"]], verbose=0)
    with pytest.raises(ValueError, match=r"StringLookup 'string_lookup' \(call\): the keys could not be converted"):
        m.layers[1]([["a", "b"], ["a"]])
    clear_session()
    s, t = ranvier.Input(shape=(2,), dtype="string", name="s"), ranvier.Input(shape=(1,), name="t")
    g = ranvier.Model([s, t], layers.Concatenate()([layers.StringLookup(vocabulary=["a", "b"])(s), t]))
    with pytest.raises(ValueError, match=r"predict: x\['s'\] could not be converted"):
        g.predict({"s": [["a", "b"], ["a"]], "t": np.zeros((2, 1))}, verbose=0)


# ----------------------------------------------------------------------------- sample_weight per output
def test_sample_weight_of_the_wrong_shape_names_the_output():
    m, x, y = _two_in_two_out()
    with pytest.raises(ValueError, match=r"fit: sample_weight\['o1'\] must have shape \(4,\), got \(3,\)"):
        m.fit(x, y, sample_weight={"o1": np.ones(3), "o2": np.ones(4)}, verbose=0)
    with pytest.raises(ValueError, match=r"fit: sample_weight\['o2'\] must have shape \(4,\), got \(4, 2\)"):
        m.fit(x, y, sample_weight={"o1": np.ones(4), "o2": np.ones((4, 2))}, verbose=0)
    with pytest.raises(ValueError, match=r"fit: sample_weight\[1\] contains NaN"):
        m.fit(x, y, sample_weight=[np.ones(4), np.full(4, np.nan)], verbose=0)
    # one array for every output keeps the plain name
    with pytest.raises(ValueError, match=r"fit: sample_weight must have shape \(4,\), got \(3,\)"):
        m.fit(x, y, sample_weight=np.ones(3), verbose=0)


# ----------------------------------------------------------------------------- lookup sizes
def test_lookup_sizes_past_exact_float32_indices_are_refused_before_allocating():
    # 10**12 OOV indices used to build a Python list of 10**12 tokens (MemoryError)
    for cls in (layers.StringLookup, layers.IntegerLookup):
        with pytest.raises(ValueError, match=r"`num_oov_indices` is too large: at most 16777215.*"
                                             r"num_oov_indices=1000000000000"):
            cls(num_oov_indices=10 ** 12)
        with pytest.raises(ValueError, match=r"`max_tokens` is too large for pad_to_max_tokens=True.*"
                                             r"max_tokens=1000000000000"):
            cls(max_tokens=10 ** 12, pad_to_max_tokens=True, output_mode="multi_hot")
    # the largest accepted values still construct, and a large max_tokens without padding is fine
    layers.StringLookup(vocabulary=["a"], num_oov_indices=2 ** 24 - 1)
    layers.IntegerLookup(max_tokens=10 ** 12)
    lk = layers.IntegerLookup(vocabulary=[1, 2], max_tokens=1000, pad_to_max_tokens=True, output_mode="multi_hot")
    out = np.asarray(lk(np.array([[1, 7]])))
    assert out.shape == (1, 1000)
    np.testing.assert_array_equal(np.flatnonzero(out[0]), [0, 1])  # OOV 7 -> index 0, key 1 -> index 1


# ----------------------------------------------------------------------------- model structure
def test_an_output_that_is_the_input_itself_gets_an_accurate_message():
    # Keras 3 builds an identity model here; ranvier's networks need a layer, and say so
    # (the message used to claim that graphs with several inputs are not supported)
    clear_session()
    a = ranvier.Input((3,), name="a")
    with pytest.raises(ValueError, match=r"the output 'a' is the input itself.*layers\.Identity\(\)") as info:
        ranvier.Model(a, a)
    assert "not supported yet" not in str(info.value)
    m = ranvier.Model(a, layers.Identity()(a))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(m.predict(x, verbose=0), x)


# ----------------------------------------------------------------------------- hand-edited files
def _rewrite_architecture(src, dst, edit):
    """Copies the ranvier model file ``src`` to ``dst`` with ``edit(architecture)`` applied."""
    import json
    import struct
    b = open(src, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    arch = json.loads(header["__metadata__"]["architecture"])
    edit(arch)
    header["__metadata__"]["architecture"] = json.dumps(arch)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(text)) + text + b[8 + n:])


def test_a_negative_normalization_variance_is_refused_not_turned_into_nan(tmp_path):
    # Keras computes sqrt(-1) = NaN outputs for it; ranvier refuses it wherever it enters
    with pytest.raises(ValueError, match=r"Normalization: `variance` must hold values >= 0, got variance=\[-1.0, 1.0\]"):
        layers.Normalization(mean=[0.0, 1.0], variance=[-1.0, 1.0])
    layers.Normalization(mean=[0.0, 1.0], variance=[0.0, 1.0])  # zero is fine (scaled by epsilon)
    clear_session()
    a = ranvier.Input((2,), name="a")
    m = ranvier.Model(a, layers.Dense(1, name="d")(layers.Normalization(mean=[0.0, 1.0], variance=[1.0, 4.0],
                                                                        name="norm")(a)))
    good = tmp_path / "good.safetensors"
    m.save(good)
    bad = tmp_path / "bad.safetensors"

    def negative(arch):
        for entry in arch["config"]["layers"]:
            if entry["config"].get("name") == "norm":
                entry["config"]["variance"] = [1.0, -4.0]
    _rewrite_architecture(good, bad, negative)
    with pytest.raises(ValueError, match=r"`variance` must hold values >= 0"):
        ranvier.saving.load_model(bad)
    import c_api_ctypes as capi  # the C API's loader (the one C and C++ apps use)
    status, h = capi.load_handle(bad)
    assert status == 1 and not h
    assert "`variance` must hold values >= 0, got variance[1]=-4" in capi.last_error().decode()


def test_a_damaged_member_of_a_keras_archive_is_a_valueerror_naming_it(tmp_path):
    # a byte changed inside a stored member fails the zip's CRC check: that used to escape
    # as zipfile.BadZipFile (not a ValueError, and without the file's name)
    pytest.importorskip("h5py")
    import zipfile
    m, x, _ = _two_in_two_out()
    path = tmp_path / "m.keras"
    m.save(path)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("config.json")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    assert info.compress_type == zipfile.ZIP_STORED
    data = bytearray(path.read_bytes())
    data[start + 10] ^= 0x01  # inside config.json's bytes
    bad = tmp_path / "bad.keras"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"bad\.keras.*'config\.json' in the archive is damaged: BadZipFile"):
        ranvier.saving.load_model(bad)
    np.testing.assert_array_equal(ranvier.saving.load_model(path).predict(x, verbose=0)["o1"],
                                  m.predict(x, verbose=0)["o1"])


# ----------------------------------------------------------------------------- adapt data
@pytest.mark.parametrize("cls,kw", [(layers.Normalization, {}), (layers.Discretization, {"num_bins": 3})],
                         ids=["Normalization", "Discretization"])
def test_adapt_refuses_nan_inf_and_ragged_data_naming_the_place(cls, kw):
    # NaN statistics used to be stored silently (every later output NaN); predict refuses
    # NaN in x, and adapt now refuses it the same way
    who = f"{cls.__name__}.adapt"
    with pytest.raises(ValueError, match=rf"{who}: data contains NaN or inf \(data.shape=\(2, 2\), "
                                         rf"e.g. data\[1, 0\]=nan\)"):
        cls(**kw).adapt(np.array([[0.0, 1.0], [np.nan, 2.0]]))
    with pytest.raises(ValueError, match=rf"{who}: data contains NaN or inf .*data\[0, 1\]=-inf"):
        cls(**kw).adapt(np.array([[0.0, -np.inf]]))
    with pytest.raises(ValueError, match=rf"{who}: data could not be converted to an array of numbers"):
        cls(**kw).adapt([[1.0, 2.0], [1.0]])
    with pytest.raises(ValueError, match=rf"{who}: data contains NaN"):  # in the second batch of an iterable
        cls(**kw).adapt(iter([np.ones((2, 2)), np.full((2, 2), np.nan)]))
    layer = cls(**kw)
    layer.adapt(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))  # clean data still adapts
    assert np.all(np.isfinite(np.asarray(layer(np.array([[1.0, 2.0]])), dtype=np.float64)))


# ----------------------------------------------------------------------------- integer Input dtypes
@pytest.mark.parametrize("dtype,value,shown", [
    ("uint8", 300.0, r"which holds integers in \[0, 255\], but {x}\[0, 0\]=300.0; Keras's cast would wrap it around"),
    ("uint8", -1, r"which holds integers in \[0, 255\], but {x}\[0, 0\]=-1"),
    ("int8", -129, r"which holds integers in \[-128, 127\], but {x}\[0, 0\]=-129"),
    ("int32", 2 ** 40, r"which holds integers in \[-2147483648, 2147483647\], but {x}\[0, 0\]=1099511627776"),
    ("bool", 2.0, r"which holds 0 or 1 \(False or True\), but {x}\[0, 0\]=2.0; Keras's cast would turn it into True"),
    ("int16", 1.5, r"but {x} holds values that are not integers, e.g. {x}\[0, 0\]=1.5"),
    ("int64", np.nan, r"but {x} holds values that are not integers, e.g. {x}\[0, 0\]=nan"),
])
def test_values_outside_an_integer_input_dtype_are_refused_on_chain_and_graph_models(dtype, value, shown):
    # Keras casts x to the Input's dtype (300 -> 44 for uint8, 1.5 -> 1, 2 -> True); ranvier's
    # float32 network would compute on 300, 1.5 and 2: a silently different answer. A chain
    # model used to take them (only graph models checked for fractions)
    clear_session()
    i = ranvier.Input((2,), dtype=dtype, name="i")
    chain = ranvier.Model(i, layers.Dense(1, kernel_initializer="ones", use_bias=False)(i))
    x = np.array([[value, 1]], dtype=np.float64 if isinstance(value, float) else np.int64)
    x32 = x.astype(np.float32)  # what predict's fast path takes as it is
    if np.isnan(x32).any() or np.array_equal(x32.astype(np.float64), x.astype(np.float64)):
        with pytest.raises(ValueError, match=rf"predict: input 'i' has dtype {dtype}, "):
            chain.predict(x32, verbose=0)
        with pytest.raises(ValueError, match=rf"call: input 'i' has dtype {dtype}, "):
            chain(x32)
    for what, call in [("predict", lambda: chain.predict(x, verbose=0)), ("call", lambda: chain(x)),
                       ("predict_on_batch", lambda: chain.predict_on_batch(x))]:
        with pytest.raises(ValueError, match=rf"{what}: input 'i' has dtype {dtype}, " + shown.format(x="x")):
            call()
    chain.compile("sgd", "mse")
    with pytest.raises(ValueError, match=rf"fit: input 'i' has dtype {dtype}, " + shown.format(x="x")):
        chain.fit(x, np.zeros((1, 1)), verbose=0)
    j = ranvier.Input((1,), name="j")
    graph = ranvier.Model([i, j], layers.Concatenate()([i, j]))
    with pytest.raises(ValueError, match=rf"predict: input 'i' has dtype {dtype}, " + shown.format(x=r"x\['i'\]")):
        graph.predict([x, np.zeros((1, 1))], verbose=0)
    # values inside the dtype are taken (floats holding integers too), and computed exactly
    ok = np.array([[0, 1]], dtype=np.float64)
    np.testing.assert_array_equal(chain.predict(ok, verbose=0), [[1.0]])
    np.testing.assert_array_equal(graph.predict([ok, np.full((1, 1), 2.0)], verbose=0), [[0.0, 1.0, 2.0]])


# ----------------------------------------------------------------------------- lookup keys
def test_a_bad_key_is_named_with_its_layer_call_and_position():
    clear_session()
    sk = layers.StringLookup(vocabulary=["a", "b"], name="colour")
    with pytest.raises(TypeError, match=r"StringLookup 'colour' \(call\): the keys must be strings \(str or bytes\), "
                                        r"key 3 is a NoneType \(x\[1, 1\]=None\)"):
        sk(np.array([["a", "b"], ["a", None]], dtype=object))
    with pytest.raises(ValueError, match=r"StringLookup 'colour' \(call\): key 0 is a str that is not valid UTF-8 .*"
                                         r"\(x\[0\]='\\ud800'\)"):
        sk(np.array(["\ud800", "a"], dtype=object))
    s, t = ranvier.Input(shape=(2,), dtype="string", name="s"), ranvier.Input(shape=(1,), name="t")
    g = ranvier.Model([s, t], layers.Concatenate()([sk(s), t]))
    with pytest.raises(TypeError, match=r"StringLookup 'colour' \(predict: x\['s'\]\): .*key 1 is a int "
                                        r"\(x\['s'\]\[0, 1\]=3\)"):
        g.predict({"s": np.array([["a", 3]], dtype=object), "t": np.zeros((1, 1))}, verbose=0)
    np.testing.assert_array_equal(g.predict({"s": np.array([["a", "q"]], dtype=object), "t": np.zeros((1, 1))},
                                            verbose=0), [[1.0, 0.0, 0.0]])


# ----------------------------------------------------------------------------- class_weight
def test_class_weight_keys_must_be_class_indices():
    # int(0.5) is 0: a fractional key used to weight class 0 silently; Keras fails on it
    clear_session()
    a = ranvier.Input(shape=(3,), name="a")
    m = ranvier.Model(a, layers.Dense(3, activation="softmax", name="o")(a))
    m.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).random((6, 3)), np.arange(6) % 3
    for key in (0.5, -1, "x", float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"fit: class_weight keys must be class indices"):
            m.fit(x, y, class_weight={key: 2.0}, verbose=0)
    m.fit(x, y, class_weight={0: 1.0, 1.0: 2.0, "2": 3.0}, verbose=0)  # integral keys of any type


def test_big_endian_and_other_string_layouts_encode_like_native_strings():
    # a '>U' array (NumPy keeps a byte order it was given) was read as native code points:
    # every key became another string and mapped to the OOV index, silently
    clear_session()
    vocab = ["a", "bb", "é", "日本"]
    sk = layers.StringLookup(vocabulary=vocab)
    keys = np.array([["a", "bb"], ["é", "日本"], ["zz", "a"]])
    want = [[1, 2], [3, 4], [0, 1]]
    np.testing.assert_array_equal(sk(keys), want)
    for layout in (keys.astype(">U2"), keys.astype("<U2"), np.asfortranarray(keys), keys.astype(object),
                   np.char.encode(keys, "utf-8"), keys.astype(np.dtypes.StringDType())):
        np.testing.assert_array_equal(sk(layout), want)
    s, t = ranvier.Input(shape=(2,), dtype="string", name="s"), ranvier.Input(shape=(1,), name="t")
    g = ranvier.Model([s, t], layers.Concatenate()([sk(s), t]))
    np.testing.assert_array_equal(g.predict([keys.astype(">U2"), np.zeros((3, 1))], verbose=0),
                                  np.hstack([np.array(want, np.float32), np.zeros((3, 1), np.float32)]))


def test_a_string_input_and_a_string_lookup_go_together():
    # ranvier used to take either mismatch (model.inputs then named a dtype the model did not
    # take); Keras casts the data to the Input's dtype first and cannot run them
    clear_session()
    f = ranvier.Input((1,), name="f")
    with pytest.raises(ValueError, match=r"input 'f' \(dtype float32\) feeds StringLookup 'sl', which takes strings: "
                                         r"declare the input with dtype='string'"):
        ranvier.Model(f, layers.StringLookup(vocabulary=["a"], name="sl")(f))  # a chain
    g = ranvier.Input((1,), name="g")
    with pytest.raises(ValueError, match=r"input 'f' \(dtype float32\) feeds StringLookup 'sl2'"):
        ranvier.Model([f, g], layers.Concatenate()([layers.StringLookup(vocabulary=["a"], name="sl2")(f), g]))
    s = ranvier.Input((1,), name="s", dtype="string")
    for layer, takes in ((layers.Dense(2, name="dn"), "numbers"), (layers.Embedding(4, 2, name="em"), "numbers"),
                         (layers.IntegerLookup(vocabulary=[1], name="il"), "integer keys")):
        with pytest.raises(ValueError, match=rf"input 's' has dtype string, but it feeds {type(layer).__name__} "
                                             rf"'{layer.name}', which takes {takes}: raw strings can only feed a "
                                             rf"StringLookup"):
            ranvier.Model(s, layer(s))
    with pytest.raises(ValueError, match=r"input 's' has dtype string, but it feeds Dense 'dn2'"):
        ranvier.Model([s, g], layers.Concatenate()([layers.Dense(1, name="dn2")(s), g]))
    # the matching pairs build and predict; an int64 input may feed an IntegerLookup or an Embedding
    m = ranvier.Model(s, layers.StringLookup(vocabulary=["a", "b"])(s))
    np.testing.assert_array_equal(m.predict(np.array([["b"], ["q"]]), verbose=0), [[2.0], [0.0]])
    i = ranvier.Input((1,), name="i", dtype="int64")
    ranvier.Model(i, layers.IntegerLookup(vocabulary=[7])(i))
    ranvier.Model(i, layers.Flatten()(layers.Embedding(3, 2)(i)))


def test_a_file_whose_string_input_and_lookup_disagree_is_refused_by_both_loaders(tmp_path):
    clear_session()
    s, t = ranvier.Input((1,), name="s", dtype="string"), ranvier.Input((1,), name="t")
    m = ranvier.Model([s, t], layers.Concatenate()([layers.StringLookup(vocabulary=["a"], name="sl")(s), t]))
    good = tmp_path / "good.safetensors"
    m.save(good)

    def set_dtype(name, dtype):
        def edit(arch):
            for entry in arch["config"]["layers"]:
                if entry["name"] == name:
                    entry["config"]["dtype"] = dtype
        return edit
    import c_api_ctypes as capi
    for name, dtype, expect in (("s", "float32", r"input 's' \(dtype float32\) feeds StringLookup 'sl', which takes "
                                                 r"strings"),
                                ("t", "string", r"input 't' has dtype string, but it feeds Concatenate")):
        bad = tmp_path / f"{name}.safetensors"
        _rewrite_architecture(good, bad, set_dtype(name, dtype))
        with pytest.raises(ValueError, match=expect):
            ranvier.saving.load_model(bad)
        status, h = capi.load_handle(bad)
        assert status == 1 and not h
        assert re.search(expect, capi.last_error().decode())
    status, h = capi.load_handle(good)
    assert status == 0
    capi.free(h)


def test_layer_constants_beyond_float32_are_refused_not_turned_into_inf():
    # 1e39 became inf in the float32 layer: inf (or 0) outputs
    with pytest.raises(ValueError, match=r"Rescaling: `scale` holds 1e\+39, which overflows float32"):
        layers.Rescaling(1e39)
    with pytest.raises(ValueError, match=r"Rescaling: `offset` holds 1e\+40, which overflows float32"):
        layers.Rescaling(1.0, offset=[0.0, -1e40])
    with pytest.raises(ValueError, match=r"Normalization: `mean` holds 1e\+39, which overflows float32"):
        layers.Normalization(mean=[1e39, 0.0], variance=[1.0, 1.0])
    np.testing.assert_allclose(np.asarray(layers.Rescaling(3e38)(np.array([[1.0]]))), [[3e38]], rtol=1e-6)


def test_a_file_with_constants_beyond_float32_is_refused_by_the_cpp_reader(tmp_path):
    import c_api_ctypes as capi
    clear_session()
    a = ranvier.Input((2,), name="a")
    m = ranvier.Model(a, layers.Rescaling(2.0, name="rs")(layers.Normalization(mean=[0.0, 1.0], variance=[1.0, 4.0],
                                                                               name="norm")(a)))
    good = tmp_path / "good.safetensors"
    m.save(good)
    for layer, key, value in (("norm", "mean", [1e39, 0.0]), ("norm", "variance", [1.0, 1e39]),
                              ("rs", "scale", 1e39), ("rs", "offset", -1e39)):
        def edit(arch):
            for entry in arch["config"]["layers"]:
                if entry["config"].get("name") == layer:
                    entry["config"][key] = value
        bad = tmp_path / f"{layer}_{key}.safetensors"
        _rewrite_architecture(good, bad, edit)
        with pytest.raises(ValueError, match="overflows float32"):
            ranvier.saving.load_model(bad)
        status, h = capi.load_handle(bad)
        assert status == 1 and not h
        assert f"`{key}` holds" in capi.last_error().decode() and "overflows float32" in capi.last_error().decode()


def test_a_vocabulary_that_is_not_utf8_text_is_refused_naming_it(tmp_path):
    # bytes that are not UTF-8 raised a bare UnicodeDecodeError; a lone surrogate was taken
    # into the vocabulary, and then refused as a key by predict
    for vocab, shown in (([b"\xff", b"a"], r"b'\\xff'"), (["\ud800", "a"], r"'\\ud800'")):
        with pytest.raises(ValueError, match=rf"StringLookup: `vocabulary` entry {shown} is not valid UTF-8 text"):
            layers.StringLookup(vocabulary=vocab)
    with pytest.raises(ValueError, match=r"StringLookup: `data` entry b'\\xfe' is not valid UTF-8 text"):
        layers.StringLookup().adapt(np.array([b"a", b"\xfe"], dtype=object))
    with pytest.raises(ValueError, match=r"StringLookup: `mask_token` entry '\\udfff' is not valid UTF-8 text"):
        layers.StringLookup(mask_token="\udfff")
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"a\n\xff\n")
    with pytest.raises(ValueError, match=r"StringLookup: the vocabulary file .*vocab.txt is not UTF-8 text"):
        layers.StringLookup(vocabulary=str(path))
    # UTF-8 bytes and non-ASCII text are fine, and encode alike
    lk = layers.StringLookup(vocabulary=["é".encode("utf-8"), "日本"])
    np.testing.assert_array_equal(lk(np.array(["é", "日本", "x"], dtype=object)), [1, 2, 0])


# ----------------------------------------------------------------------------- the C API, several inputs
def test_the_c_api_refuses_bad_ids_and_indices_of_a_multi_input_model_by_layer(tmp_path):
    # a C app passes ids and encoded indices as floats: each bad value is a status 1 with a
    # message naming the layer and the value, never a crash or an out-of-bounds gather
    import c_api_ctypes as capi
    clear_session()
    num = ranvier.Input((2,), name="num")
    cat = ranvier.Input((1,), name="cat", dtype="int64")
    s = ranvier.Input((1,), name="s", dtype="string")
    x = layers.Concatenate()([num, layers.Flatten()(layers.Embedding(5, 2, name="emb")(cat)),
                              layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot", name="sl")(s)])
    m = ranvier.Model({"num": num, "cat": cat, "s": s}, layers.Dense(1, name="o")(x))
    path = tmp_path / "m.safetensors"
    m.save(path)
    status, h = capi.load_handle(path)
    assert status == 0
    try:
        names = [n for n, _, _ in capi.describe(h)["inputs"]]
        assert names == ["cat", "num", "s"]

        def run(cat_v, s_v):
            xs = [np.full((2, 1), cat_v), np.zeros((2, 2)), np.full((2, 1), s_v)]
            return capi.predict_multi_arrays(h, xs)

        status, outs = run(1, 2)
        assert status == 0 and np.all(np.isfinite(outs[0]))
        for cat_v, s_v, expect in ((5, 1, r"Embedding 'emb': input id 5 .* out of range"),
                                   (-1, 1, r"Embedding 'emb': input id -1 .* out of range"),
                                   (1.5, 1, r"Embedding 'emb': input id 1.5 .* not an integer"),
                                   (np.nan, 1, r"Embedding 'emb': input id nan"),
                                   (1, 3, r"StringLookup: got index 3"), (1, -2, r"StringLookup: got index -2"),
                                   (1, np.nan, r"StringLookup: got index nan")):
            status, _ = run(cat_v, s_v)
            assert status == 1, (cat_v, s_v)
            assert re.search(expect, capi.last_error().decode()), capi.last_error()
        status, _ = capi.encode_input_strings_array(h, names.index("num"), ["a"])
        assert status == 1
        assert "input 'num' (dtype float32) feeds a Concatenate layer, not a lookup" in capi.last_error().decode()
    finally:
        capi.free(h)
