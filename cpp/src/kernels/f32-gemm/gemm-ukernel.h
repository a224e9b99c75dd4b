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
//                     never read (the kernel clamps them to row m-1).
// B: element (p, j) at b[p * b_stride + j], all NR columns readable (b_stride == NR
//    when packed; columns >= n are ignored padding).
// The driver passes beta = 1 and bias = nullptr, act = none on every k-block but the
// first (beta) and the last (bias, act), so the epilogue runs once on the final sum.
using GemmUkernelFn = void (*)(std::int64_t kc, const float* a, std::int64_t a_stride,
                               const float* b, std::int64_t b_stride, float* c, std::int64_t ldc,
                               int m, int n, float beta, const float* bias, int act);

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
};

}  // namespace ranvier
