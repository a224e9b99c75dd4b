// f32-vunary kernels for the scalar ISA: activations, softmax and vmath, compiled from
// the shared bodies (simd/vmath.inl, simd/map.inl, f32-vunary.inl).
// Everything lives in namespace ranvier::vunary_scalar so nothing collides at link time;
// no std:: templates are instantiated here.
#include "kernels/f32-vunary/vunary.h"
#include "simd/scalar.h"

namespace ranvier {
namespace vunary_scalar {
namespace simd = ranvier::simd_scalar;
#include "simd/vmath.inl"
#include "simd/map.inl"
#include "kernels/f32-vunary/f32-vunary.inl"
}  // namespace vunary_scalar

void fill_vunary_scalar(VunaryKernels& k) {
  k.name = "f32-vunary-scalar";
  vunary_scalar::fill_vunary_table(k);
}

}  // namespace ranvier
