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

#include "kernels/f32-gemm/gemm-ukernel.h"
#include "simd/avx512.h"

namespace ranvier {
namespace gemm_avx512 {
namespace simd = ranvier::simd_avx512;
constexpr int MR = 12;
#include "kernels/f32-gemm/f32-gemm-ukernel.inl"
}  // namespace gemm_avx512

// Block sizes for AVX-512 server cores (32-48 KB L1d, 1-2 MB L2 per core):
//   kc * NR * 4 B = 192 * 32 * 4 = 24 KB  B micro-panel in L1;
//   mc * kc * 4 B = 288 * 192 * 4 = 216 KB  packed A block in L2;
//   kc * nc * 4 B = 192 * 4096 * 4 = 3 MB  packed B block in L3.
void fill_gemm_avx512(GemmKernels& k) {
  k.name = "f32-gemm-12x32-avx512";
  k.mr = gemm_avx512::MR;
  k.nr = gemm_avx512::NR;
  k.kc = 192;
  k.mc = 288;
  k.nc = 4096;
  k.ukernel = gemm_avx512::ukernel;
}

}  // namespace ranvier
