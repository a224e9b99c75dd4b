// f32-gemv-avx2: the one-row GEMV (contract in gemv.h, body in gemv.inl) on avx2 vectors.
// Register use: 16 ymm registers: 12 accumulators (96 columns), the broadcast of x[p], a spare.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>
#include <utility>

#include <immintrin.h>

#include "kernels/f32-gemv/gemv.h"
#include "simd/avx2.h"

namespace ranvier {
namespace gemv_avx2 {
namespace {
namespace simd = ranvier::simd_avx2;
constexpr int kBlockVecs = 12;
using i64 = std::int64_t;
#include "kernels/f32-gemv/gemv.inl"

// ColsumFn: 8 columns per step as two vectors of 4 double sums.
void colsum(float* dz, const float* relu_y, i64 rows, i64 lda, i64 c0, i64 c1, double* sums, float* out) {
  for (i64 j = c0; j < c1; j += 8) {
    const int nv = c1 - j < 8 ? static_cast<int>(c1 - j) : 8;
    const __m256i m = simd::tail_mask(nv);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (i64 r = 0; r < rows; ++r) {
      float* d = dz + r * lda + j;
      __m256 v = _mm256_maskload_ps(d, m);
      if (relu_y) {
        const __m256 pos = _mm256_cmp_ps(_mm256_maskload_ps(relu_y + r * lda + j, m), _mm256_setzero_ps(), _CMP_GT_OQ);
        v = _mm256_and_ps(v, pos);
        _mm256_maskstore_ps(d, m, v);
      }
      lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    alignas(32) double s[8];
    _mm256_store_pd(s, lo);
    _mm256_store_pd(s + 4, hi);
    for (int t = 0; t < nv; ++t) {
      sums[j + t] = s[t];
      out[j + t] = static_cast<float>(s[t]);
    }
  }
}
}  // namespace
}  // namespace gemv_avx2

void fill_gemv_avx2(GemvKernels& k) {
  k.name = "f32-gemv-avx2";
  k.gemv = gemv_avx2::gemv;
  k.max_cols = gemv_avx2::kBlockVecs * simd_avx2::kW;
  k.colsum = gemv_avx2::colsum;
}

}  // namespace ranvier
