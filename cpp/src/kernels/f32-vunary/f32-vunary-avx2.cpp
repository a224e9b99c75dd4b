// f32-vunary kernels for the avx2 ISA: activations, softmax, vmath and the loss kernels,
// compiled from the shared bodies (simd/vmath.inl, f32-vunary.inl, f32-vloss.inl).
// Everything lives in namespace ranvier::vunary_avx2 so nothing collides at link time;
// no std:: templates are instantiated here.
#include "kernels/f32-vunary/vunary.h"
#include "simd/avx2.h"

namespace ranvier {
namespace vunary_avx2 {
namespace simd = ranvier::simd_avx2;
#include "simd/vmath.inl"
#include "kernels/f32-vunary/f32-vunary.inl"
#include "kernels/f32-vunary/f32-vloss.inl"
}  // namespace vunary_avx2

void fill_vunary_avx2(VunaryKernels& k) {
  k.name = "f32-vunary-avx2";
  vunary_avx2::fill_vunary_table(k);
  vunary_avx2::fill_vloss_table(k);
}

}  // namespace ranvier
