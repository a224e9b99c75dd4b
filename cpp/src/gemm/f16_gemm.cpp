// The mixed_float16 GEMM (contract in f16_gemm.h): round op(A) and op(B) to half, in
// their stored layouts and packed tight, then sgemm.
#include "gemm/f16_gemm.h"

#include "dispatch/dispatch.h"

namespace ranvier {

float round_to_f16(float x) {
  float y;
  kernels().f16round.round(&x, 1, 1, 1, &y);
  return y;
}

void round_f16_inplace(float* x, std::int64_t n) {
  if (n > 0) kernels().f16round.round(x, n, 1, n, x);
}

void hgemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
           std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
           const GemmEpilogue& ep, int nthreads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {  // nothing to round: sgemm writes the epilogue alone
    sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, nthreads);
    return;
  }
  sgemm_rounded(kernels().f16round.round, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, nthreads);
}

}  // namespace ranvier
