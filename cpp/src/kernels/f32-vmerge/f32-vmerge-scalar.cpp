// f32-vmerge kernels for the scalar ISA, compiled from the shared body (f32-vmerge.inl).
// Everything lives in namespace ranvier::vmerge_scalar so nothing collides at link time.
#include <cstdint>

#include "kernels/f32-vmerge/vmerge.h"
#include "simd/scalar.h"

namespace ranvier {
namespace vmerge_scalar {
namespace {
namespace simd = ranvier::simd_scalar;
#include "kernels/f32-vmerge/f32-vmerge.inl"
}  // namespace
}  // namespace vmerge_scalar

void fill_vmerge_scalar(VmergeKernels& k) {
  k.name = "f32-vmerge-scalar";
  vmerge_scalar::fill_vmerge_table(k);
}

}  // namespace ranvier
