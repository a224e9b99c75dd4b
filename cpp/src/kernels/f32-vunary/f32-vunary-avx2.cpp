// f32-vunary kernels for the avx2 ISA: activations, softmax and vmath, compiled from
// the shared bodies (simd/vmath.inl, simd/map.inl, f32-vunary.inl).
// Everything lives in namespace ranvier::vunary_avx2 so nothing collides at link time;
// no std:: templates are instantiated here.
#include "kernels/f32-vunary/vunary.h"
#include "simd/avx2.h"

namespace ranvier {
namespace vunary_avx2 {
namespace simd = ranvier::simd_avx2;
#include "simd/vmath.inl"
#include "simd/map.inl"
#include "kernels/f32-vunary/f32-vunary.inl"
}  // namespace vunary_avx2

void fill_vunary_avx2(VunaryKernels& k) {
  k.name = "f32-vunary-avx2";
  vunary_avx2::fill_vunary_table(k);
}

}  // namespace ranvier
