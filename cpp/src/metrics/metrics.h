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

struct MetricParams {
  float threshold = 0.5f;     // binary_accuracy, precision, recall
  int k = 5;                  // top-k
  int num_thresholds = 200;   // auc
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

}  // namespace ranvier
