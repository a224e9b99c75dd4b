// f32 GEMV family (one row times a matrix): the entry in the kernel table.
//
// A single-sample forward of a Dense layer is y = act(x @ W + bias) with x one row. There
// every weight is used once, so the time is the time to stream W (a batch-1 predict of a
// 784-256-128-10 MLP reads 940 KB of weights: from L2, on a CPU whose L2 holds them).
// The kernel keeps a block of up to `max_cols` output columns in registers and walks W
// down its rows: for a layer of up to max_cols units that is one sequential stream over
// W, row-major as the network stores it (no packed copy to keep in step with the
// weights), with no sums to reload or store per row.
#pragma once

#include <cstdint>

namespace ranvier {

// y[j] = act(s_j + bias[j]) for j < n, with, for the k-blocks [p0, p0 + kstep) of [0, k),
//   s_j = b_0 + b_1 + ... (added left to right, the first block is its own sum),
//   b_i = fma chain from 0.0f over p ascending in block i of x[p] * W(p, j),
// W(p, j) = w[p * ldw + j]; bias may be nullptr; act is a GemmAct (0 none, 1 relu as
// max(0, x)). This is, element for element, the arithmetic of the f32 GEMM micro-kernels
// with the GEMM driver's k-blocking kstep (so the same bits as a GEMM of one row, and as
// that row inside a larger batch). Only x[0, k), W's first n columns, bias[0, n) and
// y[0, n) are touched. kstep > 0.
using GemvFn = void (*)(std::int64_t k, std::int64_t kstep, const float* x, const float* w, std::int64_t ldw,
                        std::int64_t n, const float* bias, int act, float* y);

// The other one-vector product of a Dense layer, the bias gradient db = 1^T dZ, for the
// columns [c0, c1) of a (rows x lda) row-major matrix dz:
//   when relu_y: dz[r][j] = relu_y[r][j] > 0 ? dz[r][j] : 0 first, written back (the
//                derivative of a fused relu, NaN in y giving 0), then
//   sums[j] = double sum of dz[r][j] over r = 0, 1, ..., rows-1 in that order, from 0.0;
//   out[j] = (float)sums[j].
// Exactly the arithmetic of the portable loops in layers/dense.cpp (so the same bits):
// the vectors only run over columns.
using ColsumFn = void (*)(float* dz, const float* relu_y, std::int64_t rows, std::int64_t lda, std::int64_t c0,
                          std::int64_t c1, double* sums, float* out);

struct GemvKernels {
  const char* name = nullptr;
  GemvFn gemv = nullptr;  // nullptr: the tier has none (a 1-row GEMM goes through sgemm)
  int max_cols = 0;       // columns per register block
  ColsumFn colsum = nullptr;  // nullptr: the portable loops
};

}  // namespace ranvier
