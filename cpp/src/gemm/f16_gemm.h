// hgemm: the mixed_float16 GEMM. The same contract as sgemm (gemm.h), except that the
// matrix inputs are rounded to IEEE half precision before they are multiplied:
//
//   C = act(alpha * f16(op(A)) @ f16(op(B)) + beta * C + bias)
//
// f16(x) is IEEE's conversion to binary16 (kernels/f16-round/f16-round.h: round to
// nearest even, 65520 and up to infinity, half subnormals kept, NaN kept). Products of
// two half values are exact in float32 (11 + 11 significant bits); the sums are float32,
// as on GPUs' tensor cores. CPUs have no float16 arithmetic ranvier uses, so this is an
// emulation: the rounded inputs (thread-local grow-only copies) go through sgemm. It
// gives Keras's mixed_float16 numerics (the range and the underflow that loss scaling
// exists for), not speed: it costs sgemm plus the rounding passes. Bitwise identical for
// every thread count (sgemm is).
#pragma once

#include <cstdint>

#include "gemm/gemm.h"

namespace ranvier {

void hgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
           std::int64_t ldc, const GemmEpilogue& epilogue = GemmEpilogue{}, int nthreads = 0);

// The rounding hgemm applies, one value, with the active tier's kernel.
float round_to_f16(float x);

// x[i] = f16(x[i]) for i < n, in place (a mixed_float16 layer's output), with the active
// tier's kernel.
void round_f16_inplace(float* x, std::int64_t n);

}  // namespace ranvier
