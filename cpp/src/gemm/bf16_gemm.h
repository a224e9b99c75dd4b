// bgemm: the mixed_bfloat16 GEMM. The same contract as sgemm (gemm.h), except that the
// matrix inputs are rounded to bfloat16 before they are multiplied:
//
//   C = act(alpha * bf16(op(A)) @ bf16(op(B)) + beta * C + bias)
//
// bf16(x) rounds a float32 to the nearest bfloat16, ties to even (as vcvtne2ps2bf16: NaN
// stays NaN, float32 denormals become signed zero). Products of two bfloat16 values are
// exact in float32; the sums are float32. C, alpha, beta, bias and the activation stay
// float32. On the avx512bf16 tier the products run on vdpbf16ps; on every other tier the
// rounded inputs go through the float32 kernels (same products, sums in a different
// order: both stay within the float32 summation bound of the exact product of the
// rounded inputs). Either way the result is bitwise identical for every thread count.
#pragma once

#include <cstdint>

#include "gemm/gemm.h"

namespace ranvier {

void bgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
           std::int64_t ldc, const GemmEpilogue& epilogue = GemmEpilogue{}, int nthreads = 0);

// The rounding bgemm applies, one value (round to nearest even; NaN kept as a quiet NaN;
// denormals to signed zero; values past the largest bfloat16 round to infinity).
float round_to_bf16(float x);

// Whether bgemm runs native bfloat16 kernels (the avx512bf16 tier) rather than emulating.
bool bgemm_native();

}  // namespace ranvier
