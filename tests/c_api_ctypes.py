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


# ---- several inputs and outputs
num_inputs = ctypes.CFUNCTYPE(ctypes.c_int, P)(_A["ranvier_model_num_inputs"])
num_outputs = ctypes.CFUNCTYPE(ctypes.c_int, P)(_A["ranvier_model_num_outputs"])
input_name = ctypes.CFUNCTYPE(ctypes.c_char_p, P, ctypes.c_int)(_A["ranvier_model_input_name"])
output_name = ctypes.CFUNCTYPE(ctypes.c_char_p, P, ctypes.c_int)(_A["ranvier_model_output_name"])
input_width = ctypes.CFUNCTYPE(ctypes.c_int64, P, ctypes.c_int)(_A["ranvier_model_input_width"])
output_width = ctypes.CFUNCTYPE(ctypes.c_int64, P, ctypes.c_int)(_A["ranvier_model_output_width"])
input_dtype = ctypes.CFUNCTYPE(ctypes.c_char_p, P, ctypes.c_int)(_A["ranvier_model_input_dtype"])
predict_multi = ctypes.CFUNCTYPE(ctypes.c_int, P, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int64,
                                 ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64),
                                 ctypes.c_int)(_A["ranvier_model_predict_multi"])
encode_input_strings = ctypes.CFUNCTYPE(ctypes.c_int, P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p,
                                        ctypes.c_int64, ctypes.c_void_p,
                                        ctypes.c_int64)(_A["ranvier_model_encode_input_strings"])
encode_input_ints = ctypes.CFUNCTYPE(ctypes.c_int, P, ctypes.c_int, ctypes.c_void_p, ctypes.c_int64,
                                     ctypes.c_void_p, ctypes.c_int64)(_A["ranvier_model_encode_input_ints"])


def load_handle(path):
    """(status, handle) of ranvier_model_load."""
    h = P()
    return load(str(path).encode(), ctypes.byref(h)), h


def describe(h):
    """{"inputs": [(name, width, dtype)], "outputs": [(name, width)]} of a loaded model."""
    return {"inputs": [(input_name(h, i).decode(), input_width(h, i), input_dtype(h, i).decode())
                       for i in range(num_inputs(h))],
            "outputs": [(output_name(h, j).decode(), output_width(h, j)) for j in range(num_outputs(h))]}


def predict_multi_arrays(h, xs, out_lens=None):
    """(status, [outputs]) of ranvier_model_predict_multi on float32 row arrays ``xs``."""
    xs = [np.ascontiguousarray(x, dtype=np.float32) for x in xs]
    n = xs[0].shape[0] if xs else 0
    outs = [np.full((n, output_width(h, j)), np.nan, np.float32) for j in range(num_outputs(h))]
    in_ptrs = (ctypes.c_void_p * max(1, len(xs)))(*[x.ctypes.data for x in xs])
    out_ptrs = (ctypes.c_void_p * max(1, len(outs)))(*[o.ctypes.data for o in outs])
    lens = (ctypes.c_int64 * max(1, len(outs)))(*(out_lens or [o.size for o in outs]))
    status = predict_multi(h, in_ptrs, len(xs), n, out_ptrs, lens, len(outs))
    return status, outs


def encode_input_strings_array(h, i, keys):
    """(status, float32 indices) of ranvier_model_encode_input_strings for a list of str
    (NUL-terminated: lens NULL)."""
    arr = (ctypes.c_char_p * max(1, len(keys)))(*[k.encode("utf-8") for k in keys])
    out = np.full(len(keys), np.nan, np.float32)
    status = encode_input_strings(h, i, arr, None, len(keys), out.ctypes.data, out.size)
    return status, out


def encode_input_ints_array(h, i, keys):
    """(status, float32 indices) of ranvier_model_encode_input_ints."""
    k = np.ascontiguousarray(keys, dtype=np.int64)
    out = np.full(k.size, np.nan, np.float32)
    status = encode_input_ints(h, i, k.ctypes.data, k.size, out.ctypes.data, out.size)
    return status, out
