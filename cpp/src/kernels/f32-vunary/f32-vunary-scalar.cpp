// f32-vunary kernels for the scalar ISA: activations, softmax, vmath and the loss kernels,
// compiled from the shared bodies (simd/vmath.inl, f32-vunary.inl, f32-vloss.inl).
// Everything lives in namespace ranvier::vunary_scalar so nothing collides at link time;
// no std:: templates are instantiated here.
#include "kernels/f32-vunary/vunary.h"
#include "simd/scalar.h"

namespace ranvier {
namespace vunary_scalar {
namespace simd = ranvier::simd_scalar;
#include "simd/vmath.inl"
#include "kernels/f32-vunary/f32-vunary.inl"
#include "kernels/f32-vunary/f32-vloss.inl"
}  // namespace vunary_scalar

void fill_vunary_scalar(VunaryKernels& k) {
  k.name = "f32-vunary-scalar";
  vunary_scalar::fill_vunary_table(k);
  vunary_scalar::fill_vloss_table(k);
}

}  // namespace ranvier
