// Metrics computed in C++ inside the epoch: running state, updated per batch.
// Keras semantics: ../shared/keras-spec.md section 6 (weighted metrics divide by sum(w)).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace ranvier {

enum class MetricKind : int {
  binary_accuracy = 0, categorical_accuracy, sparse_categorical_accuracy,
  top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
  mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
  root_mean_squared_error, auc, precision, recall, accuracy,
};

// The largest AUC num_thresholds: 2**24 (two double buckets each: 256 MiB). Above 2**24 + 1
// the float32 bucket index Keras computes can round past the last bucket.
constexpr int kMaxAucThresholds = 1 << 24;

struct MetricParams {
  float threshold = 0.5f;     // binary_accuracy, precision, recall
  int k = 5;                  // top-k
  int num_thresholds = 200;   // auc: 2 ..= kMaxAucThresholds
  // Added by the metrics area (defaults are Keras's):
  int curve = 0;              // auc: 0 = "ROC", 1 = "PR"
  int summation_method = 0;   // auc: 0 = "interpolation", 1 = "minoring", 2 = "majoring"
  bool from_logits = false;   // auc: sigmoid applied to y_pred first
  int class_id = -1;          // precision, recall: -1 = all columns, else that column only
  int top_k = 0;              // precision, recall: 0 = unset, else only each row's top_k
                              //   predictions can be positive (ties -> lower index first)
};

class Metric {
 public:
  virtual ~Metric() = default;
  virtual void reset() = 0;
  // y_pred: n x k; y_true: n x y_true_cols (labels as floats for sparse kinds);
  // sample_weight nullable.
  virtual void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred,
                      std::int64_t n, std::int64_t k, const float* sample_weight) = 0;
  virtual double result() const = 0;
  // State as doubles (to merge across ranks or save); set_state restores it.
  virtual std::vector<double> state() const = 0;
  virtual void set_state(const std::vector<double>& s) = 0;
};

// Throws std::invalid_argument for an unknown kind or bad params.
std::unique_ptr<Metric> make_metric(MetricKind kind, const MetricParams& p);

// --- added by the metrics area ---
// Semantics of update() for each kind (../shared/keras-spec.md 6.3):
// - y_true_cols must be k, or 1 (broadcast over the row, as NumPy would), except for the
//   sparse kinds where it must be 1 (integer labels stored as floats).
// - per-sample value v_i, weight w_i (1 when sample_weight is null);
//   mean kinds: total += sum w_i v_i, count += sum w_i, result = total / count (0 if count
//   is 0; root_mean_squared_error returns sqrt of it).
// - auc/precision/recall: every element of row i carries weight w_i (Keras's flattening).
// State: a fixed-length vector of sums (mean kinds: {total, count}; precision/recall:
// {tp, fp, tn, fn}; auc: per-bucket positive weights then negative weights, 2 *
// num_thresholds values). Merging across processes is elementwise addition of state().
// update() allocates nothing (buffers are sized in the constructor). Throws
// std::invalid_argument for y_true_cols incompatible with the kind.
const char* metric_kind_name(MetricKind kind);  // "binary_accuracy", ..., "accuracy"
// Keras's optimization direction: true for "up" (accuracies, auc, precision, recall).
bool metric_higher_is_better(MetricKind kind);

}  // namespace ranvier
