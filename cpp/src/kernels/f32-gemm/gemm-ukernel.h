// f32 GEMM micro-kernel family: the entry in the kernel table.
// (The full contract of each micro-kernel is written at the top of its file;
// the short version is here, next to the function type.)
#pragma once

#include <cstdint>

namespace ranvier {

// Activation fused into the GEMM store (the epilogue).
enum class GemmAct : int { none = 0, relu = 1 };

// One register tile of C (m <= MR rows, n <= NR columns, row stride ldc):
//
//   acc = A_tile(m x kc) @ B_panel(kc x NR)        (fixed order: p = 0, 1, ..., kc-1, FMA)
//   C   = acc + beta * C                            (beta == 0: C is never read)
//   C   = act(C + bias)                             (bias may be nullptr; act is a GemmAct)
//
// A: a_stride == 0 -> packed micro-panel, element (i, p) at a[p * MR + i], all MR rows
//                     readable (rows >= m are ignored padding);
//    a_stride  > 0 -> row-major, element (i, p) at a[i * a_stride + p]; rows >= m are
//                     never read (the kernel clamps them to row m-1);
//    a_stride  < 0 -> column-major (a transposed A in place), element (i, p) at
//                     a[p * (-a_stride) + i], all MR rows readable, as when packed.
// B: element (p, j) at b[p * b_stride + j], all NR columns readable (b_stride == NR
//    when packed; columns >= n are ignored padding).
// The driver passes beta = 1 and bias = nullptr, act = none on every k-block but the
// first (beta) and the last (bias, act), so the epilogue runs once on the final sum.
using GemmUkernelFn = void (*)(std::int64_t kc, const float* a, std::int64_t a_stride,
                               const float* b, std::int64_t b_stride, float* c, std::int64_t ldc,
                               int m, int n, float beta, const float* bias, int act);

// Few rows of C (1 <= m <= skinny_max_m) over all n columns, for row-major A and B read
// in place (no packing: a single-sample predict is one such call per layer):
//
//   C[i][j] = act(acc[i][j] + beta * C[i][j] + bias[j])   i < m, j < n
//
// with A(i,p) = a[i*lda + p], B(p,j) = b[p*ldb + j], and `work` a scratch of m*n floats
// (the sums). Each element is computed with exactly the micro-kernel's arithmetic (FMAs
// from 0.0f, p ascending; fmadd(beta, C, acc); bias add; relu), so a row gets the same
// bits here as through ukernel. Only rows < m and columns < n of A, B, C, bias are touched.
using GemmSkinnyFn = void (*)(std::int64_t kc, const float* a, std::int64_t lda, const float* b,
                              std::int64_t ldb, float* c, std::int64_t ldc, int m, std::int64_t n,
                              float beta, const float* bias, int act, float* work);

// One column of C (n == 1), rows i < m:  C(i,0) = act(acc_i + beta * C(i,0) + bias[0]),
// acc_i = sum_{p<kc} A(i,p) * b[p] with A(i,p) = a[i*lda + p], or a[p*lda + i] when ta,
// and b the column of op(B) already scaled by alpha (kc contiguous floats). Same per-element
// arithmetic as ukernel (so the same bits as a packed B panel holding alpha * B).
using GemmColumnFn = void (*)(std::int64_t kc, const float* a, std::int64_t lda, bool ta, const float* b,
                              float* c, std::int64_t ldc, std::int64_t m, float beta, const float* bias,
                              int act);

// Transposing copy of whole blocks: dst[p*dst_stride + r] = scale * src[r*ld + p] for
// r < rows, p < len, both multiples of GemmKernels::transpose_block (the driver copies the
// edges itself). A copy and one multiply per element: the same bits as any other copy.
using GemmTransposeFn = void (*)(const float* src, std::int64_t ld, int rows, std::int64_t len, float scale,
                                 float* dst, int dst_stride);

// The rank-1 product of a k == 1 GEMM: for i < m, j < n,
//   c[i*ldc + j] = act(fma(beta, c, a[i*a_step] * b[j] + 0.0f) + bias[j])
// (beta == 0: C is not read; bias may be null; act 0 none, 1 relu): the FMA kernels'
// arithmetic for one p (the same bits as the tiles).
using GemmOuterFn = void (*)(std::int64_t m, std::int64_t n, const float* a, std::int64_t a_step, const float* b,
                             float* c, std::int64_t ldc, float beta, const float* bias, int act);

struct GemmKernels {
  const char* name = nullptr;
  int mr = 0, nr = 0;          // register tile
  int kc = 0, mc = 0, nc = 0;  // cache blocking: kc x nr B micro-panel (L1), mc x kc A block (L2),
                               // kc x nc B block (L3)
  GemmUkernelFn ukernel = nullptr;
  // Whether the kernel reads a row-major A (a_stride > 0) about as fast as a packed one,
  // so the driver may skip packing A for small problems. Every kernel must still accept
  // a_stride > 0 correctly.
  bool fast_unpacked_a = false;
  // A part of a threaded split (or the whole problem) with at most this many columns reads
  // A in place (row-major when fast_unpacked_a, else transposed A as column-major panels)
  // where the driver's whole-problem rule would pack it; 0: never. Set per CPU by
  // gemm/gemm_config.cpp (its measurements), not by the kernel files.
  int a_in_place_max_cols = 0;
  // Optional: the few-rows kernel (nullptr: the driver uses ukernel for every shape).
  GemmSkinnyFn skinny = nullptr;
  int skinny_max_m = 0;
  // Optional: the one-column kernel (nullptr: n == 1 goes through ukernel).
  GemmColumnFn column = nullptr;
  // Optional: the packers' transposing copy in square blocks of transpose_block (nullptr:
  // the driver's 4x4 SSE blocks). B^T in dX = dZ @ W^T is packed this way every step.
  GemmTransposeFn transpose = nullptr;
  int transpose_block = 0;
  // Optional: the rank-1 kernel (nullptr: the driver's portable loop).
  GemmOuterFn outer = nullptr;
  // Bit h set: a tile of exactly h < mr rows of a column-major A (a_stride < 0) reads no
  // row past h (a shorter tile of that height exists), so the driver reads such a last
  // panel in place instead of packing it.
  unsigned a_col_exact_tails = 0;
};

}  // namespace ranvier
