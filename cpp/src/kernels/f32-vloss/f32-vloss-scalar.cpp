// f32-vloss kernels for the scalar ISA: the loss kernels, compiled from the shared bodies
// (simd/vmath.inl, simd/map.inl, f32-vloss.inl). Everything lives in namespace
// ranvier::vloss_scalar so nothing collides at link time; no std:: templates are instantiated here.
#include "kernels/f32-vloss/vloss.h"
#include "simd/scalar.h"

namespace ranvier {
namespace vloss_scalar {
namespace simd = ranvier::simd_scalar;
#include "simd/vmath.inl"
#include "simd/map.inl"
#include "kernels/f32-vloss/f32-vloss.inl"
}  // namespace vloss_scalar

void fill_vloss_scalar(VlossKernels& k) {
  k.name = "f32-vloss-scalar";
  vloss_scalar::fill_vloss_table(k);
}

}  // namespace ranvier
