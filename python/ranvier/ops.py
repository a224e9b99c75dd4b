"""Low-level operations on NumPy arrays (float32), backed by the C++ kernels."""
from __future__ import annotations

import numpy as np

from . import _core

__all__ = ["matmul"]


def _as_f32_matrix(x, name: str) -> np.ndarray:
    """Checks a matrix operand and returns a C-contiguous float32 view of it.

    Conversions (documented, never silent about meaning): float64/float16 are cast
    to float32 (one copy); non-contiguous or transposed views are copied to
    C order. Integer, bool, complex and object arrays are rejected.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"matmul: {name} must be a NumPy array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(
            f"matmul: {name} must be a floating-point array, got dtype={x.dtype} "
            f"(convert with {name}.astype(np.float32))")
    if x.ndim != 2:
        raise ValueError(f"matmul: {name} must be 2-D, got {name}.shape={x.shape}")
    if x.size == 0:
        raise ValueError(f"matmul: {name} must not be empty, got {name}.shape={x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False) -> np.ndarray:
    """``op(a) @ op(b)`` in float32, where ``op`` transposes when asked.

    Returns a new C-contiguous float32 array. float64 input is cast to float32;
    non-contiguous input is copied (see ``_as_f32_matrix``).
    """
    a32 = _as_f32_matrix(a, "a")
    b32 = _as_f32_matrix(b, "b")
    ka = a32.shape[0] if transpose_a else a32.shape[1]
    kb = b32.shape[1] if transpose_b else b32.shape[0]
    if ka != kb:
        raise ValueError(
            f"matmul: inner dimensions differ: op(a) is {'a.T' if transpose_a else 'a'} with "
            f"a.shape={a.shape}, op(b) is {'b.T' if transpose_b else 'b'} with b.shape={b.shape}; "
            f"{ka} != {kb}")
    return _core.matmul(a32, b32, bool(transpose_a), bool(transpose_b))
