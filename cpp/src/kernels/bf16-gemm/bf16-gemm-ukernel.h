// bf16 GEMM micro-kernel family (mixed_bfloat16): the entry in the kernel table.
//
// Used by bgemm (gemm/bf16_gemm.h): C = act(alpha * bf16(op(A)) @ bf16(op(B)) + beta * C + bias),
// the products of bfloat16-rounded inputs summed in float32. Only the avx512bf16 tier fills
// this table (vdpbf16ps); below it `ukernel` is nullptr and bgemm emulates the same
// arithmetic with the float32 kernels (see bf16_gemm.cpp).
//
// A "pair" is one uint32 holding two bfloat16 values adjacent along k: element 2*pp in the
// low half, 2*pp+1 in the high half (an odd k leaves a zero high half in the last pair).
// The packers do the rounding (round to nearest even, as vcvtne2ps2bf16; NaN stays NaN,
// float32 denormals become signed zero), so a kernel sees only pairs.
#pragma once

#include <cstdint>

namespace ranvier {

// Packs op(A)(i, p) for rows i < rows and p < kc (kc >= 1) into pairs, kp = ceil(kc / 2):
//   !ta: op(A)(i, p) = a[i*lda + p];  out: row-major pairs,    pair (i, pp) at dst[i*kp + pp];
//    ta: op(A)(i, p) = a[p*lda + i];  out: column-major pairs, pair (i, pp) at dst[pp*ld + i],
//        with ld = rows_padded (>= rows), rows in [rows, rows_padded) zero-filled.
using Bf16PackAFn = void (*)(bool ta, const float* a, std::int64_t lda, std::int64_t rows, std::int64_t kc,
                             std::int64_t rows_padded, std::uint32_t* dst);

// Packs op(B)(p, j) for p < kc and columns j < ncols into NR-wide panels of pairs:
//   !tb: op(B)(p, j) = b[p*ldb + j];  tb: op(B)(p, j) = b[j*ldb + p];
//   panel q = j / NR at dst + q*kp*NR, pair (pp, j) at [pp*NR + j % NR]; columns past ncols
//   of the last panel are zero.
using Bf16PackBFn = void (*)(bool tb, const float* b, std::int64_t ldb, std::int64_t kc, std::int64_t ncols,
                             std::uint32_t* dst);

// One register tile of C (1 <= m <= MR rows, 1 <= n <= NR columns), kp >= 1 pairs:
//   acc[i][j] = sum over pp ascending of the pair dot product A(i, pp) . B(pp, j)  (vdpbf16ps)
//   C = alpha * acc + beta * C  (as fmadd(beta, C, alpha*acc); beta == 0 never reads C)
//   C = act(C + bias)           (bias may be nullptr; act 0 none, 1 relu)
// A: a_stride > 0: row-major pairs, pair (i, pp) at a[i*a_stride + pp]; only rows < m read.
//    a_stride < 0: column-major pairs, pair (i, pp) at a[pp*(-a_stride) + i]; MR rows readable.
// B: one packed panel, pair (pp, j) at b[pp*NR + j].
using Bf16UkernelFn = void (*)(std::int64_t kp, const std::uint32_t* a, std::int64_t a_stride,
                               const std::uint32_t* b, float* c, std::int64_t ldc, int m, int n, float alpha,
                               float beta, const float* bias, int act);

// Few rows of C (1 <= m <= skinny_max_m) over columns [0, n), for row-major A and B read
// in place (a single-sample predict): A(i, p) = a[i*lda + p], B(p, j) = b[p*ldb + j],
// p < kc. `work` holds at least m * ceil(kc / 2) words (A's rows as pairs). Each element
// gets exactly ukernel's arithmetic on one k-block (pairs ascending from 0, then the same
// epilogue), so a row has the same bits here as through the tiled path.
using Bf16SkinnyFn = void (*)(std::int64_t kc, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                              float* c, std::int64_t ldc, int m, std::int64_t n, float alpha, float beta,
                              const float* bias, int act, std::uint32_t* work);

struct Bf16GemmKernels {
  const char* name = nullptr;  // nullptr: no native kernel (bgemm emulates)
  int mr = 0, nr = 0;          // register tile
  int kc = 0, mc = 0, nc = 0;  // cache blocking, in elements of k (kc even), rows, columns
  Bf16PackAFn pack_a = nullptr;
  Bf16PackBFn pack_b = nullptr;
  Bf16UkernelFn ukernel = nullptr;
  Bf16SkinnyFn skinny = nullptr;  // optional (nullptr: few rows go through ukernel)
  int skinny_max_m = 0;
};

}  // namespace ranvier
