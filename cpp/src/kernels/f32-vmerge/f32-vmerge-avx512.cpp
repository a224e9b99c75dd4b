// f32-vmerge kernels for the avx512 ISA, compiled from the shared body (f32-vmerge.inl).
// Everything lives in namespace ranvier::vmerge_avx512 so nothing collides at link time.
// GCC 12 reports a false -W(maybe-)uninitialized inside avx512fintrin.h (GCC PR105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <cstdint>

#include "kernels/f32-vmerge/vmerge.h"
#include "simd/avx512.h"

namespace ranvier {
namespace vmerge_avx512 {
namespace {
namespace simd = ranvier::simd_avx512;
#include "kernels/f32-vmerge/f32-vmerge.inl"
}  // namespace
}  // namespace vmerge_avx512

void fill_vmerge_avx512(VmergeKernels& k) {
  k.name = "f32-vmerge-avx512";
  vmerge_avx512::fill_vmerge_table(k);
}

}  // namespace ranvier
