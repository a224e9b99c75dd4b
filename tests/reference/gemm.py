"""float64 NumPy reference of the GEMM contract (cpp/src/gemm/gemm.h).

    C = act(alpha * op(A) @ op(B) + beta * C + bias),   act = relu or identity

computed in float64 from the float32 inputs (so the reference itself carries no
float32 rounding). beta == 0 ignores C entirely (NaN in C does not propagate), as in BLAS.
"""
from __future__ import annotations

import numpy as np

# float32 unit roundoff (2^-24).
U32 = 2.0 ** -24


def op(x, transpose):
    x = np.asarray(x, dtype=np.float64)
    return x.T if transpose else x


def gemm(a, b, c=None, transpose_a=False, transpose_b=False, alpha=1.0, beta=0.0, bias=None,
         relu=False):
    """The float64 result of the full sgemm contract."""
    r = alpha * (op(a, transpose_a) @ op(b, transpose_b))
    if beta != 0.0:
        r = r + beta * np.asarray(c, dtype=np.float64)
    if bias is not None:
        r = r + np.asarray(bias, dtype=np.float64)[None, :]
    if relu:
        r = np.maximum(r, 0.0)
    return r


def gemm_tolerance(a, b, c=None, transpose_a=False, transpose_b=False, alpha=1.0, beta=0.0,
                   bias=None):
    """Elementwise error allowance of a float32 GEMM against the float64 reference.

    A float32 dot product of length K has a rounding error bounded by K*u*(|A|@|B|)
    (u = 2^-24) in the worst case; with rounding errors of random sign it grows like
    sqrt(K)*u*(|A|@|B|). We allow 16*sqrt(K+1)*u (about 1e-6*sqrt(K): 6.4e-5 of the
    magnitude sum at K=4096) times the magnitudes that enter the result: tight enough
    that a single missing or doubled product term (about |A||B|/K of the sum) fails for
    every K we test, loose enough for any summation order the kernels may use.
    """
    A = np.abs(op(a, transpose_a))
    B = np.abs(op(b, transpose_b))
    k = A.shape[1]
    mag = abs(alpha) * (A @ B)
    if beta != 0.0:
        mag = mag + abs(beta) * np.abs(np.asarray(c, dtype=np.float64))
    if bias is not None:
        mag = mag + np.abs(np.asarray(bias, dtype=np.float64))[None, :]
    return 16.0 * np.sqrt(k + 1.0) * U32 * mag + 1e-30


def matvec_check(a, b, c, t, transpose_a=False, transpose_b=False):
    """For big GEMMs: (C@t, A@(B@t), allowance) in float64, O(mk + kn) instead of O(mnk).

    The allowance bounds |(C - AB) t| by the elementwise GEMM allowance applied through
    |t|: 16*sqrt(K+1)*u * |A| @ (|B| @ |t|).
    """
    A = op(a, transpose_a)
    B = op(b, transpose_b)
    t = np.asarray(t, dtype=np.float64)
    got = np.asarray(c, dtype=np.float64) @ t
    want = A @ (B @ t)
    k = A.shape[1]
    tol = 16.0 * np.sqrt(k + 1.0) * U32 * (np.abs(A) @ (np.abs(B) @ np.abs(t)))
    return got, want, tol
