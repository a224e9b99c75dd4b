// f32-gemv-avx512: the one-row GEMV (contract in gemv.h, body in gemv.inl) on avx512 vectors.
// Register use: 32 zmm registers: 16 accumulators (256 columns: a 784-256 layer in one stream), the broadcast and room for the compiler.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>
#include <utility>

#include <immintrin.h>

#include "kernels/f32-gemv/gemv.h"
#include "simd/avx512.h"

namespace ranvier {
namespace gemv_avx512 {
namespace {
namespace simd = ranvier::simd_avx512;
constexpr int kBlockVecs = 16;
using i64 = std::int64_t;
#include "kernels/f32-gemv/gemv.inl"

// ColsumFn: 16 columns per step as two vectors of 8 double sums.
void colsum(float* dz, const float* relu_y, i64 rows, i64 lda, i64 c0, i64 c1, double* sums, float* out) {
  for (i64 j = c0; j < c1; j += 16) {
    const int nv = c1 - j < 16 ? static_cast<int>(c1 - j) : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << nv) - 1u);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (i64 r = 0; r < rows; ++r) {
      float* d = dz + r * lda + j;
      __m512 v = _mm512_maskz_loadu_ps(m, d);
      if (relu_y) {
        const __mmask16 pos = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, relu_y + r * lda + j),
                                                     _mm512_setzero_ps(), _CMP_GT_OQ);
        v = _mm512_maskz_mov_ps(pos, v);
        _mm512_mask_storeu_ps(d, m, v);
      }
      lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
      hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
    }
    alignas(64) double s[16];
    _mm512_store_pd(s, lo);
    _mm512_store_pd(s + 8, hi);
    for (int t = 0; t < nv; ++t) {
      sums[j + t] = s[t];
      out[j + t] = static_cast<float>(s[t]);
    }
  }
}
}  // namespace
}  // namespace gemv_avx512

void fill_gemv_avx512(GemvKernels& k) {
  k.name = "f32-gemv-avx512";
  k.gemv = gemv_avx512::gemv;
  k.max_cols = gemv_avx512::kBlockVecs * simd_avx512::kW;
  k.colsum = gemv_avx512::colsum;
}

}  // namespace ranvier
