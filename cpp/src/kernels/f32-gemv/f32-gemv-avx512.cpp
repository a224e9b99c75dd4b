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

// ColsumFn: up to V = 4 vectors of 16 columns per pass over the rows, each as two vectors of
// 8 double sums (8 independent add chains: one vector's chain alone waited on the add
// latency every row). Each column's sum still runs over the rows in order: the same bits.
template <int V, bool kRelu, bool kFull>
void colsum_block(float* dz, const float* relu_y, i64 rows, i64 lda, i64 j, int ncols, double* sums, float* out) {
  __mmask16 m[V];
  __m512d lo[V], hi[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    const int nv = ncols - 16 * v >= 16 ? 16 : ncols - 16 * v;
    m[v] = static_cast<__mmask16>((1u << nv) - 1u);
    lo[v] = _mm512_setzero_pd();
    hi[v] = _mm512_setzero_pd();
  }
  for (i64 r = 0; r < rows; ++r) {
    float* d = dz + r * lda + j;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {  // full vectors unmasked (Zen 4's masked stores are slow)
      __m512 x = kFull ? _mm512_loadu_ps(d + 16 * v) : _mm512_maskz_loadu_ps(m[v], d + 16 * v);
      if (kRelu) {
        const float* yr = relu_y + r * lda + j + 16 * v;
        const __m512 yv = kFull ? _mm512_loadu_ps(yr) : _mm512_maskz_loadu_ps(m[v], yr);
        x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(yv, _mm512_setzero_ps(), _CMP_GT_OQ), x);
        if (kFull)
          _mm512_storeu_ps(d + 16 * v, x);
        else
          _mm512_mask_storeu_ps(d + 16 * v, m[v], x);
      }
      lo[v] = _mm512_add_pd(lo[v], _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
      hi[v] = _mm512_add_pd(hi[v], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) {
    alignas(64) double s[16];
    _mm512_store_pd(s, lo[v]);
    _mm512_store_pd(s + 8, hi[v]);
    const int nv = ncols - 16 * v >= 16 ? 16 : ncols - 16 * v;
    for (int t = 0; t < nv; ++t) {
      sums[j + 16 * v + t] = s[t];
      out[j + 16 * v + t] = static_cast<float>(s[t]);
    }
  }
}

template <int V>
void colsum_v(float* dz, const float* relu_y, i64 rows, i64 lda, i64 j, int ncols, double* sums, float* out) {
  const bool full = ncols == 16 * V;
  if (relu_y) {
    if (full)
      colsum_block<V, true, true>(dz, relu_y, rows, lda, j, ncols, sums, out);
    else
      colsum_block<V, true, false>(dz, relu_y, rows, lda, j, ncols, sums, out);
  } else {
    if (full)
      colsum_block<V, false, true>(dz, relu_y, rows, lda, j, ncols, sums, out);
    else
      colsum_block<V, false, false>(dz, relu_y, rows, lda, j, ncols, sums, out);
  }
}

void colsum(float* dz, const float* relu_y, i64 rows, i64 lda, i64 c0, i64 c1, double* sums, float* out) {
  for (i64 j = c0; j < c1; j += 64) {
    const int ncols = c1 - j < 64 ? static_cast<int>(c1 - j) : 64;
    switch ((ncols + 15) / 16) {
      case 1: colsum_v<1>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
      case 2: colsum_v<2>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
      case 3: colsum_v<3>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
      default: colsum_v<4>(dz, relu_y, rows, lda, j, ncols, sums, out); break;
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
