// f32 elementwise kernels: activations and their derivatives, row-wise softmax and
// the vectorized math functions. The kernel-table entry (losses: kernels/f32-vloss).
//
// Contracts (every kernel, every ISA):
// - n, rows, cols >= 0; pointers may alias exactly (y == x, dx == dy) but must not
//   overlap otherwise. Kernels never allocate, never start threads, and touch no
//   memory outside [p, p + n).
// - The caller sets flush-to-zero/denormals-are-zero (FtzScope): subnormal inputs
//   are read as 0 and subnormal results are flushed to 0.
// - Kinds are indexed by VunaryOp, generated from activations.def as ranvier::ActKind is
//   (ops/activations.h), so the two orders cannot differ. An eltwise kind fills
//   forward/backward, a rowwise kind row_forward/row_backward.
// Only plain types and function pointers live here (included from ISA-flagged files).
#pragma once

#include <cstdint>

namespace ranvier {

// One index per activation of activations.def, in its order (== ranvier::ActKind).
enum VunaryOp : int {
#define RANVIER_ACTIVATION(name, ...) kVunary_##name,
#include "kernels/f32-vunary/activations.def"
  kVunaryCount,
};

// The vectorized math functions of simd/vmath.inl, exposed for tests and benchmarks.
enum VmathOp : int {
  kVmathExp = 0, kVmathExpm1, kVmathLog, kVmathLog1p, kVmathTanh, kVmathErf, kVmathErfc,
  kVmathSigmoid, kVmathNormCdf, kVmathSoftplus,
  kVmathCount,
};

struct VunaryParams {
  float negative_slope;  // relu, leaky_relu
  float max_value;       // relu (+inf = None)
  float threshold;       // relu
  float alpha;           // elu, celu
};

// y[i] = f(x[i]), i < n.
using VunaryFwdFn = void (*)(const float* x, float* y, std::int64_t n, const VunaryParams* p);
// dx[i] = dy[i] * f'(x[i]); x or y may be null when the op does not read it
// (ops/activations.cpp: activation_backward_needs).
using VunaryBwdFn = void (*)(const float* x, const float* y, const float* dy, float* dx, std::int64_t n,
                             const VunaryParams* p);
// Row-wise (softmax, log_softmax) over rows x cols, row-major, contiguous rows.
using VunaryRowFwdFn = void (*)(const float* x, float* y, std::int64_t rows, std::int64_t cols);
using VunaryRowBwdFn = void (*)(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols);

struct VunaryKernels {
  const char* name = nullptr;
  VunaryFwdFn forward[kVunaryCount] = {};
  VunaryBwdFn backward[kVunaryCount] = {};
  VunaryRowFwdFn row_forward[kVunaryCount] = {};
  VunaryRowBwdFn row_backward[kVunaryCount] = {};
  VunaryFwdFn math[kVmathCount] = {};
};

}  // namespace ranvier
