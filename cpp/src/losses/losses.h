// Losses: per-sample value and gradient in one pass, with Keras's semantics
// (Keras 3's keras/src/losses/losses.py). The kinds, names, aliases and parameters are
// the rows of kernels/f32-vloss/losses.def.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/activations.h"

namespace ranvier {

// One kind per row of kernels/f32-vloss/losses.def, in its order.
enum class LossKind : int {
#define RANVIER_LOSS(name, ...) name,
#include "kernels/f32-vloss/losses.def"
};
constexpr int kLossKindCount = 0
#define RANVIER_LOSS(name, ...) +1
#include "kernels/f32-vloss/losses.def"
    ;

// How y_true relates to y_pred (the labels column of losses.def).
enum class LossLabels : int { dense, same, sparse };

// One row of losses.def.
struct LossInfo {
  const char* name;        // the Keras function name
  const char* class_name;  // the Keras class
  bool cheap;              // the larger thread threshold
  LossLabels labels;
  const char* params;      // "key=default ..." (see loss_param_defaults)
};
// The row of `kind`; throws std::invalid_argument for a kind out of range.
const LossInfo& loss_info(LossKind kind);
// The aliases of losses.def: (alias, kind, Keras resolves it).
struct LossAlias {
  const char* alias;
  LossKind kind;
  bool keras;
};
const std::vector<LossAlias>& loss_aliases();
// The kind a model file names: a row's name, its class name lower-cased or an alias
// (compared lower-cased); false when there is none.
bool loss_from_name(const std::string& name, LossKind* kind);
// The parameters `kind` takes, with its defaults (booleans as 0/1), in its row's order.
std::vector<std::pair<std::string, double>> loss_param_defaults(LossKind kind);

// The parameters the losses take (their Keras defaults; each loss's own are in losses.def).
struct LossParams {
  bool from_logits = false;
  float label_smoothing = 0.0f;
  float delta = 1.0f;                  // huber
  float alpha = 0.25f, gamma = 2.0f;   // focal losses
  bool apply_class_balancing = false;  // binary focal
};

// A compiled model's loss.
struct LossSpec {
  LossKind kind = LossKind::mean_squared_error;
  LossParams params;
  float weight = 1.0f;  // Keras loss_weights for the single output
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
