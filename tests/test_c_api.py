"""The C API (cpp/include/ranvier/c_api.h) called through ctypes: the real C ABI, the
same functions a C, Rust, Go or C# program links against. The compiled module exposes
their addresses (ranvier._core._c_api_addresses) so no separate library is needed here;
CI also builds examples/c against the installed package."""
import ctypes
import threading

import numpy as np
import pytest

import ranvier
from ranvier import _core

_A = _core._c_api_addresses()
_P = ctypes.c_void_p
_load = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_P))(_A["ranvier_model_load"])
_in_size = ctypes.CFUNCTYPE(ctypes.c_int64, _P)(_A["ranvier_model_input_size"])
_out_size = ctypes.CFUNCTYPE(ctypes.c_int64, _P)(_A["ranvier_model_output_size"])
_predict = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                            ctypes.c_int64)(_A["ranvier_model_predict"])
_free = ctypes.CFUNCTYPE(None, _P)(_A["ranvier_model_free"])
_last_error = ctypes.CFUNCTYPE(ctypes.c_char_p)(_A["ranvier_last_error"])
_version = ctypes.CFUNCTYPE(ctypes.c_char_p)(_A["ranvier_version"])

OK, INVALID, IO = 0, 1, 2


def _load_model(path):
    h = _P()
    status = _load(str(path).encode(), ctypes.byref(h))
    return status, h


def _predict_np(h, x, out_len=None):
    x = np.ascontiguousarray(x, dtype=np.float32)
    k = _out_size(h)
    out = np.full((x.shape[0], k), np.nan, dtype=np.float32)
    status = _predict(h, x.ctypes.data, x.shape[0], out.ctypes.data,
                      out.size if out_len is None else out_len)
    return status, out


@pytest.fixture()
def saved(tmp_path):
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(5,)), ranvier.layers.Dense(12, activation="relu"),
                            ranvier.layers.BatchNormalization(), ranvier.layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 5)).astype(np.float32)
    m.fit(x, rng.integers(0, 3, 200), epochs=2, verbose=0)
    p = tmp_path / "m.safetensors"
    m.save(p)
    return m, p, x


def test_load_sizes_predict_free(saved):
    m, p, x = saved
    status, h = _load_model(p)
    assert status == OK, _last_error()
    try:
        assert (_in_size(h), _out_size(h)) == (5, 3)
        status, out = _predict_np(h, x)
        assert status == OK
        # Same kernels, same batch split as Python's predict(batch_size=256).
        assert np.array_equal(out, m.predict(x, batch_size=256, verbose=0))
        # n = 0 is a no-op.
        assert _predict(h, None, 0, None, 0) == OK
    finally:
        _free(h)
    _free(None)  # allowed
    assert _version().decode() == ranvier.__version__


def test_errors_are_codes_and_thread_local_messages(saved, tmp_path):
    m, p, x = saved
    status, h = _load_model(tmp_path / "missing.safetensors")
    assert status == IO and not h.value
    assert b"cannot open" in _last_error()

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(p.read_bytes()[:-4])
    status, h = _load_model(bad)
    assert status == INVALID and not h.value
    assert b"invalid model file" in _last_error()

    assert _load(None, ctypes.byref(_P())) == INVALID
    assert _load(str(p).encode(), None) == INVALID
    assert b"out is NULL" in _last_error()
    assert _in_size(None) == 0 and _out_size(None) == 0

    status, h = _load_model(p)
    try:
        status, _ = _predict_np(h, x, out_len=3 * len(x) - 1)
        assert status == INVALID
        msg = _last_error()
        assert b"out holds" in msg and b"n * output_size" in msg
        assert _predict(None, x.ctypes.data, 1, x.ctypes.data, 3) == INVALID
        assert _predict(h, x.ctypes.data, -1, x.ctypes.data, 3) == INVALID

        # The message is per thread: another thread's failure does not overwrite ours.
        seen = {}

        def other():
            _load(b"/definitely/missing", ctypes.byref(_P()))
            seen["other"] = _last_error()

        before = _last_error()
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert b"cannot open" in seen["other"]
        assert _last_error() == before
    finally:
        _free(h)


def test_concurrent_predictions_on_one_model(saved):
    m, p, x = saved
    status, h = _load_model(p)
    expected = m.predict(x, batch_size=256, verbose=0)
    results = []

    def work():
        for _ in range(20):
            results.append(_predict_np(h, x))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _free(h)
    assert len(results) == 80
    assert all(s == OK and np.array_equal(o, expected) for s, o in results)
