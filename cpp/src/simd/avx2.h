// SIMD vocabulary, AVX2 + FMA: 8 floats per register.
#pragma once

#include <immintrin.h>

namespace ranvier {
namespace simd_avx2 {

using vf = __m256;
using mask = __m256;
constexpr int kW = 8;
constexpr const char* kIsaName = "avx2";

inline __m256i tail_mask(int n) {
  // lanes [0, n) all-ones
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

inline vf zero() { return _mm256_setzero_ps(); }
inline vf set1(float x) { return _mm256_set1_ps(x); }
inline vf load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline vf load_tail(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
inline void store_tail(float* p, vf v, int n) { _mm256_maskstore_ps(p, tail_mask(n), v); }

inline vf add(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf div(vf a, vf b) { return _mm256_div_ps(a, b); }
inline vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf fnmadd(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
inline vf min(vf a, vf b) { return _mm256_min_ps(a, b); }
inline vf max(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline vf neg(vf a) { return _mm256_xor_ps(_mm256_set1_ps(-0.0f), a); }
inline vf sqrt(vf a) { return _mm256_sqrt_ps(a); }
inline vf floor(vf a) { return _mm256_floor_ps(a); }

inline mask lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline mask le(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline mask gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline mask ge(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline mask eq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline mask isnan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline mask mask_and(mask a, mask b) { return _mm256_and_ps(a, b); }
inline mask mask_or(mask a, mask b) { return _mm256_or_ps(a, b); }
inline vf select(mask m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
// Added for the vunary/vmath kernels: lanes [0, n) true; logical not of a mask.
inline mask mask_first(int n) { return _mm256_castsi256_ps(tail_mask(n)); }
inline mask mask_not(mask a) { return _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); }
// Added for vmath: a*b + c with ONE rounding on every ISA (fmadd may round twice on scalar).
inline vf fmadd_exact(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }

inline float reduce_add(vf a) {
  __m128 lo = _mm256_castps256_ps128(a), hi = _mm256_extractf128_ps(a, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}
inline float reduce_max(vf a) {
  __m128 lo = _mm256_castps256_ps128(a), hi = _mm256_extractf128_ps(a, 1);
  lo = _mm_max_ps(lo, hi);
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline vf pow2n(vf n) {
  __m256i i = _mm256_cvtps_epi32(n);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(i, _mm256_set1_epi32(127)), 23));
}
inline vf exponent(vf x) {
  __m256i b = _mm256_srli_epi32(_mm256_castps_si256(x), 23);
  b = _mm256_sub_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0xff)), _mm256_set1_epi32(127));
  return _mm256_cvtepi32_ps(b);
}
inline vf mantissa(vf x) {
  __m256i b = _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x007fffff));
  return _mm256_castsi256_ps(_mm256_or_si256(b, _mm256_set1_epi32(0x3f800000)));
}

// The 8x8 block at src (rows ld floats apart) transposed: col[j] = column j of the block.
inline void transpose_square(const float* src, long ld, vf col[8]) {
  vf r[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
  vf t[8], s[8];
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 8; h += 4) {  // rows h..h+3: s[h + c] = columns c and c+4 of those rows
    s[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    col[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
    col[4 + c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
  }
}

}  // namespace simd_avx2
}  // namespace ranvier
