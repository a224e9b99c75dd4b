"""Operations on NumPy arrays: ``matmul`` (float32, the C++ GEMM kernels), and NumPy versions
of the ``keras.ops`` functions that Python metrics and losses written for Keras use (``sum``,
``mean``, ``cast``, ``where``, ``clip``, ...; see ``ranvier._ops_numpy``). Note ``matmul``
here is ranvier's 2-D GEMM (``transpose_a`` / ``transpose_b``), not ``keras.ops.matmul``'s
N-D broadcasting product; ``dot`` is NumPy's."""
from __future__ import annotations

import numpy as np

from . import _checks, _core
from ._ops_numpy import *  # noqa: F401,F403 - the keras.ops functions
from ._ops_numpy import __all__ as _numpy_ops
from ._ops_numpy_nn import *  # noqa: F401,F403 - activations, cross-entropies, top_k, ...
from ._ops_numpy_nn import __all__ as _numpy_nn_ops

__all__ = ["matmul", *_numpy_ops, *_numpy_nn_ops]

_core_matmul = _core.matmul


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False) -> np.ndarray:
    """``op(a) @ op(b)`` in float32, where ``op`` transposes when asked.

    Returns a new C-contiguous float32 array of shape ``(m, n)``.

    Operands are read in place, without copies, when they are 2-D float32 arrays whose
    rows or columns are contiguous: C order, F order (``x.T`` of a C array: the transpose
    becomes a packing choice) and row/column slices of those (any leading dimension).
    Otherwise, documented conversions make one copy: float64/float16 input is cast to
    float32 (the product is computed in float32), and other strided views are copied to
    C order. Integer, bool, complex and object arrays raise ``TypeError``; wrong ndim,
    empty operands and mismatched inner dimensions raise ``ValueError`` naming the shapes.
    """
    # Fast path: the core checks dtype, ndim, layout and shapes and returns None when
    # anything needs explaining or converting (kept cheap for small layers).
    c = _core_matmul(a, b, transpose_a, transpose_b)
    if c is not None:
        return c
    _check_matrix(a, "a")
    _check_matrix(b, "b")
    ka = a.shape[0] if transpose_a else a.shape[1]
    kb = b.shape[1] if transpose_b else b.shape[0]
    if ka != kb:
        raise ValueError(
            f"matmul: inner dimensions differ: op(a) is {'a.T' if transpose_a else 'a'} with "
            f"a.shape={a.shape}, op(b) is {'b.T' if transpose_b else 'b'} with b.shape={b.shape}; "
            f"{ka} != {kb}")
    c = _core_matmul(_as_f32_matrix(a, "a"), _as_f32_matrix(b, "b"), bool(transpose_a), bool(transpose_b))
    if c is None:  # pragma: no cover - _as_f32_matrix returns what the core accepts
        raise RuntimeError("matmul: internal error: converted operands were not accepted")
    return c


def _check_matrix(x, name: str) -> None:
    """Raises TypeError/ValueError, naming the argument and its shape, for a bad operand."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"matmul: {name} must be a NumPy array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(
            f"matmul: {name} must be a floating-point array, got dtype={x.dtype} with "
            f"{name}.shape={x.shape} (convert with {name}.astype(np.float32))")
    if x.ndim != 2:
        raise ValueError(f"matmul: {name} must be 2-D, got {name}.shape={x.shape}")
    if x.size == 0:
        raise ValueError(f"matmul: {name} must not be empty, got {name}.shape={x.shape}")


def _as_f32_matrix(x: np.ndarray, name: str = "x") -> np.ndarray:
    """A float32 matrix the core reads in place, copying only when needed.

    Conversions (documented, never silent about meaning): float64/float16 are cast to
    float32 (one copy); views whose rows and columns are both strided (or reversed, or
    broadcast), and unaligned or byte-swapped arrays, are copied to a new C-order array.
    """
    if x.dtype == np.float32 and x.dtype.isnative and x.flags.aligned:
        if x.flags.f_contiguous and not x.flags.c_contiguous:
            return x  # read as a transpose
        if x.flags.c_contiguous:
            return x
    if x.dtype.itemsize > 4 and x.dtype.kind == "f":  # finite values beyond float32: a clear error
        return _checks.to_float32(x, name, "matmul")
    return np.array(x, dtype=np.float32, order="C")  # a new, aligned, C-order copy
