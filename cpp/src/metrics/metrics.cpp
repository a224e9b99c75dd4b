// Metrics with Keras 3 semantics (../shared/keras-spec.md section 6.3), accumulated in
// doubles. Two families:
//  - MeanMetric: one value per sample (mean over the row), running weighted mean.
//  - ConfusionMetric: weighted confusion counts (precision, recall) or per-bucket label
//    weights (auc, Keras's evenly-spaced-thresholds algorithm).
// Per-batch work is a plain loop over n x k floats; nothing is allocated in update().
#include "metrics/metrics.h"

#include "runtime/alloc.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include "runtime/alloc.h"

namespace ranvier {

namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon() ("fuzz factor")

bool is_sparse(MetricKind kind) {
  return kind == MetricKind::sparse_categorical_accuracy ||
         kind == MetricKind::sparse_top_k_categorical_accuracy;
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
    double total = 0.0, count = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yt = y_true + i * y_true_cols;
      const float* yp = y_pred + i * k;
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
      default:
        return 0.0;  // unreachable: make_metric only builds mean kinds here
    }
  }

  MetricKind kind_;
  MetricParams p_;
  double total_ = 0.0, count_ = 0.0;
};

// precision / recall: weighted {tp, fp, tn, fn} at one threshold, elements flattened.
class ThresholdMetric final : public Metric {
 public:
  ThresholdMetric(MetricKind kind, const MetricParams& p)
      : kind_(kind), p_(p) {
    // The top_k buffers hold min(top_k, columns) entries: sized here for up to 64 columns
    // and grown (once, checked) in update() for wider data, never top_k itself (a huge
    // top_k asked for gigabytes).
    const std::uint64_t n = p.top_k > 0 ? std::min<std::uint64_t>(static_cast<std::uint64_t>(p.top_k), 64) : 0;
    checked_assign(top_idx_, n, std::int64_t{0}, "the top_k indices of precision/recall");
    checked_assign(top_val_, n, 0.0f, "the top_k values of precision/recall");
  }

  void reset() override { tp_ = fp_ = tn_ = fn_ = 0.0; }

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
    double tp = 0, fp = 0, tn = 0, fn = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yt = y_true + i * y_true_cols;
      const float* yp = y_pred + i * k;
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      const std::size_t kept = p_.top_k > 0 ? select_top(yp, k) : 0;
      for (std::int64_t j = j0; j < j1; ++j) {
        const bool label = yt[y_true_cols == 1 ? 0 : j] != 0.0f;  // cast to bool
        bool pred = yp[j] > p_.threshold;
        if (p_.top_k > 0) pred = pred && is_kept(j, kept);
        if (label) {
          (pred ? tp : fn) += w;
        } else {
          (pred ? fp : tn) += w;
        }
      }
    }
    tp_ += tp;
    fp_ += fp;
    tn_ += tn;
    fn_ += fn;
  }

  double result() const override {
    const double den = kind_ == MetricKind::precision ? tp_ + fp_ : tp_ + fn_;
    return den == 0.0 ? 0.0 : tp_ / den;  // divide_no_nan
  }

  std::vector<double> state() const override { return {tp_, fp_, tn_, fn_}; }

  void set_state(const std::vector<double>& s) override {
    if (s.size() != 4)
      throw std::invalid_argument(std::string(metric_kind_name(kind_)) +
                                  ": set_state expects 4 values (tp, fp, tn, fn), got " + std::to_string(s.size()));
    tp_ = s[0];
    fp_ = s[1];
    tn_ = s[2];
    fn_ = s[3];
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
  std::vector<std::int64_t> top_idx_;
  std::vector<float> top_val_;
  double tp_ = 0, fp_ = 0, tn_ = 0, fn_ = 0;
};

// auc: Keras's evenly spaced thresholds {-eps, 1/(T-1), ..., (T-2)/(T-1), 1+eps}. A prediction
// p (clipped to [0,1]) lands in bucket max(ceil(p*(T-1)) - 1, 0) computed in float32, i.e. it
// exceeds exactly thresholds 0..bucket. tp[i] = sum of positive weight in buckets >= i, etc.
class AucMetric final : public Metric {
 public:
  explicit AucMetric(const MetricParams& p) : p_(p) {
    const auto T = static_cast<std::uint64_t>(p.num_thresholds);
    checked_assign(pos_, T, 0.0, "AUC's threshold buckets (positives)");
    checked_assign(neg_, T, 0.0, "AUC's threshold buckets (negatives)");
  }

  void reset() override {
    for (auto& v : pos_) v = 0.0;
    for (auto& v : neg_) v = 0.0;
  }

  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n,
              std::int64_t k, const float* sample_weight) override {
    check_shapes(MetricKind::auc, y_true_cols, n, k);
    // Keras's float32 product v * (T-1) is exact in its range (T - 1 <= 2**24, see
    // kMaxAucThresholds); the index is clamped to the last bucket all the same.
    const float scale = static_cast<float>(p_.num_thresholds - 1);
    const std::size_t last = pos_.size() - 1;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* yt = y_true + i * y_true_cols;
      const float* yp = y_pred + i * k;
      const double w = sample_weight ? static_cast<double>(sample_weight[i]) : 1.0;
      for (std::int64_t j = 0; j < k; ++j) {
        float v = yp[j];
        if (p_.from_logits) v = 1.0f / (1.0f + std::exp(-v));
        std::size_t b = 0;
        if (!std::isnan(v)) {  // NaN lands in bucket 0 (XLA converts NaN to integer 0)
          v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
          const float scaled = v * scale;  // float32 product, as Keras
          const float c = std::ceil(scaled) - 1.0f;
          b = c > 0.0f ? std::min(static_cast<std::size_t>(c), last) : 0;
        }
        if (yt[y_true_cols == 1 ? 0 : j] != 0.0f)
          pos_[b] += w;
        else
          neg_[b] += w;
      }
    }
  }

  double result() const override {
    const std::size_t T = pos_.size();
    double P = 0.0, N = 0.0;
    for (std::size_t i = 0; i < T; ++i) {
      P += pos_[i];
      N += neg_[i];
    }
    auto div = [](double a, double b) { return b == 0.0 ? 0.0 : a / b; };  // divide_no_nan
    // Sweep thresholds from the highest down, carrying the confusion counts at i+1.
    double tp1 = pos_[T - 1], fp1 = neg_[T - 1];  // counts at threshold i+1, starting at T-1
    double area = 0.0;
    for (std::size_t ii = T - 1; ii-- > 0;) {
      const double tp0 = tp1 + pos_[ii];
      const double fp0 = fp1 + neg_[ii];
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

  std::vector<double> state() const override {
    std::vector<double> s(pos_);
    s.insert(s.end(), neg_.begin(), neg_.end());
    return s;
  }

  void set_state(const std::vector<double>& s) override {
    if (s.size() != 2 * pos_.size())
      throw std::invalid_argument("auc: set_state expects 2 * num_thresholds = " + std::to_string(2 * pos_.size()) +
                                  " values, got " + std::to_string(s.size()));
    for (std::size_t i = 0; i < pos_.size(); ++i) {
      pos_[i] = s[i];
      neg_[i] = s[pos_.size() + i];
    }
  }

 private:
  MetricParams p_;
  std::vector<double> pos_, neg_;  // per-bucket weight of positive / negative labels
};

}  // namespace

const char* metric_kind_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::binary_accuracy: return "binary_accuracy";
    case MetricKind::categorical_accuracy: return "categorical_accuracy";
    case MetricKind::sparse_categorical_accuracy: return "sparse_categorical_accuracy";
    case MetricKind::top_k_categorical_accuracy: return "top_k_categorical_accuracy";
    case MetricKind::sparse_top_k_categorical_accuracy: return "sparse_top_k_categorical_accuracy";
    case MetricKind::mean_squared_error: return "mean_squared_error";
    case MetricKind::mean_absolute_error: return "mean_absolute_error";
    case MetricKind::mean_absolute_percentage_error: return "mean_absolute_percentage_error";
    case MetricKind::mean_squared_logarithmic_error: return "mean_squared_logarithmic_error";
    case MetricKind::root_mean_squared_error: return "root_mean_squared_error";
    case MetricKind::auc: return "auc";
    case MetricKind::precision: return "precision";
    case MetricKind::recall: return "recall";
    case MetricKind::accuracy: return "accuracy";
  }
  return "unknown";
}

bool metric_higher_is_better(MetricKind kind) {
  switch (kind) {
    case MetricKind::mean_squared_error:
    case MetricKind::mean_absolute_error:
    case MetricKind::mean_absolute_percentage_error:
    case MetricKind::mean_squared_logarithmic_error:
    case MetricKind::root_mean_squared_error:
      return false;
    default:
      return true;
  }
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
      return std::make_unique<MeanMetric>(kind, p);
    case MetricKind::precision:
    case MetricKind::recall:
      if (p.top_k < 0) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": top_k must be >= 1 or unset");
      if (p.class_id < -1) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": class_id must be >= 0 or unset");
      return std::make_unique<ThresholdMetric>(kind, p);
    case MetricKind::auc:
      if (p.num_thresholds <= 1)
        throw std::invalid_argument("auc: num_thresholds must be an integer > 1, got " + std::to_string(p.num_thresholds));
      if (p.num_thresholds > kMaxAucThresholds)
        throw std::invalid_argument("auc: num_thresholds=" + std::to_string(p.num_thresholds) + " is above the limit " +
                                    std::to_string(kMaxAucThresholds) + " (2**24: 256 MiB of buckets)");
      if (p.curve != 0 && p.curve != 1) throw std::invalid_argument("auc: curve must be 0 (ROC) or 1 (PR)");
      if (p.summation_method < 0 || p.summation_method > 2)
        throw std::invalid_argument("auc: summation_method must be 0 (interpolation), 1 (minoring) or 2 (majoring)");
      return std::make_unique<AucMetric>(p);
  }
  throw std::invalid_argument("make_metric: unknown metric kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace ranvier
