// f32-vloss kernels for the avx2 ISA: the loss kernels, compiled from the shared bodies
// (simd/vmath.inl, simd/map.inl, f32-vloss.inl). Everything lives in namespace
// ranvier::vloss_avx2 so nothing collides at link time; no std:: templates are instantiated here.
#include "kernels/f32-vloss/vloss.h"
#include "simd/avx2.h"

namespace ranvier {
namespace vloss_avx2 {
namespace simd = ranvier::simd_avx2;
#include "simd/vmath.inl"
#include "simd/map.inl"
#include "kernels/f32-vloss/f32-vloss.inl"
}  // namespace vloss_avx2

void fill_vloss_avx2(VlossKernels& k) {
  k.name = "f32-vloss-avx2";
  vloss_avx2::fill_vloss_table(k);
}

}  // namespace ranvier
