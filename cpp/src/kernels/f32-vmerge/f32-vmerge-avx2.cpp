// f32-vmerge kernels for the avx2 ISA, compiled from the shared body (f32-vmerge.inl).
// Everything lives in namespace ranvier::vmerge_avx2 so nothing collides at link time.
#include <cstdint>

#include "kernels/f32-vmerge/vmerge.h"
#include "simd/avx2.h"

namespace ranvier {
namespace vmerge_avx2 {
namespace {
namespace simd = ranvier::simd_avx2;
#include "kernels/f32-vmerge/f32-vmerge.inl"
}  // namespace
}  // namespace vmerge_avx2

void fill_vmerge_avx2(VmergeKernels& k) {
  k.name = "f32-vmerge-avx2";
  vmerge_avx2::fill_vmerge_table(k);
}

}  // namespace ranvier
