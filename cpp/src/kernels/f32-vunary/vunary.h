// f32 elementwise kernels: activations and their derivatives, row-wise softmax,
// the vectorized math functions, and the loss kernels. The kernel-table entry.
//
// Contracts (every kernel, every ISA):
// - n, rows, cols >= 0; pointers may alias exactly (y == x, dx == dy) but must not
//   overlap otherwise. Kernels never allocate, never start threads, and touch no
//   memory outside [p, p + n).
// - The caller sets flush-to-zero/denormals-are-zero (FtzScope): subnormal inputs
//   are read as 0 and subnormal results are flushed to 0.
// - Elementwise kinds are indexed by VunaryOp, whose order equals ranvier::ActKind
//   (ops/activations.h) up to kVunarySoftmax; losses by VlossOp, whose order equals
//   ranvier::LossKind (losses/losses.h). Both orders are checked by static_asserts
//   in ops/activations.cpp and losses/losses.cpp.
// Only plain types and function pointers live here (included from ISA-flagged files).
#pragma once

#include <cstdint>

namespace ranvier {

enum VunaryOp : int {
  kVunaryLinear = 0, kVunaryRelu, kVunaryLeakyRelu, kVunaryRelu6, kVunaryElu, kVunarySelu,
  kVunaryCelu, kVunaryGelu, kVunaryGeluApprox, kVunarySigmoid, kVunaryHardSigmoid,
  kVunaryHardSilu, kVunaryTanh, kVunarySoftplus, kVunarySoftsign, kVunarySilu, kVunaryMish,
  kVunaryExponential, kVunaryLogSigmoid,
  kVunaryElementwiseCount,  // == ActKind::softmax
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

enum VlossOp : int {
  kVlossMse = 0, kVlossMae, kVlossMape, kVlossMsle, kVlossBce, kVlossCce, kVlossScce, kVlossBinaryFocal,
  kVlossHinge, kVlossSquaredHinge, kVlossCategoricalHinge, kVlossHuber, kVlossLogCosh, kVlossKld,
  kVlossPoisson, kVlossCosine,
  kVlossCount,
};

// Fused (activation + loss) kernels: gradient with respect to the logits.
enum VlossFusedOp : int { kVfusedSoftmaxCce = 0, kVfusedSoftmaxScce, kVfusedSigmoidBce, kVfusedCount };

struct VlossParams {
  int from_logits;      // bce, cce, scce, binary focal
  float label_smoothing;
  float delta;          // huber
  float alpha, gamma;   // binary focal
  int class_balancing;  // binary focal
  int hinge_convert;    // hinge, squared hinge: map labels 0/1 to -1/+1 (decided by the caller for the batch)
};

// Rows [0, n) of y_pred (n x k) against y_true (n x yt_cols; yt_cols == k, or 1 for a value
// broadcast along the row / a sparse label, already validated by the caller).
// per_sample[i] = l_i (unweighted); grad (nullable, n x k) = w_i * grad_scale * dl_i/dp
// (w_i = 1 when w is null).
using VlossFn = void (*)(const float* y_true, std::int64_t yt_cols, const float* y_pred, std::int64_t n,
                         std::int64_t k, const float* w, float grad_scale, float* per_sample, float* grad,
                         const VlossParams* p);

struct VunaryKernels {
  const char* name = nullptr;
  VunaryFwdFn forward[kVunaryElementwiseCount] = {};
  VunaryBwdFn backward[kVunaryElementwiseCount] = {};
  VunaryRowFwdFn softmax = nullptr, log_softmax = nullptr;
  VunaryRowBwdFn softmax_backward = nullptr, log_softmax_backward = nullptr;
  VunaryFwdFn math[kVmathCount] = {};
  VlossFn loss[kVlossCount] = {};
  VlossFn fused[kVfusedCount] = {};
};

}  // namespace ranvier
