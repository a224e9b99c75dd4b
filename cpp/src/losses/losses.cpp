// Losses: argument checks, the batch-level decisions (hinge label mapping, sparse label
// validation), and row-parallel calls into the loss kernels of kernels/f32-vloss.
#include "losses/losses.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "dispatch/dispatch.h"
#include "ops/parallel.h"

namespace ranvier {

namespace {

// Rows are split across threads when each gets at least this many elements (measured as
// for the activations, see ops/activations.cpp: break-even ~2^17 elements for mse over 64
// columns, ~2^15 for categorical cross-entropy). The macros exist for that benchmark only.
#ifndef RANVIER_LOSS_MIN_PER_THREAD_CHEAP
#define RANVIER_LOSS_MIN_PER_THREAD_CHEAP (1 << 16)
#endif
#ifndef RANVIER_LOSS_MIN_PER_THREAD
#define RANVIER_LOSS_MIN_PER_THREAD (1 << 13)
#endif
// The values of the rows' cost and labels columns.
constexpr bool kCheap_cheap = true, kCheap_transcendental = false;
constexpr LossLabels kLabels_dense = LossLabels::dense, kLabels_same = LossLabels::same,
                     kLabels_sparse = LossLabels::sparse;

constexpr LossInfo kLossInfo[] = {
#define RANVIER_LOSS(name, cls, cost, labels, params) {#name, #cls, kCheap_##cost, kLabels_##labels, params},
#include "kernels/f32-vloss/losses.def"
};
static_assert(sizeof(kLossInfo) / sizeof(kLossInfo[0]) == kLossKindCount, "one row per kind");

std::int64_t min_elements_per_thread(LossKind kind) {
  return kLossInfo[static_cast<int>(kind)].cheap ? RANVIER_LOSS_MIN_PER_THREAD_CHEAP : RANVIER_LOSS_MIN_PER_THREAD;
}

const char* loss_name(LossKind kind) {
  const int k = static_cast<int>(kind);
  return k >= 0 && k < kLossKindCount ? kLossInfo[k].name : "unknown";
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void check_args(LossKind kind, std::int64_t y_true_cols, std::int64_t n, std::int64_t k, const float* y_true,
                const float* y_pred, const float* per_sample) {
  const int ki = static_cast<int>(kind);
  if (ki < 0 || ki >= kLossKindCount) throw std::invalid_argument("loss: unknown LossKind " + std::to_string(ki));
  const char* name = loss_name(kind);  // strings are built only when throwing (no allocation per batch)
  if (n < 0 || k < 1)
    throw std::invalid_argument(std::string(name) + ": y_pred must have shape (n, k) with k >= 1, got n=" +
                                std::to_string(n) + ", k=" + std::to_string(k));
  if (kLossInfo[ki].labels == LossLabels::sparse) {
    if (y_true_cols != 1)
      throw std::invalid_argument(std::string(name) + ": y_true must hold one integer label per row, got " +
                                  std::to_string(y_true_cols) + " columns");
  } else if (y_true_cols != k && y_true_cols != 1) {
    throw std::invalid_argument(std::string(name) + ": y_true has " + std::to_string(y_true_cols) +
                                " columns, y_pred has " + std::to_string(k) +
                                " (they must match, or y_true has 1 column to broadcast)");
  }
  if (n > 0 && (!y_true || !y_pred || !per_sample))
    throw std::invalid_argument(std::string(name) + ": y_true, y_pred and per_sample must not be null");
}

// Keras casts labels to int (truncation); a label is valid when that lands in [0, k).
void check_sparse_labels(const float* y_true, std::int64_t n, std::int64_t k) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = y_true[i];
    if (!(v > -1.0f && v < static_cast<float>(k))) {
      std::string label = std::isnan(v) ? std::string("nan") : std::to_string(v);
      if (std::isfinite(v) && v == std::trunc(v)) label = std::to_string(static_cast<long long>(v));
      throw std::invalid_argument("sparse_categorical_crossentropy: label " + label + " (row " + std::to_string(i) +
                                  ") is out of range for " + std::to_string(k) +
                                  " classes; valid labels are integers 0.." + std::to_string(k - 1));
    }
  }
}

// Keras: if every label in the batch is 0 or 1, hinge losses map them to -1/+1.
// (Branch-free in blocks: random 0/1 labels would make a short-circuit test mispredict.)
bool all_binary(const float* y, std::int64_t count) {
  for (std::int64_t i = 0; i < count;) {
    const std::int64_t end = count - i > 4096 ? i + 4096 : count;
    int bad = 0;
    for (; i < end; ++i) bad |= static_cast<int>(y[i] != 0.0f) & static_cast<int>(y[i] != 1.0f);
    if (bad) return false;
  }
  return true;
}

VlossParams to_kernel_params(LossKind kind, const LossParams& p, const float* y_true, std::int64_t count) {
  VlossParams kp{};
  kp.from_logits = p.from_logits ? 1 : 0;
  kp.label_smoothing = p.label_smoothing;
  kp.delta = p.delta;
  kp.alpha = p.alpha;
  kp.gamma = p.gamma;
  kp.class_balancing = p.apply_class_balancing ? 1 : 0;
  const bool hinge = kind == LossKind::hinge || kind == LossKind::squared_hinge;
  kp.hinge_convert = (hinge && all_binary(y_true, count)) ? 1 : 0;
  return kp;
}

void run_rows(LossKind kind, VlossFn fn, const VlossParams& kp, const float* y_true, std::int64_t ytc,
              const float* y_pred,
              std::int64_t n, std::int64_t k, const float* w, float grad_scale, float* per_sample, float* grad) {
  parallel_rows(n, k, min_elements_per_thread(kind), [&](std::int64_t r0, std::int64_t r1) {
    fn(y_true + r0 * ytc, ytc, y_pred + r0 * k, r1 - r0, k, w ? w + r0 : nullptr, grad_scale, per_sample + r0,
       grad ? grad + r0 * k : nullptr, &kp);
  });
}

}  // namespace

const LossInfo& loss_info(LossKind kind) {
  const int k = static_cast<int>(kind);
  if (k < 0 || k >= kLossKindCount) throw std::invalid_argument("loss: unknown LossKind " + std::to_string(k));
  return kLossInfo[k];
}

const std::vector<LossAlias>& loss_aliases() {
  static const std::vector<LossAlias> aliases = {
#define RANVIER_LOSS(...)
#define RANVIER_LOSS_ALIAS(alias, name, scope) {#alias, LossKind::name, std::string(#scope) == "keras"},
#include "kernels/f32-vloss/losses.def"
  };
  return aliases;
}

bool loss_from_name(const std::string& name, LossKind* kind) {
  const std::string l = lower(name);
  for (int k = 0; k < kLossKindCount; ++k)
    if (l == kLossInfo[k].name || l == lower(kLossInfo[k].class_name)) {
      *kind = static_cast<LossKind>(k);
      return true;
    }
  for (const auto& a : loss_aliases())
    if (l == a.alias) {
      *kind = a.kind;
      return true;
    }
  return false;
}

std::vector<std::pair<std::string, double>> loss_param_defaults(LossKind kind) {
  std::vector<std::pair<std::string, double>> out;
  const std::string spec = loss_info(kind).params;
  std::size_t i = 0;
  while (i < spec.size()) {
    const std::size_t end = std::min(spec.find(' ', i), spec.size());
    const std::string item = spec.substr(i, end - i);
    const std::size_t eq = item.find('=');
    if (eq != std::string::npos) out.emplace_back(item.substr(0, eq), std::strtod(item.c_str() + eq + 1, nullptr));
    i = end + 1;
  }
  return out;
}

void loss_forward_backward(LossKind kind, const LossParams& p, const float* y_true, std::int64_t y_true_cols,
                           const float* y_pred, std::int64_t n, std::int64_t k, const float* sample_weight,
                           float grad_scale, float* per_sample, float* grad) {
  check_args(kind, y_true_cols, n, k, y_true, y_pred, per_sample);
  if (n == 0) return;
  if (kLossInfo[static_cast<int>(kind)].labels == LossLabels::sparse) check_sparse_labels(y_true, n, k);
  const VlossParams kp = to_kernel_params(kind, p, y_true, n * y_true_cols);
  run_rows(kind, kernels().vloss.loss[static_cast<int>(kind)], kp, y_true, y_true_cols, y_pred, n, k, sample_weight,
           grad_scale, per_sample, grad);
}

bool loss_fuses_with(LossKind kind, const LossParams& p, ActKind act) {
  if (p.from_logits) return false;
  if (act == ActKind::softmax)
    return kind == LossKind::categorical_crossentropy || kind == LossKind::sparse_categorical_crossentropy;
  if (act == ActKind::sigmoid) return kind == LossKind::binary_crossentropy;
  return false;
}

// Values: Keras's clipped-probability path on y_pred (the activation's output), exactly
// as loss_forward_backward. Gradient: of the UNCLIPPED loss with respect to the logits,
// (q sum(y) - y) for softmax + categorical CE, (q - onehot) for sparse, (q - y)/k for
// sigmoid + binary CE (label smoothing applied to y), times w_i * grad_scale. It equals
// the gradient of the clipped formula wherever no probability was clipped, and stays
// informative where the clipped formula's gradient would be exactly 0.
void loss_forward_backward_fused(LossKind kind, const LossParams& p, ActKind act, const float* y_true,
                                 std::int64_t y_true_cols, const float* y_pred, std::int64_t n, std::int64_t k,
                                 const float* sample_weight, float grad_scale, float* per_sample,
                                 float* grad_logits) {
  if (!loss_fuses_with(kind, p, act))
    throw std::invalid_argument(std::string("loss_forward_backward_fused: ") + loss_name(kind) +
                                " does not fuse with activation " + std::to_string(static_cast<int>(act)) +
                                " (see loss_fuses_with)");
  check_args(kind, y_true_cols, n, k, y_true, y_pred, per_sample);
  if (n == 0) return;
  if (kLossInfo[static_cast<int>(kind)].labels == LossLabels::sparse) check_sparse_labels(y_true, n, k);
  const VlossParams kp = to_kernel_params(kind, p, y_true, 0);
  const VlossKernels& kt = kernels().vloss;
  const VlossFn fn = kind == LossKind::binary_crossentropy       ? kt.fused[kVfusedSigmoidBce]
                     : kind == LossKind::categorical_crossentropy ? kt.fused[kVfusedSoftmaxCce]
                                                                  : kt.fused[kVfusedSoftmaxScce];
  run_rows(kind, fn, kp, y_true, y_true_cols, y_pred, n, k, sample_weight, grad_scale, per_sample, grad_logits);
}

}  // namespace ranvier
