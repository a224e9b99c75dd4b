// f32-vunary kernels for the avx512 ISA: activations, softmax and vmath, compiled from
// the shared bodies (simd/vmath.inl, simd/map.inl, f32-vunary.inl).
// Everything lives in namespace ranvier::vunary_avx512 so nothing collides at link time;
// no std:: templates are instantiated here.
// GCC 12 reports a false -W(maybe-)uninitialized inside avx512fintrin.h (the
// _mm512_undefined_* idiom behind _mm512_max_ps/_mm512_extractf64x4_pd; GCC PR105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "kernels/f32-vunary/vunary.h"
#include "simd/avx512.h"

namespace ranvier {
namespace vunary_avx512 {
namespace simd = ranvier::simd_avx512;
#include "simd/vmath.inl"
#include "simd/map.inl"
#include "kernels/f32-vunary/f32-vunary.inl"
}  // namespace vunary_avx512

void fill_vunary_avx512(VunaryKernels& k) {
  k.name = "f32-vunary-avx512";
  vunary_avx512::fill_vunary_table(k);
}

}  // namespace ranvier
