// f32-gemv-avx2: the one-row GEMV (contract in gemv.h, body in gemv.inl) on avx2 vectors.
// Register use: 16 ymm registers: 12 accumulators (96 columns), the broadcast of x[p], a spare.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>
#include <utility>

#include "kernels/f32-gemv/gemv.h"
#include "simd/avx2.h"

namespace ranvier {
namespace gemv_avx2 {
namespace {
namespace simd = ranvier::simd_avx2;
constexpr int kBlockVecs = 12;
#include "kernels/f32-gemv/gemv.inl"
}  // namespace
}  // namespace gemv_avx2

void fill_gemv_avx2(GemvKernels& k) {
  k.name = "f32-gemv-avx2";
  k.gemv = gemv_avx2::gemv;
  k.max_cols = gemv_avx2::kBlockVecs * simd_avx2::kW;
}

}  // namespace ranvier
