// SIMD vocabulary, AVX-512F: 16 floats per register.
#pragma once

#include <immintrin.h>

namespace ranvier {
namespace simd_avx512 {

using vf = __m512;
using mask = __mmask16;
constexpr int kW = 16;
constexpr const char* kIsaName = "avx512";

inline __mmask16 tail_mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }

inline vf zero() { return _mm512_setzero_ps(); }
inline vf set1(float x) { return _mm512_set1_ps(x); }
inline vf load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline vf load_tail(const float* p, int n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
inline void store_tail(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }

inline vf add(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
inline vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
inline vf fnmadd(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
inline vf min(vf a, vf b) { return _mm512_min_ps(a, b); }
inline vf max(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf abs(vf a) {
  return _mm512_castsi512_ps(_mm512_and_epi32(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
inline vf neg(vf a) {
  return _mm512_castsi512_ps(_mm512_xor_epi32(_mm512_castps_si512(a), _mm512_set1_epi32(0x80000000)));
}
inline vf sqrt(vf a) { return _mm512_sqrt_ps(a); }
inline vf floor(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }

inline mask lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline mask le(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline mask gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline mask ge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
inline mask eq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline mask isnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
inline mask mask_and(mask a, mask b) { return static_cast<mask>(a & b); }
inline mask mask_or(mask a, mask b) { return static_cast<mask>(a | b); }
inline vf select(mask m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
// Added for the vunary/vmath kernels: lanes [0, n) true; logical not of a mask.
inline mask mask_first(int n) { return tail_mask(n); }
inline mask mask_not(mask a) { return static_cast<mask>(~a); }
// Added for vmath: a*b + c with ONE rounding on every ISA (fmadd may round twice on scalar).
inline vf fmadd_exact(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }

inline float reduce_add(vf a) {
  // fixed pairwise order
  __m256 lo = _mm512_castps512_ps256(a);
  __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
  __m256 s = _mm256_add_ps(lo, hi);
  __m128 l = _mm256_castps256_ps128(s), h = _mm256_extractf128_ps(s, 1);
  l = _mm_add_ps(l, h);
  l = _mm_add_ps(l, _mm_movehl_ps(l, l));
  l = _mm_add_ss(l, _mm_movehdup_ps(l));
  return _mm_cvtss_f32(l);
}
inline float reduce_max(vf a) {
  __m256 lo = _mm512_castps512_ps256(a);
  __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
  __m256 s = _mm256_max_ps(lo, hi);
  __m128 l = _mm256_castps256_ps128(s), h = _mm256_extractf128_ps(s, 1);
  l = _mm_max_ps(l, h);
  l = _mm_max_ps(l, _mm_movehl_ps(l, l));
  l = _mm_max_ss(l, _mm_movehdup_ps(l));
  return _mm_cvtss_f32(l);
}

inline vf pow2n(vf n) {
  __m512i i = _mm512_cvtps_epi32(n);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
}
inline vf exponent(vf x) {
  __m512i b = _mm512_srli_epi32(_mm512_castps_si512(x), 23);
  b = _mm512_sub_epi32(_mm512_and_epi32(b, _mm512_set1_epi32(0xff)), _mm512_set1_epi32(127));
  return _mm512_cvtepi32_ps(b);
}
inline vf mantissa(vf x) {
  __m512i b = _mm512_and_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(0x007fffff));
  return _mm512_castsi512_ps(_mm512_or_epi32(b, _mm512_set1_epi32(0x3f800000)));
}

// The 16x16 block at src (rows ld floats apart) transposed: col[j] = column j of the block.
// 16 loads and four rounds of 16 in-register shuffles.
inline void transpose_square(const float* src, long ld, vf col[16]) {
  vf x[16], t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) x[i] = _mm512_loadu_ps(src + i * ld);
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {  // pairs of rows, 32-bit interleave
    t[i] = _mm512_unpacklo_ps(x[i], x[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(x[i], x[i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {  // quads of rows, 64-bit interleave
    x[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    x[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    x[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    x[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  // x[4a + b], 128-bit lane L: column 4L + b of rows 4a..4a+3.
#pragma GCC unroll 4
  for (int b = 0; b < 4; ++b) {
    t[b] = _mm512_shuffle_f32x4(x[b], x[4 + b], 0x88);           // cols b, 8+b: rows 0-3, 0-3, 4-7, 4-7
    t[4 + b] = _mm512_shuffle_f32x4(x[b], x[4 + b], 0xDD);       // cols 4+b, 12+b
    t[8 + b] = _mm512_shuffle_f32x4(x[8 + b], x[12 + b], 0x88);  // the same, rows 8-15
    t[12 + b] = _mm512_shuffle_f32x4(x[8 + b], x[12 + b], 0xDD);
  }
#pragma GCC unroll 4
  for (int b = 0; b < 4; ++b) {
    col[b] = _mm512_shuffle_f32x4(t[b], t[8 + b], 0x88);
    col[8 + b] = _mm512_shuffle_f32x4(t[b], t[8 + b], 0xDD);
    col[4 + b] = _mm512_shuffle_f32x4(t[4 + b], t[12 + b], 0x88);
    col[12 + b] = _mm512_shuffle_f32x4(t[4 + b], t[12 + b], 0xDD);
  }
}

}  // namespace simd_avx512
}  // namespace ranvier
