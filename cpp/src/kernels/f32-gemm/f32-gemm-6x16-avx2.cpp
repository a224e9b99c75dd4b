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
//   kc * NR * 4 B = 800 * 16 * 4 = 50 KB  B micro-panel, streamed from L2 across the MR loop
//                   (2 B loads per 12 FMAs: L2 keeps up, and fewer k-blocks mean fewer
//                   passes over C and fewer tile epilogues);
//   mc * kc * 4 B = 144 * 800 * 4 = 450 KB  packed A block (at most; k-blocks are equal,
//                   784 is one block of 784, 1024 two of 512, 2048 three of 683), in L2;
//   kc * nc * 4 B = 800 * 4080 * 4 = 13 MB  packed B block, shared by the threads in L3.
// kc measured with bench_gemm_cpp --kc, 1 thread, 5 interleaved repeats, median GFLOP/s
// (2026-11-27, idle): kc=256 / kc=800
//   128x256x784 nn 61.9 / 80.4    512x2048x1024 nn 84.7 / 83.5   512x2048x2048 nn 85.0 / 83.5
//   2048x1024x512 tn 82.6 / 84.7  1024x256x128 tn 80.7 / 79.7    512x1024x2048 nt 83.9 / 87.8
// (kc=784 and 512 in between; single runs vary by +-10% on this shared host.)
void fill_gemm_avx2(GemmKernels& k) {
  k.name = "f32-gemm-6x16-avx2";
  k.mr = gemm_avx2::MR;
  k.nr = gemm_avx2::NR;
  k.kc = 800;
  k.mc = 144;
  k.nc = 4080;
  k.ukernel = gemm_avx2::ukernel;
  k.fast_unpacked_a = true;
  k.skinny = gemm_avx2::skinny;
  k.skinny_max_m = gemm_avx2::kSkinnyMaxM;
  k.column = gemm_avx2::column;
  k.outer = gemm_avx2::outer;
  k.a_col_exact_tails = 1u << 4;  // the 4-row tile (ukernel)
}

}  // namespace ranvier
