// f32-gemm-12x32-avx512: AVX-512F micro-kernel, 12 rows x 32 columns (2 zmm per row).
//
// Contract: see the block at the top of f32-gemm-ukernel.inl. The body is the very
// same source as the AVX2 6x16 kernel (tested on every machine with AVX2); only the
// vocabulary (simd/avx512.h: 16 lanes, __mmask16 tails) and MR differ.
// Register use: 24 accumulators + 2 B vectors + 1 broadcast = 27 of the 32 zmm
// registers. Per k step: 2 loads of B, 12 broadcasts of A, 24 FMAs.
#include <cstdint>

// GCC 12 reports a false -Wmaybe-uninitialized inside its own avx512fintrin.h for
// _mm512_max_ps (its `__m512 __Y = __Y;` in _mm512_undefined_ps). The pragma must precede
// the intrinsics header to cover it; it silences only that warning, only in this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include "kernels/f32-gemm/gemm-ukernel.h"
#include "simd/avx512.h"

namespace ranvier {
namespace gemm_avx512 {
namespace simd = ranvier::simd_avx512;
constexpr int MR = 12;
#include "kernels/f32-gemm/f32-gemm-ukernel.inl"

// GemmTransposeFn in 16x16 blocks (simd::transpose_square), 16 stores each.
template <bool kScale>
void transpose_blocks(const float* src, std::int64_t ld, int rows, std::int64_t len, float scale, float* dst,
                      int dst_stride) {
  const __m512 vs = _mm512_set1_ps(scale);
  for (int r0 = 0; r0 + 16 <= rows; r0 += 16) {
    for (std::int64_t p0 = 0; p0 + 16 <= len; p0 += 16) {
      __m512 col[16];
      simd::transpose_square(src + r0 * ld + p0, ld, col);
      float* d = dst + p0 * dst_stride + r0;
#pragma GCC unroll 16
      for (int c = 0; c < 16; ++c) _mm512_storeu_ps(d + c * dst_stride, kScale ? _mm512_mul_ps(vs, col[c]) : col[c]);
    }
  }
}

void transpose(const float* src, std::int64_t ld, int rows, std::int64_t len, float scale, float* dst,
               int dst_stride) {
  if (scale == 1.0f)
    transpose_blocks<false>(src, ld, rows, len, scale, dst, dst_stride);
  else
    transpose_blocks<true>(src, ld, rows, len, scale, dst, dst_stride);
}
}  // namespace gemm_avx512

// Block sizes for AVX-512 server cores (48 KB L1d, 2 MB L2 per core), measured on a
// 16-core Intel Xeon (AVX-512F) with bench_gemm_cpp --kc/--mc, 1 thread, GFLOP/s for
// 128x256x784 / 512x2048x2048 / 2048^3 (noisy host, best of several):
//   kc=192 mc=288: 128 / 128 / 110    kc=384 mc=288: 129 / 133 / 131
//   kc=192 mc=144: 118 / 128 / 120    kc=384 mc=192: 130 / 136 / 132   <- chosen
//   kc=192 mc=576:  74 / 126 /  88
//   kc * NR * 4 B = 384 * 32 * 4 = 48 KB  B micro-panel, streamed through L1/L2;
//   mc * kc * 4 B = 192 * 384 * 4 = 288 KB  packed A block in L2;
//   kc * nc * 4 B = 384 * 4096 * 4 = 6 MB  packed B block in L3.
void fill_gemm_avx512(GemmKernels& k) {
  k.name = "f32-gemm-12x32-avx512";
  k.mr = gemm_avx512::MR;
  k.nr = gemm_avx512::NR;
  k.kc = 384;
  k.mc = 192;
  k.nc = 4096;
  k.ukernel = gemm_avx512::ukernel;
  k.fast_unpacked_a = true;
  k.skinny = gemm_avx512::skinny;
  k.skinny_max_m = gemm_avx512::kSkinnyMaxM;
  k.column = gemm_avx512::column;
  k.outer = gemm_avx512::outer;
  k.transpose = gemm_avx512::transpose;
  k.transpose_block = 16;
  k.a_col_exact_tails = (1u << 8) | (1u << 4);  // the 8- and 4-row tiles (ukernel)
}

}  // namespace ranvier
