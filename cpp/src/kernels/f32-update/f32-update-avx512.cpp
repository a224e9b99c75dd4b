// Fused optimizer updates for the avx512 ISA: the body is update.inl (one source for
// every ISA); this file only picks the SIMD vocabulary and the namespace.
// GCC 12's own avx512fintrin.h trips -W(maybe-)uninitialized (its _mm512_undefined_*
// self-initialize) once max/min/extract are inlined; the warning is about the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <math.h>

#include <cstdint>

#include "kernels/f32-update/update.h"
#include "simd/avx512.h"

namespace ranvier {
namespace update_avx512 {
namespace {
namespace simd = ranvier::simd_avx512;
#include "kernels/f32-update/update.inl"
}  // namespace
}  // namespace update_avx512

void fill_update_avx512(UpdateKernels& k) { update_avx512::fill_table(k, "f32-update-avx512"); }

}  // namespace ranvier
