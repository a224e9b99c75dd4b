// AUC (Keras 3's keras.metrics.AUC): per-bucket label weights over evenly spaced (or
// given) thresholds, ROC or PR, interpolation/minoring/majoring, multi_label.
#include "metrics/metrics_impl.h"

namespace ranvier {
namespace metrics_detail {

namespace {

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

std::unique_ptr<Metric> make_auc_metric(MetricKind, const MetricParams& p) {
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

}  // namespace metrics_detail
}  // namespace ranvier
