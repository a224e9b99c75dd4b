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

// ColsumFn: up to V = 4 vectors of 8 columns per pass over the rows, each as two vectors of
// 4 double sums (8 independent add chains). Each column's sum still runs over the rows in
// order: the same bits.
template <int V>
void colsum_block(float* dz, const float* relu_y, i64 rows, i64 lda, i64 j, int ncols, double* sums, float* out) {
  __m256i m[V];
  __m256d lo[V], hi[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    m[v] = simd::tail_mask(ncols - 8 * v >= 8 ? 8 : ncols - 8 * v);
    lo[v] = _mm256_setzero_pd();
    hi[v] = _mm256_setzero_pd();
  }
  for (i64 r = 0; r < rows; ++r) {
    float* d = dz + r * lda + j;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      __m256 x = _mm256_maskload_ps(d + 8 * v, m[v]);
      if (relu_y) {
        const __m256 pos =
            _mm256_cmp_ps(_mm256_maskload_ps(relu_y + r * lda + j + 8 * v, m[v]), _mm256_setzero_ps(), _CMP_GT_OQ);
        x = _mm256_and_ps(x, pos);
        _mm256_maskstore_ps(d + 8 * v, m[v], x);
      }
      lo[v] = _mm256_add_pd(lo[v], _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
      hi[v] = _mm256_add_pd(hi[v], _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    alignas(32) double s[8];
    _mm256_store_pd(s, lo[v]);
    _mm256_store_pd(s + 4, hi[v]);
    const int nv = ncols - 8 * v >= 8 ? 8 : ncols - 8 * v;
    for (int t = 0; t < nv; ++t) {
      sums[j + 8 * v + t] = s[t];
      out[j + 8 * v + t] = static_cast<float>(s[t]);
    }
  }
}

void colsum(float* dz, const float* relu_y, i64 rows, i64 lda, i64 c0, i64 c1, double* sums, float* out) {
  for (i64 j = c0; j < c1; j += 32) {
    const int ncols = c1 - j < 32 ? static_cast<int>(c1 - j) : 32;
    switch ((ncols + 7) / 8) {
      case 1: colsum_block<1>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
      case 2: colsum_block<2>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
      case 3: colsum_block<3>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
      default: colsum_block<4>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
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
