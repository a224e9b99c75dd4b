// Fused optimizer updates for the scalar ISA: the body is update.inl (one source for
// every ISA); this file only picks the SIMD vocabulary and the namespace.
#include <math.h>

#include <cstdint>

#include "kernels/f32-update/update.h"
#include "simd/scalar.h"

namespace ranvier {
namespace update_scalar {
namespace {
namespace simd = ranvier::simd_scalar;
#include "kernels/f32-update/update.inl"
}  // namespace
}  // namespace update_scalar

void fill_update_scalar(UpdateKernels& k) { update_scalar::fill_table(k, "f32-update-scalar"); }

}  // namespace ranvier
