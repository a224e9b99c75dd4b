"""Fuzzing the C++ model-file validator (the one the Python and C++ loaders share).

Hypothesis generates random bytes, mutations of valid files (bit flips, truncation,
insertions, rewritten length fields) and structurally plausible headers (random
dtypes, shapes, offsets and metadata). The property: the validator either accepts
or raises ValueError -- never crashes, hangs or raises anything else; and whatever it
accepts, the reference `safetensors` package reads with the same tensor names and
shapes.

Time is bounded: each hypothesis test runs RANVIER_FUZZ_EXAMPLES examples (default
200) and the random-mutation loop runs for RANVIER_FUZZ_SECONDS (default 3 s); CI can
raise both.
"""
import json
import os
import struct
import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ranvier import _core

EXAMPLES = int(os.environ.get("RANVIER_FUZZ_EXAMPLES", "200"))
SECONDS = float(os.environ.get("RANVIER_FUZZ_SECONDS", "3"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64"]
ITEMSIZE = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
            "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def build_file(tensors, metadata=None, pad=True):
    """A safetensors file from [(name, dtype, shape, data_bytes)], as the spec lays it out."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    off = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def valid_model_file():
    rng = np.random.default_rng(0)
    k = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    meta = {"format": "ranvier", "format_version": "1", "architecture": json.dumps({"layers": []})}
    return build_file([("layers/dense/kernel", "F32", (4, 3), k.tobytes()),
                       ("layers/dense/bias", "F32", (3,), b.tobytes())], meta)


VALID = valid_model_file()


def check(data: bytes, ranvier_format: bool = False):
    """Runs the validator; returns the parsed header or None when it raised ValueError."""
    try:
        h = _core.io_parse_header(data, len(data), ranvier_format)
    except ValueError as e:
        assert str(e), "error messages must say what is wrong"
        return None
    # Accepted: the result is self-consistent ...
    assert h["data_start"] == 8 + h["header_len"]
    assert h["data_start"] + h["data_len"] == len(data)
    total = 0
    for t in h["tensors"]:
        n = int(np.prod(t["shape"], dtype=object))
        assert n * ITEMSIZE[t["dtype"]] == t["end"] - t["begin"]
        total += t["end"] - t["begin"]
    assert total == h["data_len"]
    # ... and the reference implementation agrees.
    if _HAVE_SAFETENSORS:
        import safetensors.numpy as st_numpy
        supported = all(t["dtype"] in ("F32", "F64", "F16", "I64", "I32", "I16", "I8", "U8", "BOOL",
                                        "U16", "U32", "U64") for t in h["tensors"])
        if supported:
            ref = st_numpy.load(data)
            assert sorted(ref) == sorted(t["name"] for t in h["tensors"])
            for t in h["tensors"]:
                assert tuple(ref[t["name"]].shape) == tuple(t["shape"])
    return h


try:
    import safetensors.numpy  # noqa: F401
    _HAVE_SAFETENSORS = True
except ImportError:  # the agreement check is skipped, the crash check still runs
    _HAVE_SAFETENSORS = False


def test_valid_file_is_accepted():
    h = check(VALID, ranvier_format=True)
    assert h is not None
    assert [t["name"] for t in h["tensors"]] == ["layers/dense/kernel", "layers/dense/bias"]
    assert h["metadata"]["format"] == "ranvier"


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data):
    check(data)
    check(data, True)


@FUZZ
@given(st.binary(max_size=300))
def test_random_header_bytes(text):
    # A correct length field in front of arbitrary header bytes reaches the JSON parser.
    data = struct.pack("<Q", len(text)) + text
    check(data)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_byte_mutations(edits):
    data = bytearray(VALID)
    for pos, val in edits:
        data[pos] = val
    check(bytes(data), True)


@FUZZ
@given(st.integers(0, len(VALID)), st.binary(max_size=40), st.integers(0, 2))
def test_truncate_and_insert(cut, insert, mode):
    if mode == 0:
        data = VALID[:cut]
    elif mode == 1:
        data = VALID[:cut] + insert + VALID[cut:]
    else:
        data = VALID + insert
    check(data, True)


@FUZZ
@given(st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 400)))
def test_length_field(n):
    check(struct.pack("<Q", n) + VALID[8:], True)


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_json = st.recursive(_json_leaf, lambda c: st.one_of(st.lists(c, max_size=4),
                                                      st.dictionaries(st.text(max_size=6), c, max_size=4)),
                     max_leaves=12)
_dims = st.lists(st.one_of(st.integers(0, 5), st.integers(-3, 2**64 + 3), _json), max_size=4)


@st.composite
def plausible_files(draw):
    """Headers close to valid: right keys mostly, values sometimes wrong."""
    n = draw(st.integers(0, 4))
    header = {}
    data = b""
    off = 0
    for i in range(n):
        dtype = draw(st.one_of(st.sampled_from(DTYPES), st.text(max_size=4), _json))
        good_shape = draw(st.lists(st.integers(0, 4), max_size=3))
        shape = draw(st.one_of(st.just(good_shape), _dims, _json))
        size = int(np.prod(good_shape)) * ITEMSIZE.get(dtype, 4) if isinstance(dtype, str) else 4
        begin = draw(st.one_of(st.just(off), st.integers(0, 64), st.integers(-5, 2**65)))
        end = draw(st.one_of(st.just(off + size), st.integers(0, 64), st.integers(-5, 2**65)))
        entry = {"dtype": dtype, "shape": shape, "data_offsets": draw(st.one_of(st.just([begin, end]), _json))}
        if draw(st.booleans()) and draw(st.booleans()):
            entry[draw(st.text(max_size=5))] = draw(_json)
        if draw(st.booleans()) and draw(st.booleans()):
            entry.pop(draw(st.sampled_from(sorted(entry))))
        header[draw(st.one_of(st.just(f"t{i}"), st.text(max_size=6)))] = entry
        off += size
        data += b"\x00" * size
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.one_of(
            st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3), _json))
    text = json.dumps(header).encode()
    extra = draw(st.one_of(st.just(b""), st.binary(max_size=8)))
    return struct.pack("<Q", len(text)) + text + data + extra


@FUZZ
@given(plausible_files())
def test_plausible_headers(data):
    check(data)


def test_random_mutation_loop_bounded_time():
    """Plain random mutations for a fixed time budget (cheap, many iterations)."""
    rng = np.random.default_rng(int(os.environ.get("RANVIER_FUZZ_SEED", "1234")))
    base = np.frombuffer(VALID, dtype=np.uint8)
    deadline = time.monotonic() + SECONDS
    n = accepted = 0
    while time.monotonic() < deadline:
        data = base.copy()
        k = int(rng.integers(1, 6))
        pos = rng.integers(0, len(data), size=k)
        data[pos] = rng.integers(0, 256, size=k, dtype=np.uint8)
        cut = len(data) if rng.random() < 0.8 else int(rng.integers(0, len(data)))
        accepted += check(data[:cut].tobytes(), True) is not None
        n += 1
    assert n > 100  # the loop really ran
    # Some single-byte mutations (inside the float data) are harmless and accepted.
    assert accepted > 0


def test_deep_nesting_and_huge_values_are_rejected_not_crashing():
    for text in (b"{" + b'"a":[' * 100000, b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}",
                 b'{"a":' + b"1" * 100000 + b"}", b'{"__metadata__":{"k":"' + b"x" * 100000 + b'"}}'):
        data = struct.pack("<Q", len(text)) + text
        h = check(data)
        if h is not None:  # only the last one is valid
            assert h["metadata"]["k"] == "x" * 100000


# ---------------------------------------------------------------- whole model files
# Mutations of a real model file's architecture (layer configs) go through both
# loaders: the Python one (ranvier.models.load_model, via bytes) and the C++ API's
# (what C and C++ applications run). Each must load or raise ValueError; when both
# load, they must predict the same numbers.
_MODEL = {}


def _model_file():
    if "bytes" not in _MODEL:
        import ranvier
        ranvier.utils.set_random_seed(0)
        L = ranvier.layers
        m = ranvier.Sequential([ranvier.Input(shape=(5,)), L.Dense(8, activation="relu"), L.BatchNormalization(),
                                L.Dropout(0.2), L.Dense(3, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        m.fit(rng.standard_normal((64, 5)).astype(np.float32), rng.integers(0, 3, 64), epochs=1, verbose=0)
        from ranvier import saving
        _MODEL["bytes"] = saving.model_to_bytes(m)
        _MODEL["x"] = rng.standard_normal((10, 5)).astype(np.float32)
    return _MODEL["bytes"]


def _split(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def _join(header, data):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


_config_keys = st.sampled_from(["units", "activation", "use_bias", "rate", "seed", "noise_shape", "momentum",
                                "epsilon", "center", "scale", "axis", "name", "trainable", "kernel_regularizer",
                                "kernel_constraint", "batch_shape", "unknown_key"])
_config_values = st.one_of(_json_leaf, st.integers(-3, 40), st.just(2**40), st.just(2**63),
                           st.sampled_from(["relu", "softmax", "nope", "l2", "max_norm", "Dense"]),
                           st.lists(st.one_of(st.none(), st.integers(-2, 6)), max_size=3), _json)


@st.composite
def mutated_models(draw):
    header, data = _split(_model_file())
    arch = json.loads(header["__metadata__"]["architecture"])
    layers = arch["config"]["layers"]
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.integers(0, 9))
        i = draw(st.integers(0, len(layers) - 1))
        if what <= 5:
            layers[i]["config"][draw(_config_keys)] = draw(_config_values)
        elif what == 6:
            layers[i]["config"].pop(draw(st.sampled_from(sorted(layers[i]["config"]))), None)
        elif what == 7:
            layers[i]["class_name"] = draw(st.sampled_from(["Dense", "Dropout", "Flatten", "ReLU", "Softmax",
                                                            "InputLayer", "Conv2D", "BatchNormalization"]))
        elif what == 8:
            layers.insert(i, draw(st.sampled_from(layers)))
        else:
            del layers[i]
    header["__metadata__"]["architecture"] = json.dumps(arch)
    if draw(st.booleans()):  # sometimes break the other metadata too
        key = draw(st.sampled_from(["compile_config", "optimizer", "optimizer_state", "train_steps", "weights",
                                    "layer_seeds"]))
        header["__metadata__"][key] = draw(st.one_of(st.just("{}"), st.just("[]"), st.just("1"),
                                                     st.text(max_size=10), st.just(json.dumps(draw(_json)))))
    return _join(header, data)


def _both_loaders(blob, tmp):
    import ranvier
    from ranvier import saving
    py = cpp = None
    try:
        py = saving.model_from_bytes(blob)
    except ValueError as e:
        assert str(e)
    with open(tmp, "wb") as f:
        f.write(blob)
    try:
        cpp = _core.io_cpp_predict(tmp, _MODEL["x"], 32)
    except ValueError as e:
        assert str(e)
    if py is not None and cpp is not None:
        assert np.array_equal(py.predict(_MODEL["x"], verbose=0), cpp)
    return py, cpp


@FUZZ
@given(mutated_models())
def test_mutated_model_architectures_through_both_loaders(tmp_path_factory, blob):
    tmp = str(tmp_path_factory.getbasetemp() / "fuzz_model.safetensors")
    _both_loaders(blob, tmp)


def test_unmutated_model_loads_in_both(tmp_path):
    py, cpp = _both_loaders(_model_file(), str(tmp_path / "m.safetensors"))
    assert py is not None and cpp is not None
