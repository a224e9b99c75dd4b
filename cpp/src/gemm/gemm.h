// gemm: one BLIS-style driver over the micro-kernels in the kernel table.
#pragma once

#include <cstdint>

#include "kernels/f32-gemm/gemm-ukernel.h"

namespace ranvier {

struct GemmEpilogue {
  const float* bias = nullptr;  // length n, added to every row of C (after alpha/beta)
  GemmAct act = GemmAct::none;  // applied last
};

// Row-major float32:  C = act(alpha * op(A) @ op(B) + beta * C + bias)
//   op(A) is m x k: A is m x k (lda >= k), or with trans_a stored k x m (lda >= m).
//   op(B) is k x n: B is k x n (ldb >= n), or with trans_b stored n x k (ldb >= k).
//   C is m x n (ldc >= n). beta == 0 never reads C (NaN in C is not propagated).
// nthreads <= 0 uses the runtime's thread count (get_num_threads()); problems under a
// measured size threshold stay on one thread, and so does a call made from inside an
// OpenMP parallel region. Results are bitwise identical for every thread count.
// After the first call of a given size, calls of that size or smaller allocate nothing
// (packing buffers are per thread and grow only). Safe to call from several threads at
// once. Sets flush-to-zero/denormals-are-zero for its duration (see FtzScope).
void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
           std::int64_t ldc, const GemmEpilogue& epilogue = GemmEpilogue{}, int nthreads = 0);

// The emulated reduced-precision GEMM (hgemm always, bgemm without AVX512_BF16): op(A)
// and op(B) rounded by `round` (round(src, ld, rows, cols, dst): a rows x cols block, dst
// packed tight) into this thread's grow-only scratch, in their stored layouts, then sgemm
// on the copies. Callers handle k <= 0 and alpha == 0 (nothing to round) themselves.
using RoundBlockFn = void (*)(const float* src, std::int64_t ld, std::int64_t rows, std::int64_t cols, float* dst);
void sgemm_rounded(RoundBlockFn round, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                   float* c, std::int64_t ldc, const GemmEpilogue& epilogue, int nthreads);

}  // namespace ranvier
