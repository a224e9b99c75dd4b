"""The C API's functions (cpp/include/ranvier/c_api.h) as ctypes callables: the real C ABI
that C, Rust, Go or C# programs link against. The compiled module exposes their addresses
(ranvier._core._c_api_addresses), so the tests need no separate library."""
import ctypes

import numpy as np

from ranvier import _core

_A = _core._c_api_addresses()
P = ctypes.c_void_p
load = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(P))(_A["ranvier_model_load"])
input_size = ctypes.CFUNCTYPE(ctypes.c_int64, P)(_A["ranvier_model_input_size"])
output_size = ctypes.CFUNCTYPE(ctypes.c_int64, P)(_A["ranvier_model_output_size"])
predict = ctypes.CFUNCTYPE(ctypes.c_int, P, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                           ctypes.c_int64)(_A["ranvier_model_predict"])
free = ctypes.CFUNCTYPE(None, P)(_A["ranvier_model_free"])
last_error = ctypes.CFUNCTYPE(ctypes.c_char_p)(_A["ranvier_last_error"])
version = ctypes.CFUNCTYPE(ctypes.c_char_p)(_A["ranvier_version"])


def predict_file(path, x):
    """Loads a model file through the C API and predicts ``x`` (float32 rows) with it."""
    h = P()
    assert load(str(path).encode(), ctypes.byref(h)) == 0, last_error()
    try:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.full((x.shape[0], output_size(h)), np.nan, np.float32)
        assert predict(h, x.ctypes.data, x.shape[0], out.ctypes.data, out.size) == 0, last_error()
        return out
    finally:
        free(h)
