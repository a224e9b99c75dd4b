// f32-gemm-6x16-avx2: AVX2+FMA micro-kernel, 6 rows x 16 columns (2 ymm per row).
//
// Contract: see the block at the top of f32-gemm-ukernel.inl (the body is shared with
// the AVX-512 kernel). Register use: 12 accumulators + 2 B vectors + 1 broadcast = 15
// of the 16 ymm registers. Per k step: 2 loads of B, 6 broadcasts of A, 12 FMAs.
#include <cstdint>

#include "kernels/f32-gemm/gemm-ukernel.h"
#include "simd/avx2.h"

namespace ranvier {
namespace gemm_avx2 {
namespace simd = ranvier::simd_avx2;
constexpr int MR = 6;
#include "kernels/f32-gemm/f32-gemm-ukernel.inl"
}  // namespace gemm_avx2

// Block sizes for Zen3 (32 KB L1d, 512 KB L2 per core, shared L3):
//   kc * NR * 4 B = 256 * 16 * 4 = 16 KB  B micro-panel, stays in L1 across the MR loop;
//   mc * kc * 4 B = 144 * 256 * 4 = 144 KB  packed A block, stays in L2;
//   kc * nc * 4 B = 256 * 4080 * 4 = 4 MB  packed B block, shared by the threads in L3.
void fill_gemm_avx2(GemmKernels& k) {
  k.name = "f32-gemm-6x16-avx2";
  k.mr = gemm_avx2::MR;
  k.nr = gemm_avx2::NR;
  k.kc = 256;
  k.mc = 144;
  k.nc = 4080;
  k.ukernel = gemm_avx2::ukernel;
  k.fast_unpacked_a = true;
  k.skinny = gemm_avx2::skinny;
  k.skinny_max_m = gemm_avx2::kSkinnyMaxM;
}

}  // namespace ranvier
