// Losses: per-sample value and gradient in one pass, with Keras's semantics
// (Keras 3's keras/src/losses/losses.py).
#pragma once

#include <cstdint>

#include "ops/activations.h"

namespace ranvier {

enum class LossKind : int {
  mean_squared_error = 0, mean_absolute_error, mean_absolute_percentage_error,
  mean_squared_logarithmic_error, binary_crossentropy, categorical_crossentropy,
  sparse_categorical_crossentropy, binary_focal_crossentropy, hinge, squared_hinge,
  categorical_hinge, huber, log_cosh, kl_divergence, poisson, cosine_similarity,
};

struct LossParams {
  bool from_logits = false;
  float label_smoothing = 0.0f;
  float delta = 1.0f;                  // huber
  float alpha = 0.25f, gamma = 2.0f;   // binary focal
  bool apply_class_balancing = false;  // binary focal
};

// y_pred: n x k, row-major. y_true: n x k, or n x 1 integer-valued labels for
// sparse_categorical_crossentropy. (Rank alignment is the caller's job.)
// per_sample (n, required): l_i before weights.
// grad (n x k, nullable): d(sum_i w_i * l_i * grad_scale)/d(y_pred); the caller
//   passes grad_scale = 1/n for Keras's sum_over_batch_size.
// sample_weight (n, nullable): w_i (1 when null).
// Throws std::invalid_argument for labels out of range (sparse) naming the label.
void loss_forward_backward(LossKind kind, const LossParams& p, const float* y_true,
                           std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
                           std::int64_t k, const float* sample_weight, float grad_scale,
                           float* per_sample, float* grad);

// True when `kind` after the output activation `act` has a fused, stable gradient
// with respect to the pre-activation (softmax + categorical/sparse CE,
// sigmoid + binary CE).
bool loss_fuses_with(LossKind kind, const LossParams& p, ActKind act);

// As loss_forward_backward, but y_pred is the activation's output and grad_logits
// is the gradient with respect to the activation's input (the logits).
void loss_forward_backward_fused(LossKind kind, const LossParams& p, ActKind act,
                                 const float* y_true, std::int64_t y_true_cols,
                                 const float* y_pred, std::int64_t n, std::int64_t k,
                                 const float* sample_weight, float grad_scale,
                                 float* per_sample, float* grad_logits);

}  // namespace ranvier
