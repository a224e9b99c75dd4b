"""IntegerLookup and StringLookup (cpp/src/layers/lookup.cpp, python/ranvier/layers/_lookup.py)
against a Python-dict reference written here: Keras's index layout ([mask] [OOV slots]
[vocabulary]), the OOV buckets (floormod for integers; FarmHash64 / SipHash-2-4 of the bytes,
written here in pure Python, for strings), the mask, each output mode, adapt's ordering, the
configs, a model trained on string input, the model file (vocabulary inside) and the C API
encoding raw strings for the loaded file. Values marked "measured" were printed by Keras 3.15.1
(TensorFlow 2.21) for the same calls."""
import collections
import ctypes
import json
import math

import numpy as np
import pytest

import ranvier
from ranvier import _core, layers

import c_api_ctypes as capi

M64 = (1 << 64) - 1


# ---------------------------------------------------------------------------- hash references
def _rot(v, s):
    return v if s == 0 else ((v >> s) | (v << (64 - s))) & M64


def _f64(b, i):
    return int.from_bytes(b[i:i + 8], "little")


def _f32(b, i):
    return int.from_bytes(b[i:i + 4], "little")


K0, K1, K2 = 0xc3a5c85c97cb3127, 0xb492b66fbe98f273, 0x9ae16a3b2f90404f


def _h16(u, v, mul):
    a = ((u ^ v) * mul) & M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & M64
    b ^= b >> 47
    return (b * mul) & M64


def _weak(w, x, y, z, a, b):
    a = (a + w) & M64
    b = _rot((b + a + z) & M64, 21)
    c = a
    a = (a + x + y) & M64
    b = (b + _rot(a, 44)) & M64
    return (a + z) & M64, (b + c) & M64


def farmhash64(s: bytes) -> int:
    """FarmHash's Fingerprint64 (farmhashna::Hash64), from its published source."""
    n = len(s)
    if n <= 16:
        if n >= 8:
            mul = K2 + n * 2
            a = (_f64(s, 0) + K2) & M64
            b = _f64(s, n - 8)
            c = (_rot(b, 37) * mul + a) & M64
            d = ((_rot(a, 25) + b) * mul) & M64
            return _h16(c, d, mul)
        if n >= 4:
            mul = K2 + n * 2
            return _h16((n + (_f32(s, 0) << 3)) & M64, _f32(s, n - 4), mul)
        if n > 0:
            y = s[0] + (s[n >> 1] << 8)
            z = n + (s[n - 1] << 2)
            v = ((y * K2) ^ (z * K0)) & M64
            return ((v ^ (v >> 47)) * K2) & M64
        return K2
    if n <= 32:
        mul = K2 + n * 2
        a = (_f64(s, 0) * K1) & M64
        b = _f64(s, 8)
        c = (_f64(s, n - 8) * mul) & M64
        d = (_f64(s, n - 16) * K2) & M64
        return _h16((_rot((a + b) & M64, 43) + _rot(c, 30) + d) & M64, (a + _rot((b + K2) & M64, 18) + c) & M64, mul)
    if n <= 64:
        mul = K2 + n * 2
        a = (_f64(s, 0) * K2) & M64
        b = _f64(s, 8)
        c = (_f64(s, n - 8) * mul) & M64
        d = (_f64(s, n - 16) * K2) & M64
        y = (_rot((a + b) & M64, 43) + _rot(c, 30) + d) & M64
        z = _h16(y, (a + _rot((b + K2) & M64, 18) + c) & M64, mul)
        e = (_f64(s, 16) * mul) & M64
        f = _f64(s, 24)
        g = ((y + _f64(s, n - 32)) * mul) & M64
        h = ((z + _f64(s, n - 24)) * mul) & M64
        return _h16((_rot((e + f) & M64, 43) + _rot(g, 30) + h) & M64, (e + _rot((f + a) & M64, 18) + g) & M64, mul)
    seed = 81
    x = seed
    y = (seed * K1 + 113) & M64
    v0 = ((y * K2 + 113) & M64)
    z = ((v0 ^ (v0 >> 47)) * K2) & M64
    v, w = (0, 0), (0, 0)
    x = (x * K2 + _f64(s, 0)) & M64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    p = 0
    while True:
        x = (_rot((x + y + v[0] + _f64(s, p + 8)) & M64, 37) * K1) & M64
        y = (_rot((y + v[1] + _f64(s, p + 48)) & M64, 42) * K1) & M64
        x ^= w[1]
        y = (y + v[0] + _f64(s, p + 40)) & M64
        z = (_rot((z + w[0]) & M64, 33) * K1) & M64
        v = _weak(_f64(s, p), _f64(s, p + 8), _f64(s, p + 16), _f64(s, p + 24), (v[1] * K1) & M64, (x + w[0]) & M64)
        w = _weak(_f64(s, p + 32), _f64(s, p + 40), _f64(s, p + 48), _f64(s, p + 56), (z + w[1]) & M64,
                  (y + _f64(s, p + 16)) & M64)
        z, x = x, z
        p += 64
        if p == end:
            break
    mul = K1 + ((z & 0xff) << 1)
    p = last64
    w = ((w[0] + ((n - 1) & 63)) & M64, w[1])
    v = ((v[0] + w[0]) & M64, v[1])
    w = ((w[0] + v[0]) & M64, w[1])
    x = (_rot((x + y + v[0] + _f64(s, p + 8)) & M64, 37) * mul) & M64
    y = (_rot((y + v[1] + _f64(s, p + 48)) & M64, 42) * mul) & M64
    x ^= (w[1] * 9) & M64
    y = (y + v[0] * 9 + _f64(s, p + 40)) & M64
    z = (_rot((z + w[0]) & M64, 33) * mul) & M64
    v = _weak(_f64(s, p), _f64(s, p + 8), _f64(s, p + 16), _f64(s, p + 24), (v[1] * mul) & M64, (x + w[0]) & M64)
    w = _weak(_f64(s, p + 32), _f64(s, p + 40), _f64(s, p + 48), _f64(s, p + 56), (z + w[1]) & M64,
              (y + _f64(s, p + 16)) & M64)
    z, x = x, z
    return _h16((_h16(v[0], w[0], mul) + ((y ^ (y >> 47)) * K0) + z) & M64, (_h16(v[1], w[1], mul) + x) & M64, mul)


def siphash24(k0: int, k1: int, s: bytes) -> int:
    """SipHash-2-4 (Aumasson and Bernstein's reference), key (k0, k1)."""
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]

    def rnd():
        v[0] = (v[0] + v[1]) & M64; v[1] = _rot(v[1], 51) ^ v[0]; v[0] = _rot(v[0], 32)  # noqa: E702
        v[2] = (v[2] + v[3]) & M64; v[3] = _rot(v[3], 48) ^ v[2]  # noqa: E702
        v[0] = (v[0] + v[3]) & M64; v[3] = _rot(v[3], 43) ^ v[0]  # noqa: E702
        v[2] = (v[2] + v[1]) & M64; v[1] = _rot(v[1], 47) ^ v[2]; v[2] = _rot(v[2], 32)  # noqa: E702

    full = len(s) - len(s) % 8
    for i in range(0, full, 8):
        m = _f64(s, i)
        v[3] ^= m
        rnd(); rnd()  # noqa: E702
        v[0] ^= m
    b = (len(s) & 0xff) << 56
    for i, c in enumerate(s[full:]):
        b |= c << (8 * i)
    v[3] ^= b
    rnd(); rnd()  # noqa: E702
    v[0] ^= b
    v[2] ^= 0xff
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


# ---------------------------------------------------------------------------- dict reference
def ref_indices(keys, vocab, num_oov=1, mask=None, mode="int", strings=True, oov_method="floormod", salt=None):
    """Keras's lookup, written with a dict: index per key (None: a dropped mask)."""
    oov_start = 1 if mask is not None and mode == "int" else 0
    start = oov_start + num_oov
    table = {t: start + i for i, t in enumerate(vocab)}
    out = []
    for k in keys:
        if mask is not None and k == mask:
            out.append(0 if mode == "int" else None)
        elif k in table:
            out.append(table[k])
        elif num_oov == 0:
            raise KeyError(k)
        elif num_oov == 1:
            out.append(oov_start)
        elif not strings and oov_method == "floormod":
            out.append(oov_start + k % num_oov)  # Python's % is floormod
        else:
            data = k.encode("utf-8") if strings else str(k).encode()
            h = siphash24(salt[0] % 2 ** 64, salt[1] % 2 ** 64, data) if salt is not None else farmhash64(data)
            out.append(oov_start + h % num_oov)
    return out


def ref_encode(idx_rows, depth, mode, idf=None):
    """(n, k) indices (None = dropped) -> the output mode's float64 rows."""
    n = len(idx_rows)
    if mode == "one_hot":
        k = len(idx_rows[0])
        out = np.zeros((n, k, depth))
        for r, row in enumerate(idx_rows):
            for j, i in enumerate(row):
                if i is not None:
                    out[r, j, i] = 1
        return out[:, 0, :] if k == 1 else out
    out = np.zeros((n, depth))
    for r, row in enumerate(idx_rows):
        for i in row:
            if i is not None:
                out[r, i] += 1
    if mode == "multi_hot":
        out = (out > 0).astype(np.float64)
    if mode == "tf_idf":
        out = out * np.asarray(idf, np.float64)
    return out


VOCAB = ["red", "green", "blue", "ümlaut", "a longer token of more than sixty-four bytes, to take farmhash's loop path"]


def _keys(rng, n):
    pool = VOCAB + ["", "[UNK]", "cyan", "x" * 70, "日本", "magenta", "y" * 20, "z" * 40]
    return [pool[i] for i in rng.integers(0, len(pool), n)]


# ---------------------------------------------------------------------------- hashes
def test_hash_references_agree_with_core():
    rng = np.random.default_rng(0)
    for n in list(range(0, 140)) + [200, 257, 1000]:
        s = bytes(rng.integers(0, 256, n).astype(np.uint8))
        assert _core._fingerprint64(s) == farmhash64(s), n
        assert _core._siphash24(3, 2 ** 63 + 9, s) == siphash24(3, 2 ** 63 + 9, s), n


def test_string_oov_buckets_measured_in_keras():
    # measured: StringLookup(vocabulary=['a','b','c'], num_oov_indices=3)(['a','zz','q','r','c']) -> [3 1 2 1 5]
    lk = layers.StringLookup(vocabulary=["a", "b", "c"], num_oov_indices=3)
    np.testing.assert_array_equal(lk(np.array(["a", "zz", "q", "r", "c"])), [3, 1, 2, 1, 5])


# ---------------------------------------------------------------------------- index layout
@pytest.mark.parametrize("num_oov", [0, 1, 2, 5])
@pytest.mark.parametrize("mask", [None, ""])
@pytest.mark.parametrize("salt", [None, (7, 2 ** 64 - 3)])
def test_string_index_layout_matches_reference(num_oov, mask, salt):
    rng = np.random.default_rng(num_oov)
    keys = _keys(rng, 300)
    lk = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=num_oov, mask_token=mask, salt=salt)
    if num_oov == 0:
        keys = [k for k in keys if k in VOCAB or k == mask]
        keys = keys[:len(keys) // 2 * 2]
    want = ref_indices(keys, VOCAB, num_oov, mask, salt=salt)
    got = lk(np.array(keys, dtype=object))
    assert got.dtype == np.int64 and got.shape == (len(keys),)
    np.testing.assert_array_equal(got, want)
    # the same keys as a 'U' array, as UTF-8 bytes ('S' and object arrays), and 2-D
    np.testing.assert_array_equal(lk(np.array(keys)), want)
    np.testing.assert_array_equal(lk(np.array([k.encode() for k in keys], dtype=object)), want)
    np.testing.assert_array_equal(lk(np.array([k.encode() for k in keys], dtype="S")), want)
    np.testing.assert_array_equal(lk(np.array(keys).reshape(-1, 2)), np.reshape(want, (-1, 2)))
    special = [mask] * (mask is not None) + ["[UNK]"] * num_oov
    assert lk.get_vocabulary() == special + VOCAB
    assert lk.vocabulary_size() == len(special) + len(VOCAB)


@pytest.mark.parametrize("num_oov,method", [(1, "floormod"), (3, "floormod"), (4, "farmhash")])
def test_integer_index_layout_matches_reference(num_oov, method):
    rng = np.random.default_rng(3)
    vocab = [10, 20, 30, -7, 2 ** 40]
    keys = [int(k) for k in rng.choice(vocab + [0, 1, -1, 7, 8, 9, -3, 2 ** 62, -(2 ** 63)], 400)]
    lk = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=num_oov, mask_token=0, oov_method=method)
    want = ref_indices(keys, vocab, num_oov, 0, strings=False, oov_method=method)
    np.testing.assert_array_equal(lk(np.array(keys, dtype=np.int64)), want)
    np.testing.assert_array_equal(lk(keys), want)
    # measured: IntegerLookup(vocabulary=[10,20,30], num_oov_indices=2, mask_token=0): [0,-1,-1,10,20,30],
    # [0,10,7,8,9,-3,20] -> [0 3 2 1 2 2 4]
    ik = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=2, mask_token=0)
    assert ik.get_vocabulary() == [0, -1, -1, 10, 20, 30]
    np.testing.assert_array_equal(ik(np.array([0, 10, 7, 8, 9, -3, 20])), [0, 3, 2, 1, 2, 2, 4])


def test_vocabulary_with_special_tokens_first_and_oov_token_as_a_term():
    lk = layers.StringLookup(vocabulary=["[UNK]", "a", "b"])  # the specials given: not prepended again
    assert lk.get_vocabulary() == ["[UNK]", "a", "b"]
    lk = layers.StringLookup(vocabulary=["a", "[UNK]", "b"])  # measured: "[UNK]" is then a term (index 2)
    assert lk.get_vocabulary() == ["[UNK]", "a", "[UNK]", "b"]
    np.testing.assert_array_equal(lk(np.array(["[UNK]", "q"])), [2, 0])
    ik = layers.IntegerLookup(vocabulary=[0, -1, 5], mask_token=0)
    assert ik.get_vocabulary() == [0, -1, 5]


def test_no_oov_index_refuses_unknown_keys():
    lk = layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=0)
    np.testing.assert_array_equal(lk(np.array([2, 1])), [1, 0])
    with pytest.raises(ValueError, match=r"num_oov_indices=0.*found OOV values \[3\]"):
        lk(np.array([1, 3]))
    sk = layers.StringLookup(vocabulary=["a"], num_oov_indices=0)
    with pytest.raises(ValueError, match="found OOV values \\['zz'\\]"):
        sk(np.array(["a", "zz"]))


# ---------------------------------------------------------------------------- output modes
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("k", [1, 3])
def test_eager_output_modes_match_reference(mode, k):
    rng = np.random.default_rng(k)
    keys = np.array(_keys(rng, 40 * k), dtype=object).reshape(40, k)
    lk = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2, mask_token="", output_mode=mode)
    idx = [ref_indices(list(row), VOCAB, 2, "", mode=mode) for row in keys]
    depth = 2 + len(VOCAB)  # no mask slot outside "int" mode
    out = lk(keys)
    assert out.dtype == np.int64  # measured: Keras's eager one_hot / multi_hot / count are int64
    np.testing.assert_array_equal(out, ref_encode(idx, depth, mode))
    assert lk.compute_output_shape((None, k)) == ((None, depth) if mode != "one_hot" or k == 1 else (None, k, depth))


def test_eager_shapes_of_rank_one_and_scalars():
    lk = layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")
    np.testing.assert_array_equal(lk(np.array(["a", "x"])), [[0, 1, 0, 0], [1, 0, 0, 0]])  # measured
    mh = layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="multi_hot")
    np.testing.assert_array_equal(mh(np.array(["a", "b"])), [0, 1, 1, 0])  # measured: rank 1 is one sample
    np.testing.assert_array_equal(mh(np.array([["a", "b", "a"], ["x", "c", "c"]])), [[0, 1, 1, 0], [1, 0, 0, 1]])
    ct = layers.StringLookup(vocabulary=["a", "b"], output_mode="count")
    np.testing.assert_array_equal(ct("a"), [0, 1, 0])  # measured
    assert layers.StringLookup(vocabulary=["a", "b"])("a") == 1


def test_tf_idf_adapt_measured_and_reference():
    lk = layers.StringLookup(output_mode="tf_idf")
    docs = np.array([["a", "a", "b"], ["a", "c", "c"]])
    lk.adapt(docs)
    assert lk.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    # reference: idf = ln(1 + num_docs / (1 + doc_freq)), the OOV weight the mean of the terms'
    idf_terms = np.log1p(2.0 / (1.0 + np.array([2.0, 1.0, 1.0])))
    idf = np.concatenate([[idf_terms.astype(np.float32).mean()], idf_terms])
    x = np.array([["a", "a", "b"], ["q", "c", "c"]])
    idx = [ref_indices(list(r), ["a", "c", "b"], mode="tf_idf") for r in x]
    out = lk(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref_encode(idx, 4, "tf_idf", idf), rtol=1e-6)
    # measured: [[0, 1.0216513, 0, 0.6931472], [0.63237333, 0, 1.3862944, 0]]
    np.testing.assert_allclose(out, [[0, 1.0216513, 0, 0.6931472], [0.63237333, 0, 1.3862944, 0]], rtol=1e-6)


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count", "tf_idf"])
def test_core_forward_matches_reference_per_isa(isa, mode):
    rng = np.random.default_rng(11)
    k = 1 if mode == "one_hot" else 4
    keys = np.array(_keys(rng, 64 * k), dtype=object).reshape(64, k)
    kw = {"idf_weights": list(rng.uniform(0.1, 2.0, len(VOCAB)))} if mode == "tf_idf" else {}
    lk = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2, mask_token="", output_mode=mode,
                             pad_to_max_tokens=mode == "count", max_tokens=12, **kw)
    core = _core.layer_from_config("StringLookup", lk._core_config())
    core.build(k)
    core.reserve(64)
    x = lk._encode_raw_input(keys)
    assert x.dtype == np.float32 and x.shape == (64, k)
    y = np.empty((64, core.out_features), np.float32)
    core.forward(np.ascontiguousarray(x), y)
    idx = [ref_indices(list(row), VOCAB, 2, "", mode=mode) for row in keys]
    if mode == "int":
        np.testing.assert_array_equal(y, np.array(idx, dtype=np.float64))
    else:
        depth = 12 if mode == "count" else 2 + len(VOCAB)
        idf = None
        if mode == "tf_idf":  # the OOV slots get the mean weight (no special tokens in the vocabulary given)
            w = np.asarray(kw["idf_weights"])
            idf = np.concatenate([[w.mean()] * 2, w])
        np.testing.assert_allclose(y, ref_encode(idx, depth, mode, idf).reshape(64, -1), rtol=1e-6)
    dx = np.full((64, k), 7.0, np.float32)
    core.backward(np.ascontiguousarray(x), y, np.ones_like(y), dx)
    np.testing.assert_array_equal(dx, 0.0)  # indices are not differentiable
    bad = np.ascontiguousarray(x.copy())
    bad[3, 0] = 99.0
    with pytest.raises(ValueError, match="StringLookup: got index 99"):
        core.forward(bad, y)


# ---------------------------------------------------------------------------- adapt
def test_adapt_order_measured_in_keras():
    ik = layers.IntegerLookup()
    ik.adapt(np.array([42, 42, 1138, 1000, 36, 12, -1]))
    assert ik.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]  # measured (the OOV token -1 left out)
    sk = layers.StringLookup()
    sk.adapt(np.array(["b", "b", "b", "a", "a", "c", "c", "d", "e"]))
    assert sk.get_vocabulary() == ["[UNK]", "b", "c", "a", "e", "d"]  # measured
    cut = layers.IntegerLookup(max_tokens=3)
    cut.adapt(np.array([[42, 42], [1138, 1000], [36, 12]]))
    assert cut.get_vocabulary() == [-1, 42, 1138]  # measured


def test_adapt_matches_counter_reference():
    rng = np.random.default_rng(4)
    data = np.array(_keys(rng, 500) + ["[UNK]"] * 3 + [""] * 9, dtype=object)
    lk = layers.StringLookup(mask_token="", max_tokens=6)
    lk.adapt(data)
    counts = collections.Counter(data.tolist())
    del counts[""], counts["[UNK]"]
    order = sorted(counts, key=lambda t: (counts[t], t.encode()), reverse=True)[:6 - 2]
    assert lk.get_vocabulary() == ["", "[UNK]"] + order
    lk.adapt(np.array(["q", "q", "r"]))  # each adapt replaces the vocabulary
    assert lk.get_vocabulary(include_special_tokens=False) == ["q", "r"]
    # batches from an iterable, steps limiting them
    it = layers.StringLookup()
    it.adapt(iter([np.array(["a", "b"]), np.array(["b"]), np.array(["c", "c", "c"])]), steps=2)
    assert it.get_vocabulary() == ["[UNK]", "b", "a"]


def test_adapt_after_a_static_vocabulary_and_vocabulary_size_changes():
    lk = layers.StringLookup(vocabulary=["a"])
    with pytest.raises(ValueError, match="Cannot adapt layer"):
        lk.adapt(np.array(["a"]))
    oh = layers.StringLookup(output_mode="one_hot")
    oh.adapt(np.array(["a", "b"]))
    with pytest.raises(RuntimeError, match="vocabulary size cannot be changed"):
        oh.adapt(np.array(["a", "b", "c"]))
    assert oh.get_vocabulary() == ["[UNK]", "b", "a"]  # unchanged
    with pytest.raises(RuntimeError, match="set the layer's vocabulary before calling it"):
        layers.StringLookup(output_mode="multi_hot")(np.array(["a"]))


# ---------------------------------------------------------------------------- arguments and config
@pytest.mark.parametrize("kwargs,match", [
    ({"max_tokens": 1}, "max_tokens"),
    ({"num_oov_indices": -1}, "num_oov_indices"),
    ({"pad_to_max_tokens": True}, "pad_to_max_tokens"),
    ({"invert": True, "output_mode": "one_hot"}, "invert"),
    ({"sparse": True}, "sparse"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"]}, "idf_weights"),
    ({"idf_weights": [1.0], "vocabulary": ["a"]}, "idf_weights"),
    ({"output_mode": "binaryish"}, "output_mode"),
    ({"vocabulary": ["a", "b", "a"]}, "repeated"),
    ({"vocabulary": []}, "empty vocabulary"),
    ({"vocabulary": ["a", "", "b"], "mask_token": ""}, "reserved mask token"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 3}, "larger than the maximum"),
])
def test_keras_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.StringLookup(**kwargs)


def test_integer_lookup_arguments():
    with pytest.raises(ValueError, match="vocabulary_dtype"):
        layers.IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(ValueError, match="salt"):
        layers.IntegerLookup(salt=3)
    with pytest.raises(ValueError, match="integer"):
        layers.IntegerLookup(vocabulary=[1, "b"])


@pytest.mark.parametrize("cls,vocab,keys", [
    (layers.StringLookup, ["x", "y", "z"], np.array([["x"], ["w"], ["z"]])),
    (layers.IntegerLookup, [4, 5, 6], np.array([[4], [9], [6]])),
])
def test_config_round_trip(cls, vocab, keys):
    lk = cls(vocabulary=vocab, num_oov_indices=2, output_mode="multi_hot", name="lk")
    cfg = lk.get_config()
    keras_keys = {"name", "trainable", "dtype", "invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token",
                  "output_mode", "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary", "vocabulary_size",
                  "oov_method", "salt"} | ({"encoding"} if cls is layers.StringLookup else {"vocabulary_dtype"})
    assert set(cfg) == keras_keys
    assert cfg["vocabulary"] == vocab and cfg["vocabulary_size"] == 5
    json.dumps(cfg)
    back = cls.from_config(cfg)
    np.testing.assert_array_equal(back(keys), lk(keys))
    again = layers.deserialize(layers.serialize(lk))
    assert type(again) is cls and again.get_vocabulary() == lk.get_vocabulary()
    # an adapted layer's vocabulary travels in its config too, and stays adaptable
    ad = cls(output_mode="count")
    ad.adapt(keys)
    back = cls.from_config(ad.get_config())
    np.testing.assert_array_equal(back(keys), ad(keys))
    back.adapt(keys[::-1])  # (the same vocabulary size: count mode cannot change it once set)


def test_invert_is_eager_only():
    inv = layers.StringLookup(vocabulary=["a", "b"], invert=True)
    assert list(inv(np.array([0, 1, 2, 3, -1]))) == ["[UNK]", "a", "b", "[UNK]", "[UNK]"]  # measured
    m = ranvier.Sequential([inv, layers.Dense(1)])
    with pytest.raises(ValueError, match="invert=True"):
        m.predict(np.array([[1]]), verbose=0)


def test_bad_keys_are_refused_by_name():
    sk = layers.StringLookup(vocabulary=["a"])
    with pytest.raises(TypeError, match="must be strings"):
        sk(np.array([1.5, 2.0]))
    with pytest.raises(TypeError, match="key 1 is a NoneType"):
        sk(np.array(["a", None], dtype=object))
    ik = layers.IntegerLookup(vocabulary=[1])
    with pytest.raises(ValueError, match="integers"):
        ik(np.array([1.5]))
    with pytest.raises(TypeError, match="integers"):
        ik(np.array(["a"]))
    np.testing.assert_array_equal(ik(np.array([1.0, 3.0])), [1, 0])  # integral floats are keys


# ---------------------------------------------------------------------------- models and files
def _string_data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.choice(["red", "green", "blue", "other"], n)
    y = (x == "red").astype(np.int64) + 0 * rng.integers(0, 2, n)
    return x, y


def test_sequential_fits_and_predicts_on_strings(isa):
    ranvier.utils.set_random_seed(1)
    x, y = _string_data()
    m = ranvier.Sequential([layers.StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot"),
                            layers.Dense(2)])
    m.compile(optimizer=ranvier.optimizers.Adam(0.05),
              loss=ranvier.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    h = m.fit(x, y, epochs=40, batch_size=16, verbose=0, validation_split=0.25)
    assert h.history["accuracy"][-1] == 1.0 and h.history["val_accuracy"][-1] == 1.0
    kernel, bias = m.layers[1].get_weights()
    onehot = np.eye(4)[ref_indices(list(x[:20]), ["red", "green", "blue"])]
    want = onehot @ kernel.astype(np.float64) + bias
    np.testing.assert_allclose(m.predict(x[:20], verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m(x[:20]), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.predict(x[:20].reshape(-1, 1).astype(object), verbose=0), want, rtol=1e-5,
                               atol=1e-6)
    loss, acc = m.evaluate(x, y, verbose=0)
    assert acc == 1.0 and loss < 0.5
    with pytest.raises(TypeError, match="must be strings"):
        m.predict(np.zeros((2, 1), np.float32), verbose=0)  # raw floats are not keys (no fast path around it)


def test_integer_lookup_model_with_int64_input():
    ranvier.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    x = rng.choice([3, 17, 99, 1000], (200, 2)).astype(np.int64)
    y = ((x == 17).any(axis=1)).astype(np.float32)
    lk = layers.IntegerLookup(output_mode="multi_hot")
    lk.adapt(x)
    m = ranvier.Sequential([lk, layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    m.fit(x, y, epochs=5, verbose=0)
    kernel, bias = m.layers[1].get_weights()
    idx = [ref_indices(list(r), lk.get_vocabulary(include_special_tokens=False), strings=False) for r in x[:10]]
    z = ref_encode(idx, lk.vocabulary_size(), "multi_hot") @ kernel.astype(np.float64) + bias
    np.testing.assert_allclose(m.predict(x[:10], verbose=0), 1 / (1 + np.exp(-z)), rtol=1e-5, atol=1e-6)


def _c_encode_strings(h, keys):
    enc = ctypes.CFUNCTYPE(ctypes.c_int, capi.P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p),
                           ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)(
        _core._c_api_addresses()["ranvier_model_encode_strings"])
    raw = [k.encode("utf-8") for k in keys]
    arr = (ctypes.c_char_p * len(raw))(*raw)
    out = np.full(len(raw), np.nan, np.float32)
    status = enc(h, None, arr, None, len(raw), out.ctypes.data, out.size)
    return status, out


def test_save_load_and_the_c_api_encode_strings(tmp_path):
    ranvier.utils.set_random_seed(3)
    x, y = _string_data(seed=3)
    lk = layers.StringLookup(num_oov_indices=2, output_mode="one_hot")
    lk.adapt(x[:100])
    m = ranvier.Sequential([lk, layers.Dense(4, activation="relu"), layers.Dense(2)])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "lookup.safetensors"
    m.save(path)
    loaded = ranvier.saving.load_model(path)
    assert loaded.layers[0].get_vocabulary() == lk.get_vocabulary()
    probe = np.array(["red", "nope", "blue", "green", "", "ünknown"])
    want = m.predict(probe, verbose=0)
    np.testing.assert_array_equal(loaded.predict(probe, verbose=0), want)
    with open(path, "rb") as f:  # the vocabulary is in the file's architecture
        header = f.read(8 + int.from_bytes(f.read(8), "little"))
    assert b"green" in header
    # C: load the file, encode the raw strings, predict
    h = capi.P()
    assert capi.load(str(path).encode(), ctypes.byref(h)) == 0, capi.last_error()
    try:
        status, idx = _c_encode_strings(h, list(probe))
        assert status == 0, capi.last_error()
        np.testing.assert_array_equal(idx, lk._encode_raw_input(probe))
        out = np.full((len(probe), 2), np.nan, np.float32)
        assert capi.predict(h, idx.ctypes.data, len(probe), out.ctypes.data, out.size) == 0, capi.last_error()
        np.testing.assert_array_equal(out, want)
        status, _ = _c_encode_strings(h, [])
        assert status == 0
    finally:
        capi.free(h)


def test_c_api_encode_refuses_a_model_without_lookup(tmp_path):
    m = ranvier.Sequential([ranvier.Input(shape=(2,)), layers.Dense(1)])
    path = tmp_path / "plain.safetensors"
    m.save(path)
    h = capi.P()
    assert capi.load(str(path).encode(), ctypes.byref(h)) == 0
    try:
        status, _ = _c_encode_strings(h, ["a"])
        assert status == 1 and b"not a StringLookup" in capi.last_error()
    finally:
        capi.free(h)


def test_large_vocabulary_encodes_and_saves(tmp_path):
    vocab = [f"tok{i}" for i in range(50000)]
    lk = layers.StringLookup(vocabulary=vocab)
    keys = np.array(vocab[::-1] + ["missing"], dtype=object)
    np.testing.assert_array_equal(lk(keys), list(range(50000, 0, -1)) + [0])
    m = ranvier.Sequential([lk, layers.Dense(1)])
    m.build((None, 1))
    m.save(tmp_path / "big.safetensors")
    loaded = ranvier.saving.load_model(tmp_path / "big.safetensors")
    np.testing.assert_array_equal(loaded.predict(keys[:50], verbose=0), m.predict(keys[:50], verbose=0))
    assert math.isfinite(float(loaded.predict(keys[:1], verbose=0)[0, 0]))


@pytest.mark.parametrize("suffix", [".safetensors", ".keras"])
def test_a_vocabulary_of_300k_terms_saves_and_loads(tmp_path, suffix):
    # Past the loaders' fixed 16 MiB of metadata values (about 190,000): the limit grows with
    # the metadata's text (cpp/src/io/model_io.h, metadata_value_limit), so a model whose
    # vocabulary is in its config loads back, in ranvier's file and in the .keras file.
    import warnings
    if suffix == ".keras":
        pytest.importorskip("h5py")  # the .keras weights are HDF5 (the 'h5' extra)
    vocab = [f"t{i}" for i in range(300_000)]
    ids = list(range(7, 300_007))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "cannot be loaded" warning below the file's limit
        s_in = ranvier.Input(shape=(1,), dtype="string", name="s")
        i_in = ranvier.Input(shape=(1,), dtype="int64", name="i")
        s_ids = layers.StringLookup(vocabulary=vocab, name="slk")(s_in)
        i_ids = layers.IntegerLookup(vocabulary=ids, name="ilk")(i_in)
        both = layers.Concatenate()([layers.Flatten()(layers.Embedding(300_001, 2)(s_ids)),
                                     layers.Flatten()(layers.Embedding(300_001, 2)(i_ids))])
        m = ranvier.Model({"s": s_in, "i": i_in}, layers.Dense(1)(both))
    x = {"s": np.array([["t0"], ["t299999"], ["nope"]]), "i": np.array([[7], [300_006], [5]])}
    m.save(tmp_path / ("big" + suffix))
    loaded = ranvier.saving.load_model(tmp_path / ("big" + suffix))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    assert loaded.get_layer("slk").vocabulary_size() == 300_001
    np.testing.assert_array_equal(loaded.get_layer("ilk")(np.array([7, 300_006, 5])), [1, 300_000, 0])


def test_a_vocabulary_past_the_file_limit_warns(monkeypatch):
    from ranvier.layers import _lookup
    monkeypatch.setattr(_lookup, "_FILE_VOCAB_LIMIT", 1000)
    with pytest.warns(UserWarning, match="cannot be loaded from its file"):
        layers.StringLookup(vocabulary=[f"t{i}" for i in range(1001)])


def test_a_lookup_layer_must_take_the_raw_input():
    m = ranvier.Sequential([layers.Identity(), layers.IntegerLookup(vocabulary=[1, 2])])
    with pytest.raises(ValueError, match="must be the first layer"):
        m.predict(np.array([[1], [2]]), verbose=0)


def test_tf_idf_model_round_trips_through_the_file(tmp_path):
    lk = layers.StringLookup(output_mode="tf_idf")
    docs = np.array([["a", "a", "b"], ["a", "c", "c"], ["d", "b", "b"]])
    lk.adapt(docs)
    m = ranvier.Sequential([lk, layers.Dense(1)])
    m.build((None, 3))
    want = lk(docs).astype(np.float64) @ m.layers[1].get_weights()[0] + m.layers[1].get_weights()[1]
    np.testing.assert_allclose(m.predict(docs, verbose=0), want, rtol=1e-5, atol=1e-6)
    m.save(tmp_path / "tfidf.safetensors")
    loaded = ranvier.saving.load_model(tmp_path / "tfidf.safetensors")
    np.testing.assert_array_equal(loaded.predict(docs, verbose=0), m.predict(docs, verbose=0))
    np.testing.assert_array_equal(loaded.layers[0](docs), lk(docs))


def test_copies_and_pickles():
    import copy
    import pickle
    lk = layers.StringLookup(vocabulary=["a", "b"])
    lk(np.array(["a"]))  # caches the C++ encoder
    np.testing.assert_array_equal(copy.deepcopy(lk)(np.array(["b", "q"])), [2, 0])
    m = ranvier.Sequential([lk, layers.Dense(2)])
    m.build((None, 1))
    x = np.array(["a", "z", "b"])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(m)).predict(x, verbose=0), m.predict(x, verbose=0))
