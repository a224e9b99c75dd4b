// The vectorized math functions of simd/vmath.inl over arrays, for tests and benchmarks.
#pragma once

#include <cstdint>

#include "kernels/f32-vunary/vunary.h"

namespace ranvier {

// y[i] = op(x[i]) with the active ISA's kernel (y == x allowed).
void vmath_apply(VmathOp op, const float* x, float* y, std::int64_t n);

}  // namespace ranvier
