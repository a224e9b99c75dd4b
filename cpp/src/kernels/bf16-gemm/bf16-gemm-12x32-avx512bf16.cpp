// bf16-gemm-12x32-avx512bf16: AVX512_BF16 micro-kernel, 12 rows x 32 columns, and the
// packers that round float32 to bfloat16 pairs (contract in bf16-gemm-ukernel.h).
//
// Per pair of k steps: 2 loads of B (32 columns x 2 bf16), 12 broadcasts of an A pair,
// 24 vdpbf16ps (each 16 lanes x 2 products). Register use: 24 accumulators + 2 B + 1
// broadcast = 27 of the 32 zmm. A last tile of at most 4 rows runs a 4-row variant.
// Rounding is vcvtne2ps2bf16's: round to nearest even, NaN kept (quiet), denormal inputs
// to signed zero. vdpbf16ps adds the odd product, then the even one, to each lane (the
// products of two bfloat16 values are exact in float32), flushing denormal results.
#include <cstdint>
#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // see f32-gemm-12x32-avx512.cpp
#endif

#include <immintrin.h>

#include "kernels/bf16-gemm/bf16-gemm-ukernel.h"

namespace ranvier {
namespace bf16_avx512 {

constexpr int MR = 12;
constexpr int NR = 32;
using i64 = std::int64_t;

inline __mmask16 mask16(i64 n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

// Up to 32 floats (count n, 0 <= n <= 32, missing ones read as 0) -> 32 bf16 in order.
inline __m512i cvt32(const float* p, i64 n) {
  const __m512 lo = n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask16(n), p);
  const __m512 hi = n >= 32 ? _mm512_loadu_ps(p + 16) : n > 16 ? _mm512_maskz_loadu_ps(mask16(n - 16), p + 16)
                                                                : _mm512_setzero_ps();
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Two float rows x0, x1 (16 lanes each, masked to n) -> 16 pairs (x0[t] low, x1[t] high).
inline __m512i pairs16(const float* r0, const float* r1, i64 n) {
  const __mmask16 mk = mask16(n);
  const __m512 x0 = _mm512_maskz_loadu_ps(mk, r0);
  const __m512 x1 = r1 ? _mm512_maskz_loadu_ps(mk, r1) : _mm512_setzero_ps();
  const __m512i v = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(x1, x0));  // [bf(x0) | bf(x1)]
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                        6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, v);
}

// In-place transpose of a 16 x 16 block of 32-bit elements (r[i] is row i).
inline void transpose16(__m512i r[16]) {
  __m512i a[16], b[16];
  for (int k = 0; k < 8; ++k) {
    a[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; ++k) {  // b[4k + c], lane L: column 4L + c of rows 4k..4k+3
    b[4 * k] = _mm512_unpacklo_epi64(a[4 * k], a[4 * k + 2]);
    b[4 * k + 1] = _mm512_unpackhi_epi64(a[4 * k], a[4 * k + 2]);
    b[4 * k + 2] = _mm512_unpacklo_epi64(a[4 * k + 1], a[4 * k + 3]);
    b[4 * k + 3] = _mm512_unpackhi_epi64(a[4 * k + 1], a[4 * k + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // row 4L + c of the result: lanes k = b[4k + c].lane L
    const __m512i s0 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x44);
    const __m512i s1 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xEE);
    const __m512i s2 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x44);
    const __m512i s3 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xEE);
    r[c] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
    r[8 + c] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
  }
}

// Row-major source rows (element (r, p) at src[r*ld + p], p < kc) -> 16 rows' pairs
// transposed: pair (r, pp) stored at dst[pp*dst_ld + r] for r < rows (<= 16), other lanes 0.
void rows_to_colpairs(const float* src, i64 ld, int rows, i64 kc, std::uint32_t* dst, i64 dst_ld) {
  const i64 kp = (kc + 1) / 2;
  for (i64 p = 0; p < kc; p += 32) {
    __m512i r[16];
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? cvt32(src + i * ld + p, kc - p) : _mm512_setzero_si512();
    transpose16(r);
    const i64 pp0 = p / 2, npp = kp - pp0 < 16 ? kp - pp0 : 16;
    const __mmask16 mk = mask16(rows);
    for (i64 t = 0; t < npp; ++t) _mm512_mask_storeu_epi32(dst + (pp0 + t) * dst_ld, mk, r[t]);
  }
}

void pack_a(bool ta, const float* a, i64 lda, i64 rows, i64 kc, i64 rows_padded, std::uint32_t* dst) {
  const i64 kp = (kc + 1) / 2;
  if (!ta) {  // row-major pairs: a row's k values are already adjacent
    for (i64 i = 0; i < rows; ++i) {
      const float* src = a + i * lda;
      std::uint32_t* out = dst + i * kp;
      for (i64 p = 0; p < kc; p += 32) {
        const __m512i v = cvt32(src + p, kc - p);
        const i64 left = kp - p / 2;
        _mm512_mask_storeu_epi32(out + p / 2, mask16(left), v);
      }
    }
    return;
  }
  // column-major pairs: rows 2pp and 2pp+1 of the stored A (contiguous over i) interleaved
  for (i64 pp = 0; pp < kp; ++pp) {
    const float* r0 = a + 2 * pp * lda;
    const float* r1 = 2 * pp + 1 < kc ? r0 + lda : nullptr;
    std::uint32_t* out = dst + pp * rows_padded;
    i64 i = 0;
    for (; i < rows; i += 16) _mm512_mask_storeu_epi32(out + i, mask16(rows - i), pairs16(r0 + i, r1 ? r1 + i : nullptr, rows - i));
    for (i64 r = rows; r < rows_padded; ++r) out[r] = 0;
  }
}

void pack_b(bool tb, const float* b, i64 ldb, i64 kc, i64 ncols, std::uint32_t* dst) {
  const i64 kp = (kc + 1) / 2;
  const i64 npan = (ncols + NR - 1) / NR;
  if (!tb) {
    for (i64 pp = 0; pp < kp; ++pp) {
      const float* r0 = b + 2 * pp * ldb;
      const float* r1 = 2 * pp + 1 < kc ? r0 + ldb : nullptr;
      for (i64 q = 0; q < npan; ++q) {
        std::uint32_t* out = dst + q * kp * NR + pp * NR;
        for (int h = 0; h < NR; h += 16) {
          const i64 j = q * NR + h;
          const i64 cnt = ncols - j;
          if (cnt <= 0) {
            _mm512_storeu_si512(out + h, _mm512_setzero_si512());
          } else {
            _mm512_storeu_si512(out + h, pairs16(r0 + j, r1 ? r1 + j : nullptr, cnt));
          }
        }
      }
    }
    return;
  }
  // op(B)(p, j) = b[j*ldb + p]: each column's k values are adjacent; 16 columns at a time,
  // transposed to the panel's [pp][j] layout.
  for (i64 q = 0; q < npan; ++q) {
    std::uint32_t* panel = dst + q * kp * NR;
    for (int h = 0; h < NR; h += 16) {
      const i64 j = q * NR + h;
      const i64 cnt = ncols - j;
      const int rows = cnt <= 0 ? 0 : cnt >= 16 ? 16 : static_cast<int>(cnt);
      if (rows == 0) {
        for (i64 pp = 0; pp < kp; ++pp) _mm512_storeu_si512(panel + pp * NR + h, _mm512_setzero_si512());
        continue;
      }
      if (rows < 16)  // the masked stores leave the padding columns: zero them first
        for (i64 pp = 0; pp < kp; ++pp) _mm512_storeu_si512(panel + pp * NR + h, _mm512_setzero_si512());
      rows_to_colpairs(b + j * ldb, ldb, rows, kc, panel + h, NR);
    }
  }
}

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }

template <bool kRowMajor, int kRows>
inline void tile(i64 kp, const std::uint32_t* a, i64 a_stride, const std::uint32_t* b, float* c, i64 ldc, int m,
                 int n, float alpha, float beta, const float* bias, int act) {
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
    if (i >= m) break;
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
  }
  __m512 acc[kRows][2];
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  if (kRowMajor) {
    const std::uint32_t* ar[kRows];
#pragma GCC unroll 16
    for (int i = 0; i < kRows; ++i) ar[i] = a + (i < m ? i : m - 1) * a_stride;
#pragma GCC unroll 2
    for (i64 pp = 0; pp < kp; ++pp) {
      const __m512bh b0 = as_bh(_mm512_loadu_si512(b));
      const __m512bh b1 = as_bh(_mm512_loadu_si512(b + 16));
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i) {
        const __m512bh ai = as_bh(_mm512_set1_epi32(static_cast<int>(ar[i][pp])));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
      }
      b += NR;
    }
  } else {
    const i64 s = -a_stride;
#pragma GCC unroll 2
    for (i64 pp = 0; pp < kp; ++pp) {
      const __m512bh b0 = as_bh(_mm512_loadu_si512(b));
      const __m512bh b1 = as_bh(_mm512_loadu_si512(b + 16));
#pragma GCC unroll 16
      for (int i = 0; i < kRows; ++i) {
        const __m512bh ai = as_bh(_mm512_set1_epi32(static_cast<int>(a[i])));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
      }
      a += s;
      b += NR;
    }
  }
  const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
  const bool scale = alpha != 1.0f, read_c = beta != 0.0f, relu = act == 1;
#pragma GCC unroll 16
  for (int i = 0; i < kRows; ++i) {
    if (i >= m) break;
    float* cr = c + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < 2; ++v) {
      const int nv = n - v * 16;
      if (nv <= 0) break;
      const __mmask16 mk = mask16(nv);
      __m512 r = acc[i][v];
      if (scale) r = _mm512_mul_ps(valpha, r);
      if (read_c) r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mk, cr + v * 16), r);
      if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, bias + v * 16));
      if (relu) r = _mm512_max_ps(_mm512_setzero_ps(), r);
      _mm512_mask_storeu_ps(cr + v * 16, mk, r);
    }
  }
}

void ukernel(i64 kp, const std::uint32_t* a, i64 a_stride, const std::uint32_t* b, float* c, i64 ldc, int m, int n,
             float alpha, float beta, const float* bias, int act) {
  if (m > 8) {  // 12 rows; a last tile of 5-8 rows takes the 8-row tile (no padding rows)
    if (a_stride > 0)
      tile<true, MR>(kp, a, a_stride, b, c, ldc, m, n, alpha, beta, bias, act);
    else
      tile<false, MR>(kp, a, a_stride, b, c, ldc, m, n, alpha, beta, bias, act);
  } else if (m > 4) {
    if (a_stride > 0)
      tile<true, 8>(kp, a, a_stride, b, c, ldc, m, n, alpha, beta, bias, act);
    else
      tile<false, 8>(kp, a, a_stride, b, c, ldc, m, n, alpha, beta, bias, act);
  } else {
    if (a_stride > 0)
      tile<true, 4>(kp, a, a_stride, b, c, ldc, m, n, alpha, beta, bias, act);
    else
      tile<false, 4>(kp, a, a_stride, b, c, ldc, m, n, alpha, beta, bias, act);
  }
}

// ---------------------------------------------------------------------------------
// Few rows (contract: Bf16SkinnyFn). A's rows are converted to pairs once; then for each
// block of 64 columns, each pair of B rows is converted and interleaved in registers
// (pack_b's pairs16: the same pairs as a packed panel) and multiplied into the m rows'
// accumulators: B is read once, in place, two rows at a time, with no packed copy.
constexpr int kSkinnyMaxM = 4;
constexpr int kSkinnyVecs = 4;  // 64 columns per block: 4 x m accumulators

template <int M>
void skinny_rows(i64 kp, i64 kc, const std::uint32_t* ap, const float* b, i64 ldb, float* c, i64 ldc, i64 n,
                 float alpha, float beta, const float* bias, int act) {
  const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
  const bool scale = alpha != 1.0f, read_c = beta != 0.0f, relu = act == 1;
  for (i64 j0 = 0; j0 < n; j0 += 16 * kSkinnyVecs) {
    const i64 left = n - j0;
    const int nv = left >= 16 * kSkinnyVecs ? kSkinnyVecs : static_cast<int>((left + 15) / 16);
    __m512 acc[M][kSkinnyVecs];
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i)
      for (int v = 0; v < kSkinnyVecs; ++v) acc[i][v] = _mm512_setzero_ps();
    for (i64 pp = 0; pp < kp; ++pp) {
      const float* r0 = b + 2 * pp * ldb + j0;
      const float* r1 = 2 * pp + 1 < kc ? r0 + ldb : nullptr;
      __m512bh bv[kSkinnyVecs];
#pragma GCC unroll 4
      for (int v = 0; v < kSkinnyVecs; ++v)
        if (v < nv) bv[v] = as_bh(pairs16(r0 + 16 * v, r1 ? r1 + 16 * v : nullptr, left - 16 * v));
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i) {
        const __m512bh ai = as_bh(_mm512_set1_epi32(static_cast<int>(ap[i * kp + pp])));
#pragma GCC unroll 4
        for (int v = 0; v < kSkinnyVecs; ++v)
          if (v < nv) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      float* cr = c + i * ldc + j0;
      for (int v = 0; v < nv; ++v) {
        const __mmask16 mk = mask16(left - 16 * v);
        __m512 r = acc[i][v];
        if (scale) r = _mm512_mul_ps(valpha, r);
        if (read_c) r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mk, cr + v * 16), r);
        if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mk, bias + j0 + v * 16));
        if (relu) r = _mm512_max_ps(_mm512_setzero_ps(), r);
        _mm512_mask_storeu_ps(cr + v * 16, mk, r);
      }
    }
  }
}

void skinny(i64 kc, const float* a, i64 lda, const float* b, i64 ldb, float* c, i64 ldc, int m, i64 n, float alpha,
            float beta, const float* bias, int act, std::uint32_t* work) {
  const i64 kp = (kc + 1) / 2;
  pack_a(false, a, lda, m, kc, m, work);  // row-major pairs, pair (i, pp) at work[i*kp + pp]
  switch (m) {
    case 1: skinny_rows<1>(kp, kc, work, b, ldb, c, ldc, n, alpha, beta, bias, act); break;
    case 2: skinny_rows<2>(kp, kc, work, b, ldb, c, ldc, n, alpha, beta, bias, act); break;
    case 3: skinny_rows<3>(kp, kc, work, b, ldb, c, ldc, n, alpha, beta, bias, act); break;
    default: skinny_rows<4>(kp, kc, work, b, ldb, c, ldc, n, alpha, beta, bias, act); break;
  }
}

}  // namespace bf16_avx512

// Blocking (Zen 4, 1 MiB L2 per core): kc * NR * 2 B = 800 * 32 * 2 = 50 KB B panel
// streamed from L2; mc * kc * 2 B = 192 * 800 * 2 = 300 KB A block in L2; nc = 4096.
// 784 (W1's first layer) is one k-block. See bench/bench_bf16.py for the measurements.
void fill_bf16gemm_avx512bf16(Bf16GemmKernels& k) {
  k.name = "bf16-gemm-12x32-avx512bf16";
  k.mr = bf16_avx512::MR;
  k.nr = bf16_avx512::NR;
  k.kc = 800;
  k.mc = 192;
  k.nc = 4096;
  k.pack_a = bf16_avx512::pack_a;
  k.pack_b = bf16_avx512::pack_b;
  k.ukernel = bf16_avx512::ukernel;
  k.skinny = bf16_avx512::skinny;
  k.skinny_max_m = bf16_avx512::kSkinnyMaxM;
}

}  // namespace ranvier
