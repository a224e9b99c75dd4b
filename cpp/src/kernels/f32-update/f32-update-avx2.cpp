// Fused optimizer updates for the avx2 ISA: the body is update.inl (one source for
// every ISA); this file only picks the SIMD vocabulary and the namespace.
#include <math.h>

#include <cstdint>

#include "kernels/f32-update/update.h"
#include "simd/avx2.h"

namespace ranvier {
namespace update_avx2 {
namespace {
namespace simd = ranvier::simd_avx2;
#include "kernels/f32-update/update.inl"
}  // namespace
}  // namespace update_avx2

void fill_update_avx2(UpdateKernels& k) { update_avx2::fill_table(k, "f32-update-avx2"); }

}  // namespace ranvier
