// Confusion metrics: precision/recall (ThresholdMetric) and the true/false
// positive/negative counts (CountMetric) as weighted confusion counts at given
// thresholds; the four *_at_* kinds (OperatingPointMetric) from per-bucket label weights
// over Keras's evenly spaced thresholds.
#include "metrics/metrics_impl.h"

namespace ranvier {
namespace metrics_detail {

namespace {

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

}  // namespace

std::unique_ptr<Metric> make_threshold_metric(MetricKind kind, const MetricParams& p) {
  if (p.top_k < 0) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": top_k must be >= 1 or unset");
  if (p.class_id < -1) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": class_id must be >= 0 or unset");
  return std::make_unique<ThresholdMetric>(kind, p);
}

std::unique_ptr<Metric> make_count_metric(MetricKind kind, const MetricParams& p) {
  const std::vector<float> ts = p.thresholds.empty() ? std::vector<float>{p.threshold} : p.thresholds;
  for (float t : ts)
    if (!(t >= 0.0f && t <= 1.0f))
      throw std::invalid_argument(kind_str(kind) + ": threshold values must be in [0, 1], got " + std::to_string(t));
  return std::make_unique<CountMetric>(kind, p);
}

std::unique_ptr<Metric> make_operating_point_metric(MetricKind kind, const MetricParams& p) {
  if (p.num_thresholds <= 0 || p.num_thresholds > kMaxAucThresholds)
    throw std::invalid_argument(kind_str(kind) + ": num_thresholds must be an integer in 1..2**24 (16 bytes "
                                "of buckets each), got " + std::to_string(p.num_thresholds));
  if (!(p.value >= 0.0 && p.value <= 1.0))
    throw std::invalid_argument(kind_str(kind) + ": the target value must be in [0, 1], got " + std::to_string(p.value));
  if (p.class_id < -1) throw std::invalid_argument(kind_str(kind) + ": class_id must be >= 0 or unset");
  return std::make_unique<OperatingPointMetric>(kind, p);
}

}  // namespace metrics_detail
}  // namespace ranvier
