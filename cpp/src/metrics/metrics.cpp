// Metrics with Keras 3 semantics (keras/src/metrics/), accumulated in
// doubles. Families:
//  - MeanMetric: one value per sample (the accuracies, the errors and the mean-of-loss
//    kinds: cross-entropies, hinges, KL divergence, Poisson, log-cosh, cosine similarity),
//    running weighted mean.
//  - ThresholdMetric (precision, recall) and CountMetric (true/false positives/negatives):
//    weighted confusion counts at given thresholds.
//  - AucMetric and OperatingPointMetric (the four *_at_* kinds): per-bucket label weights
//    over Keras's evenly spaced thresholds.
//  - R2Metric and FBetaMetric: per-column sums.
// Per-batch work is a plain loop over n x k floats; nothing is allocated in update() (per-
// column state is sized by prepare() or, standalone, by the first update).
#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include "runtime/alloc.h"

namespace ranvier {

namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon() ("fuzz factor")
// The same fuzz factor as Keras applies it, to float32 tensors: clipping probabilities to
// [eps, 1 - eps] in float32 keeps 1 - eps = 0.99999988 (Keras 3).
constexpr double kEpsF = static_cast<double>(1e-7f);
constexpr double kOneMinusEpsF = static_cast<double>(1.0f - 1e-7f);

double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
// max(v, 0) that keeps a NaN (as NumPy's/Keras's maximum; std::fmax would drop it).
double relu_nan(double v) { return std::isnan(v) || v > 0.0 ? v : 0.0; }

bool is_sparse(MetricKind kind) {
  return kind == MetricKind::sparse_categorical_accuracy ||
         kind == MetricKind::sparse_top_k_categorical_accuracy ||
         kind == MetricKind::sparse_categorical_crossentropy;
}

std::string kind_str(MetricKind kind) { return metric_kind_name(kind); }

// The highest of T evenly spaced thresholds {j / (T-1)} (or, with_epsilon, AUC's
// {-eps, 1/(T-1), ..., 1+eps}) that v exceeds, computed as Keras does: v clipped to [0, 1],
// ceil(v * (T-1)) - 1 in float32. Returns -1 when v exceeds none (only without epsilon,
// where v = 0 exceeds nothing). The float32 product is converted to an index only after
// clamping to [-1, T-1] (for huge T it can round past the last bucket). NaN: bucket 0 with
// epsilon (XLA converts NaN to integer 0), none without.
std::int64_t even_bucket(float v, std::int64_t T, bool with_epsilon) {
  if (std::isnan(v)) return with_epsilon ? 0 : -1;
  v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  const float c = std::ceil(v * static_cast<float>(T - 1)) - 1.0f;  // float32 product, as Keras
  const float last = static_cast<float>(T - 1);
  if (c >= last) return T - 1;
  if (c <= 0.0f) return c < 0.0f && !with_epsilon ? -1 : 0;
  return std::min<std::int64_t>(static_cast<std::int64_t>(c), T - 1);
}

void check_shapes(MetricKind kind, std::int64_t y_true_cols, std::int64_t n, std::int64_t k) {
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
std::int64_t argmax_row(const float* row, std::int64_t k) {
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
bool in_top_k(const float* row, std::int64_t k, std::int64_t target, int top) {
  if (target < 0 || target >= k) return false;
  float t = row[target];
  if (std::isnan(t)) t = -std::numeric_limits<float>::infinity();
  std::int64_t greater = 0;
  for (std::int64_t j = 0; j < k; ++j)
    if (row[j] > t) ++greater;
  return greater < top;
}

class MeanMetric final : public Metric {
 public:
  MeanMetric(MetricKind kind, const MetricParams& p) : kind_(kind), p_(p) {}

  void reset() override { total_ = count_ = 0.0; }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(kind_, y_true_cols, n, k);
    if (kind_ == MetricKind::sparse_categorical_crossentropy) check_labels(y_true, n, k);
    // Keras's hinge metrics map labels to -1/+1 when every label of the batch is 0 or 1.
    hinge_convert_ = false;
    if (kind_ == MetricKind::hinge || kind_ == MetricKind::squared_hinge) {
      hinge_convert_ = true;
      for (std::int64_t i = 0; i < n * y_true_cols && hinge_convert_; ++i)
        hinge_convert_ = y_true[i] == 0.0f || y_true[i] == 1.0f;
    }
    const bool ignoring = kind_ == MetricKind::sparse_categorical_crossentropy && p_.has_ignore_class;
    double total = 0.0, count = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yt = y_true + i * y_true_cols;
      const float* yp = y_pred + i * k;
      // sparse_categorical_crossentropy(ignore_class=c): those rows' loss is 0, and Keras
      // (3.15) masks them out of the mean only when there are sample weights (the mask
      // multiplies the weights); unweighted, they count as zeros.
      if (ignoring && static_cast<double>(yt[0]) == static_cast<double>(p_.ignore_class)) {
        if (!sample_weight) count += 1.0;
        continue;
      }
      const double v = per_sample(yt, y_true_cols, yp, k);
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      total += w * v;
      count += w;
    }
    total_ += total;
    count_ += count;
  }

  double result() const override {
    double r = count_ == 0.0 ? 0.0 : total_ / count_;
    if (kind_ == MetricKind::root_mean_squared_error) r = std::sqrt(r);
    return r;
  }

  std::vector<double> state() const override { return {total_, count_}; }

  void set_state(const std::vector<double>& s) override {
    if (s.size() != 2)
      throw std::invalid_argument(std::string(metric_kind_name(kind_)) + ": set_state expects 2 values (total, count), got " +
                                  std::to_string(s.size()));
    total_ = s[0];
    count_ = s[1];
  }

 private:
  double per_sample(const float* yt, std::int64_t ytc, const float* yp, std::int64_t k) const {
    // y_true element j of this row (broadcast when y_true has one column).
    auto y = [&](std::int64_t j) { return yt[ytc == 1 ? 0 : j]; };
    double acc = 0.0;
    switch (kind_) {
      case MetricKind::accuracy:
        for (std::int64_t j = 0; j < k; ++j) acc += (y(j) == yp[j]) ? 1.0 : 0.0;
        return acc / static_cast<double>(k);
      case MetricKind::binary_accuracy:
        for (std::int64_t j = 0; j < k; ++j) {
          const float pred = yp[j] > p_.threshold ? 1.0f : 0.0f;
          acc += (y(j) == pred) ? 1.0 : 0.0;
        }
        return acc / static_cast<double>(k);
      case MetricKind::categorical_accuracy:
        return argmax_row(yt, ytc) == argmax_row(yp, k) ? 1.0 : 0.0;
      case MetricKind::sparse_categorical_accuracy:
        return static_cast<float>(argmax_row(yp, k)) == yt[0] ? 1.0 : 0.0;
      case MetricKind::top_k_categorical_accuracy:
        return in_top_k(yp, k, argmax_row(yt, ytc), p_.k) ? 1.0 : 0.0;
      case MetricKind::sparse_top_k_categorical_accuracy: {
        const float label = yt[0];
        // Keras casts the label to int32 (truncation); NaN/out-of-range never match.
        if (!(label > -1.0f && label < static_cast<float>(k))) return 0.0;
        return in_top_k(yp, k, static_cast<std::int64_t>(label), p_.k) ? 1.0 : 0.0;
      }
      case MetricKind::mean_squared_error:
      case MetricKind::root_mean_squared_error:
        for (std::int64_t j = 0; j < k; ++j) {
          const double d = static_cast<double>(yp[j]) - static_cast<double>(y(j));
          acc += d * d;
        }
        return acc / static_cast<double>(k);
      case MetricKind::mean_absolute_error:
        for (std::int64_t j = 0; j < k; ++j)
          acc += std::fabs(static_cast<double>(yp[j]) - static_cast<double>(y(j)));
        return acc / static_cast<double>(k);
      case MetricKind::mean_absolute_percentage_error:
        for (std::int64_t j = 0; j < k; ++j) {
          const double t = y(j);
          acc += std::fabs((t - static_cast<double>(yp[j])) / std::fmax(std::fabs(t), kEpsilon));
        }
        return 100.0 * acc / static_cast<double>(k);
      case MetricKind::mean_squared_logarithmic_error:
        for (std::int64_t j = 0; j < k; ++j) {
          const double a = std::log(std::fmax(static_cast<double>(yp[j]), kEpsilon) + 1.0);
          const double b = std::log(std::fmax(static_cast<double>(y(j)), kEpsilon) + 1.0);
          acc += (a - b) * (a - b);
        }
        return acc / static_cast<double>(k);
      case MetricKind::binary_crossentropy: {
        const double ls = p_.label_smoothing;
        for (std::int64_t j = 0; j < k; ++j) {
          const double t = static_cast<double>(y(j)) * (1.0 - ls) + 0.5 * ls;
          const double z = yp[j];
          if (p_.from_logits) {
            acc += std::fmax(z, 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
          } else {
            const double q = clip(z, kEpsF, kOneMinusEpsF);
            acc -= t * std::log(q) + (1.0 - t) * std::log(1.0 - q);
          }
        }
        return acc / static_cast<double>(k);
      }
      case MetricKind::categorical_crossentropy: {
        const double ls = p_.label_smoothing;
        auto t = [&](std::int64_t j) {
          return static_cast<double>(y(j)) * (1.0 - ls) + ls / static_cast<double>(k);
        };
        if (p_.from_logits) {
          const double lse = log_sum_exp(yp, k);
          for (std::int64_t j = 0; j < k; ++j) acc -= t(j) * (static_cast<double>(yp[j]) - lse);
        } else {
          double sum = 0.0;
          for (std::int64_t j = 0; j < k; ++j) sum += yp[j];
          for (std::int64_t j = 0; j < k; ++j)
            acc -= t(j) * std::log(clip(static_cast<double>(yp[j]) / sum, kEpsF, kOneMinusEpsF));
        }
        return acc;
      }
      case MetricKind::sparse_categorical_crossentropy: {
        const std::int64_t label = static_cast<std::int64_t>(yt[0]);  // checked: 0 <= label < k
        if (p_.from_logits) return log_sum_exp(yp, k) - static_cast<double>(yp[label]);
        double sum = 0.0;
        for (std::int64_t j = 0; j < k; ++j) sum += yp[j];
        return -std::log(clip(static_cast<double>(yp[label]) / sum, kEpsF, kOneMinusEpsF));
      }
      case MetricKind::kl_divergence:  // a sum over the row, not a mean
        for (std::int64_t j = 0; j < k; ++j) {
          const double t = clip(y(j), kEpsF, 1.0);
          acc += t * std::log(t / clip(yp[j], kEpsF, 1.0));
        }
        return acc;
      case MetricKind::poisson:
        for (std::int64_t j = 0; j < k; ++j)
          acc += static_cast<double>(yp[j]) - static_cast<double>(y(j)) * std::log(static_cast<double>(yp[j]) + kEpsF);
        return acc / static_cast<double>(k);
      case MetricKind::hinge:
      case MetricKind::squared_hinge:
        for (std::int64_t j = 0; j < k; ++j) {
          const double t = hinge_convert_ ? 2.0 * y(j) - 1.0 : static_cast<double>(y(j));
          const double h = relu_nan(1.0 - t * static_cast<double>(yp[j]));
          acc += kind_ == MetricKind::hinge ? h : h * h;
        }
        return acc / static_cast<double>(k);
      case MetricKind::categorical_hinge: {
        double pos = 0.0, neg = -std::numeric_limits<double>::infinity();
        for (std::int64_t j = 0; j < k; ++j) {
          pos += static_cast<double>(y(j)) * yp[j];
          const double v = (1.0 - static_cast<double>(y(j))) * yp[j];
          if (std::isnan(v) || v > neg) neg = v;  // a NaN stays (NumPy's maximum)
        }
        return relu_nan(neg - pos + 1.0);
      }
      case MetricKind::log_cosh_error:  // log(cosh(d)) = d + softplus(-2d) - log(2), stably
        for (std::int64_t j = 0; j < k; ++j) {
          const double d = static_cast<double>(yp[j]) - static_cast<double>(y(j));
          const double x = -2.0 * d;
          acc += d + (std::fmax(x, 0.0) + std::log1p(std::exp(-std::fabs(x)))) - std::log(2.0);
        }
        return acc / static_cast<double>(k);
      case MetricKind::cosine_similarity: {  // +cos: sum of the normalized rows' products
        double yy = 0.0, pp = 0.0, yp_dot = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
          const double a = y(j), b = yp[j];
          yy += a * a;
          pp += b * b;
          yp_dot += a * b;
        }
        // Keras's l2 normalize: x * min(1/|x|, 1/eps), i.e. x / max(|x|, eps)
        return yp_dot / (std::fmax(std::sqrt(yy), kEpsF) * std::fmax(std::sqrt(pp), kEpsF));
      }
      default:
        return 0.0;  // unreachable: make_metric only builds mean kinds here
    }
  }

  static double log_sum_exp(const float* z, std::int64_t k) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j < k; ++j) m = std::fmax(m, static_cast<double>(z[j]));
    double s = 0.0;
    for (std::int64_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(z[j]) - m);
    return m + std::log(s);
  }

  // Keras casts labels to int; ranvier refuses labels outside [0, k) (naming the row)
  // rather than give them an arbitrary loss. ignore_class rows are exempt.
  void check_labels(const float* y_true, std::int64_t n, std::int64_t k) const {
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = y_true[i];
      if (p_.has_ignore_class && static_cast<double>(v) == static_cast<double>(p_.ignore_class)) continue;
      if (!(v > -1.0f && v < static_cast<float>(k)))
        throw std::invalid_argument("sparse_categorical_crossentropy: label " + std::to_string(v) + " (row " +
                                    std::to_string(i) + ") is out of range for " + std::to_string(k) +
                                    " classes; valid labels are integers 0.." + std::to_string(k - 1));
    }
  }

  MetricKind kind_;
  MetricParams p_;
  double total_ = 0.0, count_ = 0.0;
  bool hinge_convert_ = false;  // this batch's hinge label mapping
};

// precision / recall: weighted {tp, fp, tn, fn} at each threshold (one, or the list in
// p.thresholds, in the given order), elements flattened. State: {tp, fp, tn, fn} per threshold.
class ThresholdMetric final : public Metric {
 public:
  ThresholdMetric(MetricKind kind, const MetricParams& p)
      : kind_(kind), p_(p), thresholds_(p.thresholds.empty() ? std::vector<float>{p.threshold} : p.thresholds),
        c_(4 * thresholds_.size(), 0.0) {
    // The top_k buffers hold min(top_k, columns) entries: sized here for up to 64 columns
    // and grown (once, checked) in update() for wider data, never top_k itself (a huge
    // top_k asked for gigabytes).
    const std::uint64_t n = p.top_k > 0 ? std::min<std::uint64_t>(static_cast<std::uint64_t>(p.top_k), 64) : 0;
    checked_assign(top_idx_, n, std::int64_t{0}, "the top_k indices of precision/recall");
    checked_assign(top_val_, n, 0.0f, "the top_k values of precision/recall");
  }

  void reset() override { std::fill(c_.begin(), c_.end(), 0.0); }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(kind_, y_true_cols, n, k);
    if (p_.class_id >= k)
      throw std::invalid_argument(std::string(metric_kind_name(kind_)) + ": class_id=" +
                                  std::to_string(p_.class_id) + " but y_pred has only " +
                                  std::to_string(k) + " columns");
    if (p_.top_k > 0) {
      const std::uint64_t need = std::min<std::uint64_t>(static_cast<std::uint64_t>(p_.top_k), static_cast<std::uint64_t>(k));
      if (top_idx_.size() < need) {
        checked_assign(top_idx_, need, std::int64_t{0}, "the top_k indices of precision/recall");
        checked_assign(top_val_, need, 0.0f, "the top_k values of precision/recall");
      }
    }
    const std::int64_t j0 = p_.class_id >= 0 ? p_.class_id : 0;
    const std::int64_t j1 = p_.class_id >= 0 ? p_.class_id + 1 : k;
    const std::size_t T = thresholds_.size();
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yt = y_true + i * y_true_cols;
      const float* yp = y_pred + i * k;
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      const std::size_t kept = p_.top_k > 0 ? select_top(yp, k) : 0;
      for (std::int64_t j = j0; j < j1; ++j) {
        const bool label = yt[y_true_cols == 1 ? 0 : j] != 0.0f;  // cast to bool
        const bool in_top = p_.top_k <= 0 || is_kept(j, kept);
        for (std::size_t t = 0; t < T; ++t) {
          const bool pred = in_top && yp[j] > thresholds_[t];
          // {tp, fp, tn, fn} of threshold t
          c_[4 * t + (label ? (pred ? 0 : 3) : (pred ? 1 : 2))] += w;
        }
      }
    }
  }

  std::vector<double> result_values() const override {
    std::vector<double> r(thresholds_.size());
    for (std::size_t t = 0; t < r.size(); ++t) {
      const double tp = c_[4 * t];
      const double den = kind_ == MetricKind::precision ? tp + c_[4 * t + 1] : tp + c_[4 * t + 3];
      r[t] = den == 0.0 ? 0.0 : tp / den;  // divide_no_nan
    }
    return r;
  }
  double result() const override { return result_values()[0]; }

  std::vector<double> state() const override { return c_; }

  void set_state(const std::vector<double>& s) override {
    if (s.size() != c_.size())
      throw std::invalid_argument(std::string(metric_kind_name(kind_)) + ": set_state expects " +
                                  std::to_string(c_.size()) + " values (tp, fp, tn, fn per threshold), got " +
                                  std::to_string(s.size()));
    c_ = s;
  }

 private:
  // Keeps the row's top_k (value, index) pairs, largest first; equal values keep the lower
  // index first (ops.top_k's order). NaN never enters. Returns how many were kept.
  std::size_t select_top(const float* row, std::int64_t k) {
    const std::size_t cap = top_idx_.size();
    std::size_t m = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      const float v = row[j];
      if (std::isnan(v)) continue;
      if (m == cap && !(v > top_val_[m - 1])) continue;
      std::size_t pos = m < cap ? m : cap - 1;
      while (pos > 0 && v > top_val_[pos - 1]) {
        top_val_[pos] = top_val_[pos - 1];
        top_idx_[pos] = top_idx_[pos - 1];
        --pos;
      }
      top_val_[pos] = v;
      top_idx_[pos] = j;
      if (m < cap) ++m;
    }
    return m;
  }
  bool is_kept(std::int64_t j, std::size_t kept) const {
    for (std::size_t t = 0; t < kept; ++t)
      if (top_idx_[t] == j) return true;
    return false;
  }

  MetricKind kind_;
  MetricParams p_;
  std::vector<float> thresholds_;
  std::vector<double> c_;
  std::vector<std::int64_t> top_idx_;
  std::vector<float> top_val_;
};

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

double div_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

// The column range a class_id selects (all columns when class_id < 0), checked against k.
void class_columns(MetricKind kind, int class_id, std::int64_t k, std::int64_t& j0, std::int64_t& j1) {
  if (class_id >= k)
    throw std::invalid_argument(kind_str(kind) + ": class_id=" + std::to_string(class_id) + " but y_pred has only " +
                                std::to_string(k) + " columns");
  j0 = class_id >= 0 ? class_id : 0;
  j1 = class_id >= 0 ? class_id + 1 : k;
}

// true_positives / false_positives / true_negatives / false_negatives: weighted counts of
// the flattened elements at each threshold (prediction > threshold is positive, label != 0
// is positive). State: one count per threshold, in the given order.
class CountMetric final : public Metric {
 public:
  CountMetric(MetricKind kind, const MetricParams& p)
      : kind_(kind), thresholds_(p.thresholds.empty() ? std::vector<float>{p.threshold} : p.thresholds),
        acc_(thresholds_.size(), 0.0) {}

  void reset() override { std::fill(acc_.begin(), acc_.end(), 0.0); }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(kind_, y_true_cols, n, k);
    const bool want_label = kind_ == MetricKind::true_positives || kind_ == MetricKind::false_negatives;
    const bool want_pred = kind_ == MetricKind::true_positives || kind_ == MetricKind::false_positives;
    for (std::int64_t i = 0; i < n; ++i) {
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      for (std::int64_t j = 0; j < k; ++j) {
        const bool label = y_true[i * y_true_cols + (y_true_cols == 1 ? 0 : j)] != 0.0f;
        if (label != want_label) continue;
        const float v = y_pred[i * k + j];
        for (std::size_t t = 0; t < thresholds_.size(); ++t)
          if ((v > thresholds_[t]) == want_pred) acc_[t] += w;
      }
    }
  }

  double result() const override { return acc_[0]; }
  std::vector<double> result_values() const override { return acc_; }
  std::vector<double> state() const override { return acc_; }
  void set_state(const std::vector<double>& s) override {
    if (s.size() != acc_.size())
      throw std::invalid_argument(kind_str(kind_) + ": set_state expects " + std::to_string(acc_.size()) +
                                  " values (one per threshold), got " + std::to_string(s.size()));
    acc_ = s;
  }

 private:
  MetricKind kind_;
  std::vector<float> thresholds_;
  std::vector<double> acc_;
};

// precision_at_recall, recall_at_precision, sensitivity_at_specificity,
// specificity_at_sensitivity: Keras's SensitivitySpecificityBase. Thresholds {j/(T-1)}
// (no epsilon; {0.5} when T = 1); result = the largest dependent rate over the thresholds
// whose constrained rate is >= value, 0 if none. State: pos[T], neg[T], then the total
// positive and negative weight (2T + 2 values).
class OperatingPointMetric final : public Metric {
 public:
  OperatingPointMetric(MetricKind kind, const MetricParams& p)
      : kind_(kind), p_(p) {
    const auto T = static_cast<std::uint64_t>(p.num_thresholds);
    checked_assign(pos_, T, 0.0, "the threshold buckets (positives)");
    checked_assign(neg_, T, 0.0, "the threshold buckets (negatives)");
  }

  void reset() override {
    std::fill(pos_.begin(), pos_.end(), 0.0);
    std::fill(neg_.begin(), neg_.end(), 0.0);
    total_pos_ = total_neg_ = 0.0;
  }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(kind_, y_true_cols, n, k);
    std::int64_t j0, j1;
    class_columns(kind_, p_.class_id, k, j0, j1);
    const std::int64_t T = p_.num_thresholds;
    for (std::int64_t i = 0; i < n; ++i) {
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      for (std::int64_t j = j0; j < j1; ++j) {
        const bool label = y_true[i * y_true_cols + (y_true_cols == 1 ? 0 : j)] != 0.0f;
        const float v = y_pred[i * k + j];
        const std::int64_t b = T == 1 ? (v > 0.5f ? 0 : -1) : even_bucket(v, T, false);
        (label ? total_pos_ : total_neg_) += w;
        if (b >= 0) (label ? pos_ : neg_)[static_cast<std::size_t>(b)] += w;
      }
    }
  }

  double result() const override {
    double best = 0.0;
    const double target = p_.value;
    Sweep::run(pos_.data(), neg_.data(), p_.num_thresholds, total_pos_, total_neg_,
               [&](std::int64_t, double tp, double fp, double tn, double fn) {
                 const double recall = div_no_nan(tp, tp + fn);  // = sensitivity
                 const double precision = div_no_nan(tp, tp + fp);
                 const double specificity = div_no_nan(tn, tn + fp);
                 double constrained, dependent;
                 switch (kind_) {
                   case MetricKind::precision_at_recall: constrained = recall, dependent = precision; break;
                   case MetricKind::recall_at_precision: constrained = precision, dependent = recall; break;
                   case MetricKind::sensitivity_at_specificity: constrained = specificity, dependent = recall; break;
                   default: constrained = recall, dependent = specificity; break;  // specificity_at_sensitivity
                 }
                 if (constrained >= target && dependent > best) best = dependent;
               });
    return best;
  }

  std::vector<double> state() const override {
    std::vector<double> s(pos_);
    s.insert(s.end(), neg_.begin(), neg_.end());
    s.push_back(total_pos_);
    s.push_back(total_neg_);
    return s;
  }
  void set_state(const std::vector<double>& s) override {
    const std::size_t T = pos_.size();
    if (s.size() != 2 * T + 2)
      throw std::invalid_argument(kind_str(kind_) + ": set_state expects 2 * num_thresholds + 2 = " +
                                  std::to_string(2 * T + 2) + " values, got " + std::to_string(s.size()));
    std::copy(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(T), pos_.begin());
    std::copy(s.begin() + static_cast<std::ptrdiff_t>(T), s.begin() + static_cast<std::ptrdiff_t>(2 * T), neg_.begin());
    total_pos_ = s[2 * T];
    total_neg_ = s[2 * T + 1];
  }

 private:
  MetricKind kind_;
  MetricParams p_;
  std::vector<double> pos_, neg_;
  double total_pos_ = 0.0, total_neg_ = 0.0;
};

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

// r2_score: per column j, sums of w*y, w*y^2, w*(y-p)^2 and w; num_samples counts the
// elements of y_true (Keras 3.15). State: [num_samples, then per column: sum, squared_sum,
// residual, count].
class R2Metric final : public Metric, PerColumn {
 public:
  explicit R2Metric(const MetricParams& p) : p_(p) {}

  void prepare(std::int64_t k) override { size_columns(MetricKind::r2_score, k, 4, s_); }
  void reset() override {
    std::fill(s_.begin(), s_.end(), 0.0);
    num_samples_ = 0.0;
  }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(MetricKind::r2_score, y_true_cols, n, k);
    prepare(k);
    for (std::int64_t i = 0; i < n; ++i) {
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      for (std::int64_t j = 0; j < k; ++j) {
        const double y = y_true[i * y_true_cols + (y_true_cols == 1 ? 0 : j)];
        const double d = y - static_cast<double>(y_pred[i * k + j]);
        double* c = &s_[static_cast<std::size_t>(4 * j)];
        c[0] += w * y;
        c[1] += w * y * y;
        c[2] += w * d * d;
        c[3] += w;
      }
    }
    num_samples_ += static_cast<double>(n * k);
  }

  std::vector<double> raw_scores(std::vector<double>* totals) const {
    std::vector<double> r(static_cast<std::size_t>(cols_));
    if (totals) totals->resize(r.size());
    for (std::int64_t j = 0; j < cols_; ++j) {
      const double* c = &s_[static_cast<std::size_t>(4 * j)];
      const double mean = c[0] / c[3];
      const double total = c[1] - c[0] * mean;
      double v = 1.0 - c[2] / total;
      if (std::isinf(v)) v = 0.0;  // Keras: where(isinf(raw), 0, raw); NaN stays NaN
      r[static_cast<std::size_t>(j)] = v;
      if (totals) (*totals)[static_cast<std::size_t>(j)] = total;
    }
    return r;
  }

  std::vector<double> result_values() const override {
    if (cols_ == 0) return {p_.class_aggregation == 0 ? std::vector<double>{} : std::vector<double>{0.0}};
    std::vector<double> totals;
    std::vector<double> r = raw_scores(&totals);
    if (p_.class_aggregation == 1) {
      double m = 0.0;
      for (double v : r) m += v;
      r = {m / static_cast<double>(r.size())};
    } else if (p_.class_aggregation == 2) {
      double num = 0.0, den = 0.0;
      for (std::size_t j = 0; j < r.size(); ++j) {
        num += totals[j] * r[j];
        den += totals[j];
      }
      r = {num / den};
    }
    // Adjusted R2 (Keras falls back to plain R2, with a warning, when p >= n - 1).
    const double nreg = p_.num_regressors;
    if (nreg != 0.0 && nreg < num_samples_ - 1.0)
      for (double& v : r) v = 1.0 - (1.0 - v) * (num_samples_ - 1.0) / (num_samples_ - nreg - 1.0);
    return r;
  }
  double result() const override {
    const std::vector<double> r = result_values();
    return r.empty() ? 0.0 : r[0];
  }

  std::vector<double> state() const override {
    std::vector<double> s{num_samples_};
    s.insert(s.end(), s_.begin(), s_.end());
    return s;
  }
  void set_state(const std::vector<double>& s) override {
    if (s.empty() || (s.size() - 1) % 4 != 0 || (cols_ != 0 && s.size() != s_.size() + 1))
      throw std::invalid_argument("r2_score: set_state expects 1 + 4 * columns values, got " +
                                  std::to_string(s.size()));
    num_samples_ = s[0];
    s_.assign(s.begin() + 1, s.end());
    cols_ = static_cast<std::int64_t>(s_.size() / 4);
  }

 private:
  MetricParams p_;
  std::vector<double> s_;
  double num_samples_ = 0.0;
};

// fbeta_score: per class, weighted tp, fp, fn and support (sum of w*y) with the real-valued
// labels (Keras multiplies by y_true, it does not cast it). Predictions are binarized at
// p > threshold, or (threshold <= 0: Keras's threshold=None) at each row's maximum (all
// ties) where |p| > 1e-9. State: per class [tp, fp, fn, support].
class FBetaMetric final : public Metric, PerColumn {
 public:
  explicit FBetaMetric(const MetricParams& p) : p_(p) {}

  void prepare(std::int64_t k) override { size_columns(MetricKind::fbeta_score, k, 4, s_); }
  void reset() override { std::fill(s_.begin(), s_.end(), 0.0); }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(MetricKind::fbeta_score, y_true_cols, n, k);
    prepare(k);
    const bool at_max = !(p_.threshold > 0.0f);
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yp = y_pred + i * k;
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      float mx = yp[0];  // the row maximum; a NaN makes it NaN (nothing is then >= it)
      if (at_max)
        for (std::int64_t j = 1; j < k; ++j)
          if (std::isnan(yp[j]) || yp[j] > mx) mx = std::isnan(mx) ? mx : yp[j];
      for (std::int64_t j = 0; j < k; ++j) {
        const double y = y_true[i * y_true_cols + (y_true_cols == 1 ? 0 : j)];
        const double pred = at_max ? ((yp[j] >= mx && std::fabs(yp[j]) > 1e-9f) ? 1.0 : 0.0)
                                   : (yp[j] > p_.threshold ? 1.0 : 0.0);
        double* c = &s_[static_cast<std::size_t>(4 * j)];
        c[0] += w * pred * y;
        c[1] += w * pred * (1.0 - y);
        c[2] += w * (1.0 - pred) * y;
        c[3] += w * y;
      }
    }
  }

  std::vector<double> result_values() const override {
    if (cols_ == 0) return p_.average == 0 ? std::vector<double>{} : std::vector<double>{0.0};
    const double b2 = static_cast<double>(p_.beta) * static_cast<double>(p_.beta);
    auto f = [&](double tp, double fp, double fn) {
      const double precision = tp / (tp + fp + kEpsilon);
      const double recall = tp / (tp + fn + kEpsilon);
      return (1.0 + b2) * (precision * recall / (b2 * precision + recall + kEpsilon));
    };
    const std::size_t K = static_cast<std::size_t>(cols_);
    if (p_.average == 1) {  // micro: one score from the summed counts
      double tp = 0, fp = 0, fn = 0;
      for (std::size_t j = 0; j < K; ++j) {
        tp += s_[4 * j];
        fp += s_[4 * j + 1];
        fn += s_[4 * j + 2];
      }
      return {f(tp, fp, fn)};
    }
    std::vector<double> r(K);
    for (std::size_t j = 0; j < K; ++j) r[j] = f(s_[4 * j], s_[4 * j + 1], s_[4 * j + 2]);
    if (p_.average == 2) {  // macro
      double m = 0.0;
      for (double v : r) m += v;
      return {m / static_cast<double>(K)};
    }
    if (p_.average == 3) {  // weighted by support
      double support = 0.0, acc = 0.0;
      for (std::size_t j = 0; j < K; ++j) support += s_[4 * j + 3];
      for (std::size_t j = 0; j < K; ++j) acc += r[j] * (s_[4 * j + 3] / (support + kEpsilon));
      return {acc};
    }
    return r;
  }
  double result() const override {
    const std::vector<double> r = result_values();
    return r.empty() ? 0.0 : r[0];
  }

  std::vector<double> state() const override { return s_; }
  void set_state(const std::vector<double>& s) override {
    if (s.size() % 4 != 0 || (cols_ != 0 && s.size() != s_.size()))
      throw std::invalid_argument("fbeta_score: set_state expects 4 * classes values, got " + std::to_string(s.size()));
    s_ = s;
    cols_ = static_cast<std::int64_t>(s_.size() / 4);
  }

 private:
  MetricParams p_;
  std::vector<double> s_;
};

// auc: Keras's evenly spaced thresholds {-eps, 1/(T-1), ..., (T-2)/(T-1), 1+eps}; a prediction
// lands in bucket even_bucket(p, T, true), i.e. it exceeds exactly thresholds 0..bucket.
// multi_label=false: every element is one point of one curve (label_weights, if given,
// weight column j's elements); multi_label=true: one curve per column, the result is their
// mean (or label_weights-weighted mean). State: per curve, per-bucket positive weights then
// negative weights (2 * num_thresholds values per curve).
class AucMetric final : public Metric, PerColumn {
 public:
  explicit AucMetric(const MetricParams& p) : p_(p), uneven_(p.thresholds) {
    std::sort(uneven_.begin(), uneven_.end());
    if (!p_.multi_label) {
      checked_assign(s_, 2 * static_cast<std::uint64_t>(p.num_thresholds), 0.0, "AUC's threshold buckets");
    } else if (p_.num_labels > 0) {
      prepare(p_.num_labels);
    }
  }

  void prepare(std::int64_t k) override {
    if (p_.multi_label) size_columns(MetricKind::auc, k, 2 * static_cast<std::size_t>(p_.num_thresholds), s_);
  }
  void reset() override { std::fill(s_.begin(), s_.end(), 0.0); }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(MetricKind::auc, y_true_cols, n, k);
    if (!p_.label_weights.empty() && static_cast<std::int64_t>(p_.label_weights.size()) != k)
      throw std::invalid_argument("auc: label_weights has " + std::to_string(p_.label_weights.size()) +
                                  " values but y_pred has " + std::to_string(k) + " columns");
    prepare(k);
    const std::int64_t T = p_.num_thresholds;
    const bool lw = !p_.label_weights.empty() && !p_.multi_label;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yt = y_true + i * y_true_cols;
      const float* yp = y_pred + i * k;
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      for (std::int64_t j = 0; j < k; ++j) {
        float v = yp[j];
        if (p_.from_logits) v = 1.0f / (1.0f + std::exp(-v));
        const std::int64_t b = bucket(v);
        double* curve = &s_[p_.multi_label ? static_cast<std::size_t>(2 * T * j) : 0];
        const double wj = lw ? w * static_cast<double>(p_.label_weights[static_cast<std::size_t>(j)]) : w;
        if (yt[y_true_cols == 1 ? 0 : j] != 0.0f)
          curve[b] += wj;
        else
          curve[T + b] += wj;
      }
    }
  }

  double result() const override {
    const std::int64_t T = p_.num_thresholds;
    if (!p_.multi_label) return area(&s_[0], &s_[static_cast<std::size_t>(T)]);
    if (cols_ == 0) return 0.0;
    double num = 0.0, den = 0.0;
    for (std::int64_t j = 0; j < cols_; ++j) {
      const double a = area(&s_[static_cast<std::size_t>(2 * T * j)], &s_[static_cast<std::size_t>(2 * T * j + T)]);
      const double lw = p_.label_weights.empty() ? 1.0 : static_cast<double>(p_.label_weights[static_cast<std::size_t>(j)]);
      num += a * lw;
      den += lw;
    }
    return p_.label_weights.empty() ? num / den : div_no_nan(num, den);
  }

  std::vector<double> state() const override { return s_; }

  void set_state(const std::vector<double>& s) override {
    const std::size_t per = 2 * static_cast<std::size_t>(p_.num_thresholds);
    if (p_.multi_label ? (s.size() % per != 0 || (cols_ != 0 && s.size() != s_.size())) : s.size() != per)
      throw std::invalid_argument("auc: set_state expects 2 * num_thresholds = " + std::to_string(per) +
                                  " values per curve, got " + std::to_string(s.size()));
    s_ = s;
    if (p_.multi_label) cols_ = static_cast<std::int64_t>(s.size() / per);
  }

 private:
  // The highest threshold v exceeds: Keras's bucketing for evenly spaced thresholds; for
  // given uneven ones (sorted, with the -eps and 1+eps ends), a binary search on v clipped
  // to [0, 1] (NaN: bucket 0, as the even path).
  std::int64_t bucket(float v) const {
    if (uneven_.empty()) return even_bucket(v, p_.num_thresholds, true);
    if (std::isnan(v)) return 0;
    v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    const auto below = std::lower_bound(uneven_.begin(), uneven_.end(), v) - uneven_.begin();  // thresholds < v
    return std::max<std::int64_t>(static_cast<std::int64_t>(below) - 1, 0);
  }

  // The area under one curve from its per-bucket positive and negative weights.
  double area(const double* pos, const double* neg) const {
    const std::int64_t T = p_.num_thresholds;
    double P = 0.0, N = 0.0;
    for (std::int64_t i = 0; i < T; ++i) {
      P += pos[i];
      N += neg[i];
    }
    const auto div = div_no_nan;
    // Sweep thresholds from the highest down, carrying the confusion counts at i+1.
    double tp1 = pos[T - 1], fp1 = neg[T - 1];  // counts at threshold i+1, starting at T-1
    double area = 0.0;
    for (std::int64_t ii = T - 1; ii-- > 0;) {
      const double tp0 = tp1 + pos[ii];
      const double fp0 = fp1 + neg[ii];
      const double fn0 = P - tp0, tn0 = N - fp0;
      const double fn1 = P - tp1, tn1 = N - fp1;
      if (p_.curve == 1 && p_.summation_method == 0) {
        // PR with Davis & Goadrich interpolation (Keras interpolate_pr_auc).
        const double dtp = tp0 - tp1;
        const double p0 = tp0 + fp0, p1 = tp1 + fp1;
        const double dp = p0 - p1;
        const double slope = div(dtp, std::fmax(dp, 0.0));
        const double intercept = tp1 - slope * p1;
        const double ratio = (p0 > 0.0 && p1 > 0.0) ? div(p0, std::fmax(p1, 0.0)) : 1.0;
        area += div(slope * (dtp + intercept * std::log(ratio)), std::fmax(tp1 + fn1, 0.0));
      } else {
        double x0, x1, y0, y1;
        if (p_.curve == 0) {  // ROC: x = fp rate, y = recall
          x0 = div(fp0, fp0 + tn0);
          x1 = div(fp1, fp1 + tn1);
          y0 = div(tp0, tp0 + fn0);
          y1 = div(tp1, tp1 + fn1);
        } else {  // PR: x = recall, y = precision
          x0 = div(tp0, tp0 + fn0);
          x1 = div(tp1, tp1 + fn1);
          y0 = div(tp0, tp0 + fp0);
          y1 = div(tp1, tp1 + fp1);
        }
        double h;
        if (p_.summation_method == 0)
          h = (y0 + y1) / 2.0;
        else if (p_.summation_method == 1)
          h = std::fmin(y0, y1);
        else
          h = std::fmax(y0, y1);
        area += (x0 - x1) * h;
      }
      tp1 = tp0;
      fp1 = fp0;
    }
    return area;
  }

  MetricParams p_;
  std::vector<float> uneven_;  // given thresholds (with both ends), sorted; empty: evenly spaced
  std::vector<double> s_;
};

}  // namespace

const char* metric_kind_name(MetricKind kind) {
  switch (kind) {
#define RANVIER_METRIC_NAME(name, direction) \
  case MetricKind::name:                     \
    return #name;
    RANVIER_METRIC_KINDS(RANVIER_METRIC_NAME)
#undef RANVIER_METRIC_NAME
  }
  return "unknown";
}

int metric_direction(MetricKind kind) {
  switch (kind) {
#define RANVIER_METRIC_DIRECTION(name, direction) \
  case MetricKind::name:                          \
    return direction;
    RANVIER_METRIC_KINDS(RANVIER_METRIC_DIRECTION)
#undef RANVIER_METRIC_DIRECTION
  }
  return 0;
}

bool metric_higher_is_better(MetricKind kind) { return metric_direction(kind) > 0; }

const std::vector<MetricKind>& all_metric_kinds() {
  static const std::vector<MetricKind> kinds = {
#define RANVIER_METRIC_LIST(name, direction) MetricKind::name,
      RANVIER_METRIC_KINDS(RANVIER_METRIC_LIST)
#undef RANVIER_METRIC_LIST
  };
  return kinds;
}

std::unique_ptr<Metric> make_metric(MetricKind kind, const MetricParams& p) {
  switch (kind) {
    case MetricKind::binary_accuracy:
      if (!(p.threshold > 0.0f && p.threshold < 1.0f))
        throw std::invalid_argument("binary_accuracy: threshold must be in (0, 1), got " + std::to_string(p.threshold));
      return std::make_unique<MeanMetric>(kind, p);
    case MetricKind::top_k_categorical_accuracy:
    case MetricKind::sparse_top_k_categorical_accuracy:
      if (p.k < 1) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": k must be >= 1, got " + std::to_string(p.k));
      return std::make_unique<MeanMetric>(kind, p);
    case MetricKind::categorical_accuracy:
    case MetricKind::sparse_categorical_accuracy:
    case MetricKind::mean_squared_error:
    case MetricKind::mean_absolute_error:
    case MetricKind::mean_absolute_percentage_error:
    case MetricKind::mean_squared_logarithmic_error:
    case MetricKind::root_mean_squared_error:
    case MetricKind::accuracy:
    case MetricKind::kl_divergence:
    case MetricKind::poisson:
    case MetricKind::hinge:
    case MetricKind::squared_hinge:
    case MetricKind::categorical_hinge:
    case MetricKind::log_cosh_error:
    case MetricKind::cosine_similarity:
    case MetricKind::sparse_categorical_crossentropy:
      return std::make_unique<MeanMetric>(kind, p);
    case MetricKind::binary_crossentropy:
    case MetricKind::categorical_crossentropy:
      if (!(p.label_smoothing >= 0.0f && p.label_smoothing <= 1.0f))
        throw std::invalid_argument(kind_str(kind) + ": label_smoothing must be in [0, 1], got " +
                                    std::to_string(p.label_smoothing));
      return std::make_unique<MeanMetric>(kind, p);
    case MetricKind::true_positives:
    case MetricKind::false_positives:
    case MetricKind::true_negatives:
    case MetricKind::false_negatives: {
      const std::vector<float> ts = p.thresholds.empty() ? std::vector<float>{p.threshold} : p.thresholds;
      for (float t : ts)
        if (!(t >= 0.0f && t <= 1.0f))
          throw std::invalid_argument(kind_str(kind) + ": threshold values must be in [0, 1], got " + std::to_string(t));
      return std::make_unique<CountMetric>(kind, p);
    }
    case MetricKind::precision_at_recall:
    case MetricKind::recall_at_precision:
    case MetricKind::sensitivity_at_specificity:
    case MetricKind::specificity_at_sensitivity:
      if (p.num_thresholds <= 0 || p.num_thresholds > kMaxAucThresholds)
        throw std::invalid_argument(kind_str(kind) + ": num_thresholds must be an integer in 1..2**24 (16 bytes "
                                    "of buckets each), got " + std::to_string(p.num_thresholds));
      if (!(p.value >= 0.0 && p.value <= 1.0))
        throw std::invalid_argument(kind_str(kind) + ": the target value must be in [0, 1], got " + std::to_string(p.value));
      if (p.class_id < -1) throw std::invalid_argument(kind_str(kind) + ": class_id must be >= 0 or unset");
      return std::make_unique<OperatingPointMetric>(kind, p);
    case MetricKind::r2_score:
      if (p.class_aggregation < 0 || p.class_aggregation > 2)
        throw std::invalid_argument("r2_score: class_aggregation must be 0 (None), 1 (uniform_average) or 2 "
                                    "(variance_weighted_average)");
      if (p.num_regressors < 0)
        throw std::invalid_argument("r2_score: num_regressors must be >= 0, got " + std::to_string(p.num_regressors));
      return std::make_unique<R2Metric>(p);
    case MetricKind::fbeta_score:
      if (p.average < 0 || p.average > 3)
        throw std::invalid_argument("fbeta_score: average must be 0 (None), 1 (micro), 2 (macro) or 3 (weighted)");
      if (!(p.beta > 0.0f)) throw std::invalid_argument("fbeta_score: beta must be > 0, got " + std::to_string(p.beta));
      if (p.threshold > 1.0f)
        throw std::invalid_argument("fbeta_score: threshold must be in (0, 1] (or <= 0 for the row maximum), got " +
                                    std::to_string(p.threshold));
      return std::make_unique<FBetaMetric>(p);
    case MetricKind::precision:
    case MetricKind::recall:
      if (p.top_k < 0) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": top_k must be >= 1 or unset");
      if (p.class_id < -1) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": class_id must be >= 0 or unset");
      return std::make_unique<ThresholdMetric>(kind, p);
    case MetricKind::auc:
      if (!p.thresholds.empty() && static_cast<std::int64_t>(p.thresholds.size()) != p.num_thresholds)
        throw std::invalid_argument("auc: thresholds (with both ends) must hold num_thresholds = " +
                                    std::to_string(p.num_thresholds) + " values, got " +
                                    std::to_string(p.thresholds.size()));
      if (p.num_thresholds <= 1)
        throw std::invalid_argument("auc: num_thresholds must be an integer > 1, got " + std::to_string(p.num_thresholds));
      if (p.num_thresholds > kMaxAucThresholds)
        throw std::invalid_argument("auc: num_thresholds=" + std::to_string(p.num_thresholds) + " is above the limit " +
                                    std::to_string(kMaxAucThresholds) + " (2**24: 256 MiB of buckets)");
      if (p.curve != 0 && p.curve != 1) throw std::invalid_argument("auc: curve must be 0 (ROC) or 1 (PR)");
      if (p.summation_method < 0 || p.summation_method > 2)
        throw std::invalid_argument("auc: summation_method must be 0 (interpolation), 1 (minoring) or 2 (majoring)");
      if (p.num_labels < 0 || (p.num_labels > 0 && !p.multi_label))
        throw std::invalid_argument("auc: num_labels must be > 0 and is needed only with multi_label");
      for (float w : p.label_weights)
        if (!(w >= 0.0f))
          throw std::invalid_argument("auc: label_weights must be non-negative, got " + std::to_string(w));
      if (p.num_labels > 0 && !p.label_weights.empty() && static_cast<std::int64_t>(p.label_weights.size()) != p.num_labels)
        throw std::invalid_argument("auc: label_weights has " + std::to_string(p.label_weights.size()) +
                                    " values but num_labels is " + std::to_string(p.num_labels));
      return std::make_unique<AucMetric>(p);
  }
  throw std::invalid_argument("make_metric: unknown metric kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace ranvier
