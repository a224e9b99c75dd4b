// metrics/: what the metric families share (private to cpp/src/metrics/): Keras's fuzz
// factors, the shape checks, row helpers, the threshold sweep, per-column state, and one
// factory per family (make_<family>_metric, named by the family column of metrics.def).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "runtime/alloc.h"

namespace ranvier {
namespace metrics_detail {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon() ("fuzz factor")
// The same fuzz factor as Keras applies it, to float32 tensors: clipping probabilities to
// [eps, 1 - eps] in float32 keeps 1 - eps = 0.99999988 (Keras 3).
constexpr double kEpsF = static_cast<double>(1e-7f);
constexpr double kOneMinusEpsF = static_cast<double>(1.0f - 1e-7f);

inline double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
// max(v, 0) that keeps a NaN (as NumPy's/Keras's maximum; std::fmax would drop it).
inline double relu_nan(double v) { return std::isnan(v) || v > 0.0 ? v : 0.0; }

inline bool is_sparse(MetricKind kind) {
  return kind == MetricKind::sparse_categorical_accuracy ||
         kind == MetricKind::sparse_top_k_categorical_accuracy ||
         kind == MetricKind::sparse_categorical_crossentropy;
}

inline std::string kind_str(MetricKind kind) { return metric_kind_name(kind); }

// The highest of T evenly spaced thresholds {j / (T-1)} (or, with_epsilon, AUC's
// {-eps, 1/(T-1), ..., 1+eps}) that v exceeds, computed as Keras does: v clipped to [0, 1],
// ceil(v * (T-1)) - 1 in float32. Returns -1 when v exceeds none (only without epsilon,
// where v = 0 exceeds nothing). The float32 product is converted to an index only after
// clamping to [-1, T-1] (for huge T it can round past the last bucket). NaN: bucket 0 with
// epsilon (XLA converts NaN to integer 0), none without.
inline std::int64_t even_bucket(float v, std::int64_t T, bool with_epsilon) {
  if (std::isnan(v)) return with_epsilon ? 0 : -1;
  v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  const float c = std::ceil(v * static_cast<float>(T - 1)) - 1.0f;  // float32 product, as Keras
  const float last = static_cast<float>(T - 1);
  if (c >= last) return T - 1;
  if (c <= 0.0f) return c < 0.0f && !with_epsilon ? -1 : 0;
  return std::min<std::int64_t>(static_cast<std::int64_t>(c), T - 1);
}

inline void check_shapes(MetricKind kind, std::int64_t y_true_cols, std::int64_t n, std::int64_t k) {
  if (n < 0 || k < 1)
    throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": y_pred must be n x k with k >= 1, got " +
                                std::to_string(n) + " x " + std::to_string(k));
  if (is_sparse(kind)) {
    if (y_true_cols != 1)
      throw std::invalid_argument(std::string(metric_kind_name(kind)) +
                                  ": y_true must hold one integer label per sample (1 column), got " +
                                  std::to_string(y_true_cols) + " columns");
  } else if (y_true_cols != k && y_true_cols != 1) {
    throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": y_true has " +
                                std::to_string(y_true_cols) + " columns but y_pred has " +
                                std::to_string(k) + " (they must match, or y_true must have 1)");
  }
}

// Index of the first maximum; NaN counts as the maximum (NumPy/JAX argmax).
inline std::int64_t argmax_row(const float* row, std::int64_t k) {
  std::int64_t best = 0;
  float bv = row[0];
  if (std::isnan(bv)) return 0;
  for (std::int64_t j = 1; j < k; ++j) {
    float v = row[j];
    if (std::isnan(v)) return j;
    if (v > bv) {
      bv = v;
      best = j;
    }
  }
  return best;
}

// Keras in_top_k: the target is in the top k when fewer than k predictions are strictly
// greater than the target's (ties count in its favour; a NaN target score counts as -inf).
inline bool in_top_k(const float* row, std::int64_t k, std::int64_t target, int top) {
  if (target < 0 || target >= k) return false;
  float t = row[target];
  if (std::isnan(t)) t = -std::numeric_limits<float>::infinity();
  std::int64_t greater = 0;
  for (std::int64_t j = 0; j < k; ++j)
    if (row[j] > t) ++greater;
  return greater < top;
}

// Confusion counts from per-bucket label weights over evenly spaced thresholds: pos[b]/neg[b]
// hold the weight of positive/negative labels whose prediction exceeds thresholds 0..b
// exactly; tp[i] = sum of pos[b] for b >= i, and so on. `total_pos`/`total_neg` include the
// labels that exceed no threshold.
struct Sweep {
  // Calls f(i, tp, fp, tn, fn) for thresholds i = T-1 down to 0.
  template <class F>
  static void run(const double* pos, const double* neg, std::int64_t T, double total_pos, double total_neg, F f) {
    double tp = 0.0, fp = 0.0;
    for (std::int64_t i = T; i-- > 0;) {
      tp += pos[i];
      fp += neg[i];
      f(i, tp, fp, total_neg - fp, total_pos - tp);
    }
  }
};

inline double div_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

// The column range a class_id selects (all columns when class_id < 0), checked against k.
inline void class_columns(MetricKind kind, int class_id, std::int64_t k, std::int64_t& j0, std::int64_t& j1) {
  if (class_id >= k)
    throw std::invalid_argument(kind_str(kind) + ": class_id=" + std::to_string(class_id) + " but y_pred has only " +
                                std::to_string(k) + " columns");
  j0 = class_id >= 0 ? class_id : 0;
  j1 = class_id >= 0 ? class_id + 1 : k;
}

// Per-column state sized for k columns: on the first prepare()/update(); later calls must
// agree (Keras builds these variables once, from the first batch's shape).
class PerColumn {
 protected:
  void size_columns(MetricKind kind, std::int64_t k, std::size_t per_column, std::vector<double>& state) {
    if (cols_ == 0) {
      checked_assign(state, static_cast<std::uint64_t>(k) * per_column, 0.0, "the metric's per-column state");
      cols_ = k;
    } else if (k != cols_) {
      throw std::invalid_argument(kind_str(kind) + ": y_pred has " + std::to_string(k) +
                                  " columns, but this metric was built for " + std::to_string(cols_) +
                                  " (Keras builds its state from the first batch)");
    }
  }
  std::int64_t cols_ = 0;
};

// One factory per family: checks the kind's parameters (std::invalid_argument naming the
// parameter) and builds the metric.
#define RANVIER_METRIC_FAMILY_FACTORY(family) \
  std::unique_ptr<Metric> make_##family##_metric(MetricKind kind, const MetricParams& p);
RANVIER_METRIC_FAMILY_FACTORY(mean)
RANVIER_METRIC_FAMILY_FACTORY(threshold)
RANVIER_METRIC_FAMILY_FACTORY(count)
RANVIER_METRIC_FAMILY_FACTORY(operating_point)
RANVIER_METRIC_FAMILY_FACTORY(auc)
RANVIER_METRIC_FAMILY_FACTORY(r2)
RANVIER_METRIC_FAMILY_FACTORY(fbeta)
#undef RANVIER_METRIC_FAMILY_FACTORY

}  // namespace metrics_detail
}  // namespace ranvier
