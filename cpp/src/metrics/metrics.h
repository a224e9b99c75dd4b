// Metrics computed in C++ inside the epoch: running state, updated per batch.
// Keras 3 semantics (keras/src/metrics/): weighted metrics divide by sum(w).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace ranvier {

// The kinds, in the order of metrics/metrics.def (the one list of metrics).
enum class MetricKind : int {
#define RANVIER_METRIC(name, direction, family) name,
#include "metrics/metrics.def"
};

// The largest AUC num_thresholds: 2**24 (two double buckets each: 256 MiB). Above 2**24 + 1
// the float32 bucket index Keras computes can round past the last bucket. The *_at_* kinds
// have the same bound.
constexpr int kMaxAucThresholds = 1 << 24;

struct MetricParams {
  float threshold = 0.5f;     // binary_accuracy, precision, recall
  int k = 5;                  // top-k
  int num_thresholds = 200;   // auc: 2 ..= kMaxAucThresholds; the four *_at_* kinds: 1 ..= it
  // (defaults are Keras's)
  int curve = 0;              // auc: 0 = "ROC", 1 = "PR"
  int summation_method = 0;   // auc: 0 = "interpolation", 1 = "minoring", 2 = "majoring"
  bool from_logits = false;   // auc (sigmoid first), the cross-entropies
  int class_id = -1;          // precision, recall, *_at_*: -1 = all columns, else that column only
  int top_k = 0;              // precision, recall: 0 = unset, else only each row's top_k
                              //   predictions can be positive (ties -> lower index first)
  // confusion counts: thresholds (any order, each in [0, 1]); empty = {threshold}
  std::vector<float> thresholds;
  float label_smoothing = 0.0f;  // binary/categorical cross-entropy
  bool has_ignore_class = false;  // sparse_categorical_crossentropy: rows whose label is
  int ignore_class = 0;           //   ignore_class count with weight 0
  double value = 0.0;            // *_at_*: the target rate in [0, 1] (a double: a rate equal to
                                 //   it, e.g. 3/5 against 0.6, must compare equal)
  float beta = 1.0f;             // fbeta_score
  int average = 0;               // fbeta_score: 0 = None (per class), 1 = micro, 2 = macro, 3 = weighted
  // fbeta_score: threshold <= 0 means "1 at each row's maximum" (Keras's threshold=None)
  int class_aggregation = 1;     // r2_score: 0 = None (per column), 1 = uniform, 2 = variance weighted
  int num_regressors = 0;        // r2_score: adjusted R2 when > 0
  bool multi_label = false;      // auc: one curve per column, then averaged
  int num_labels = 0;            // auc with multi_label: the columns (0 = from the first batch)
  std::vector<float> label_weights;  // auc: per-column weights (empty = none)
};

class Metric {
 public:
  virtual ~Metric() = default;
  virtual void reset() = 0;
  // y_pred: n x k; y_true: n x y_true_cols (labels as floats for sparse kinds);
  // sample_weight nullable.
  virtual void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred,
                      std::int64_t n, std::int64_t k, const float* sample_weight) = 0;
  // The scalar result (vector kinds: their first value; see result_values).
  virtual double result() const = 0;
  // Every value of the result: one for most kinds; one per threshold (confusion counts
  // with several thresholds), per class (fbeta_score average=None), per column (r2_score
  // class_aggregation=None).
  virtual std::vector<double> result_values() const { return {result()}; }
  // Sizes per-column state for predictions of k columns ahead of the first update (the
  // trainer calls it, so that no update allocates). Kinds without such state ignore it;
  // kinds with it throw std::invalid_argument when k differs from the columns already seen.
  virtual void prepare(std::int64_t k) { (void)k; }
  // State as doubles (to merge across ranks or save); set_state restores it.
  virtual std::vector<double> state() const = 0;
  virtual void set_state(const std::vector<double>& s) = 0;
};

// Throws std::invalid_argument for an unknown kind or bad params.
std::unique_ptr<Metric> make_metric(MetricKind kind, const MetricParams& p);

// Semantics of update() for each kind (as Keras 3's metrics):
// - y_true_cols must be k, or 1 (broadcast over the row, as NumPy would), except for the
//   sparse kinds where it must be 1 (integer labels stored as floats).
// - per-sample value v_i, weight w_i (1 when sample_weight is null);
//   mean kinds: total += sum w_i v_i, count += sum w_i, result = total / count (0 if count
//   is 0; root_mean_squared_error returns sqrt of it).
// - auc/precision/recall: every element of row i carries weight w_i (Keras's flattening).
// - the mean-of-loss kinds (binary/categorical/sparse_categorical_crossentropy,
//   kl_divergence, poisson, hinge, squared_hinge, categorical_hinge, log_cosh_error,
//   cosine_similarity) average Keras's per-sample loss (cosine_similarity: +cos); hinge
//   kinds map 0/1 labels to -1/+1 when every label of the batch is 0 or 1.
// - true/false_positives/negatives: every element counts, weighted by its row's weight.
// State: a vector of sums; merging across processes is elementwise addition of state().
//   mean kinds: {total, count}; precision/recall: {tp, fp, tn, fn}; counts: one per
//   threshold; auc: per curve (1, or one per column with multi_label), per-bucket positive
//   weights then negative weights (2 * num_thresholds); *_at_*: per-bucket positive, then
//   negative weights, then the total positive and negative weight (2 * num_thresholds + 2);
//   r2_score: {num_samples, then per column sum, squared_sum, residual, count};
//   fbeta_score: per class {tp, fp, fn, support}.
// update() allocates nothing once per-column state is sized (prepare(), or the first
// update). Throws std::invalid_argument for y_true_cols incompatible with the kind.
const char* metric_kind_name(MetricKind kind);  // "binary_accuracy", ..., "fbeta_score"
// Keras's optimization direction: +1 "up", -1 "down", 0 none (metrics.def).
int metric_direction(MetricKind kind);
bool metric_higher_is_better(MetricKind kind);  // metric_direction(kind) > 0
// Every kind, in metrics.def order.
const std::vector<MetricKind>& all_metric_kinds();

}  // namespace ranvier
