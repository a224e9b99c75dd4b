// f32-gemv-avx512: the one-row GEMV (contract in gemv.h, body in gemv.inl) on avx512 vectors.
// Register use: 32 zmm registers: 16 accumulators (256 columns: a 784-256 layer in one stream), the broadcast and room for the compiler.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>
#include <utility>

#include "kernels/f32-gemv/gemv.h"
#include "simd/avx512.h"

namespace ranvier {
namespace gemv_avx512 {
namespace {
namespace simd = ranvier::simd_avx512;
constexpr int kBlockVecs = 16;
#include "kernels/f32-gemv/gemv.inl"
}  // namespace
}  // namespace gemv_avx512

void fill_gemv_avx512(GemvKernels& k) {
  k.name = "f32-gemv-avx512";
  k.gemv = gemv_avx512::gemv;
  k.max_cols = gemv_avx512::kBlockVecs * simd_avx512::kW;
}

}  // namespace ranvier
