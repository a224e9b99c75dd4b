// f32 loss kernels: per-sample value and gradient in one pass, and the fused
// (activation + loss) gradients. The kernel-table entry.
//
// Contracts (every kernel, every ISA):
// - n, k >= 0; kernels never allocate, never start threads, and touch only the rows
//   [0, n) they are given. The caller sets flush-to-zero/denormals-are-zero (FtzScope).
// - Losses are indexed by VlossOp, generated from losses.def as ranvier::LossKind is
//   (losses/losses.h), so the two orders cannot differ.
// Only plain types and function pointers live here (included from ISA-flagged files).
#pragma once

#include <cstdint>

namespace ranvier {

// One index per loss of losses.def, in its order (== ranvier::LossKind).
enum VlossOp : int {
#define RANVIER_LOSS(name, ...) kVloss_##name,
#include "kernels/f32-vloss/losses.def"
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

struct VlossKernels {
  const char* name = nullptr;
  VlossFn loss[kVlossCount] = {};
  VlossFn fused[kVfusedCount] = {};
};

}  // namespace ranvier
