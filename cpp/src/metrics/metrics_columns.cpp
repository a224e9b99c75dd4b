// Per-column metrics: r2_score (R2Metric) and fbeta_score (FBetaMetric), sums per column.
#include "metrics/metrics_impl.h"

namespace ranvier {
namespace metrics_detail {

namespace {

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

}  // namespace

std::unique_ptr<Metric> make_r2_metric(MetricKind, const MetricParams& p) {
  if (p.class_aggregation < 0 || p.class_aggregation > 2)
    throw std::invalid_argument("r2_score: class_aggregation must be 0 (None), 1 (uniform_average) or 2 "
                                "(variance_weighted_average)");
  if (p.num_regressors < 0)
    throw std::invalid_argument("r2_score: num_regressors must be >= 0, got " + std::to_string(p.num_regressors));
  return std::make_unique<R2Metric>(p);
}

std::unique_ptr<Metric> make_fbeta_metric(MetricKind, const MetricParams& p) {
  if (p.average < 0 || p.average > 3)
    throw std::invalid_argument("fbeta_score: average must be 0 (None), 1 (micro), 2 (macro) or 3 (weighted)");
  if (!(p.beta > 0.0f)) throw std::invalid_argument("fbeta_score: beta must be > 0, got " + std::to_string(p.beta));
  if (p.threshold > 1.0f)
    throw std::invalid_argument("fbeta_score: threshold must be in (0, 1] (or <= 0 for the row maximum), got " +
                                std::to_string(p.threshold));
  return std::make_unique<FBetaMetric>(p);
}

}  // namespace metrics_detail
}  // namespace ranvier
