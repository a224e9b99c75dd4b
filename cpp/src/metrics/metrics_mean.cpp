// Mean metrics (Keras 3's MeanMetricWrapper kinds): one value per sample (the accuracies,
// the errors and the mean-of-loss kinds: cross-entropies, hinges, KL divergence, Poisson,
// log-cosh, cosine similarity), running weighted mean. State {total, count}.
#include <cmath>

#include "metrics/metrics_impl.h"

namespace ranvier {
namespace metrics_detail {

namespace {

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
      case MetricKind::pearson_correlation: {  // Keras 3's pearson_correlation over the row
        // centre each row, divide by its (population) std, mean of the products; a row with
        // no spread gives NaN (0/0), as Keras
        const double kd = static_cast<double>(k);
        double st = 0.0, sp = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
          st += y(j);
          sp += yp[j];
        }
        const double mt = st / kd, mp = sp / kd;
        double ct = 0.0, cp = 0.0;  // means of the centred rows (0 up to rounding; Keras's std takes them)
        for (std::int64_t j = 0; j < k; ++j) {
          ct += static_cast<double>(y(j)) - mt;
          cp += static_cast<double>(yp[j]) - mp;
        }
        ct /= kd;
        cp /= kd;
        double vt = 0.0, vp = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
          const double a = static_cast<double>(y(j)) - mt - ct, b = static_cast<double>(yp[j]) - mp - cp;
          vt += a * a;
          vp += b * b;
        }
        const double sdt = std::sqrt(vt / kd), sdp = std::sqrt(vp / kd);
        for (std::int64_t j = 0; j < k; ++j)
          acc += ((static_cast<double>(y(j)) - mt) / sdt) * ((static_cast<double>(yp[j]) - mp) / sdp);
        return acc / kd;
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

}  // namespace

std::unique_ptr<Metric> make_mean_metric(MetricKind kind, const MetricParams& p) {
  switch (kind) {
    case MetricKind::binary_accuracy:
      // Keras 3 takes any threshold (0.0 for a model that outputs logits)
      if (!std::isfinite(p.threshold))
        throw std::invalid_argument("binary_accuracy: threshold must be a finite number, got " + std::to_string(p.threshold));
      break;
    case MetricKind::top_k_categorical_accuracy:
    case MetricKind::sparse_top_k_categorical_accuracy:
      if (p.k < 1) throw std::invalid_argument(std::string(metric_kind_name(kind)) + ": k must be >= 1, got " + std::to_string(p.k));
      break;
    case MetricKind::binary_crossentropy:
    case MetricKind::categorical_crossentropy:
      if (!(p.label_smoothing >= 0.0f && p.label_smoothing <= 1.0f))
        throw std::invalid_argument(kind_str(kind) + ": label_smoothing must be in [0, 1], got " +
                                    std::to_string(p.label_smoothing));
      break;
    default:
      break;  // no parameters to check
  }
  return std::make_unique<MeanMetric>(kind, p);
}

}  // namespace metrics_detail
}  // namespace ranvier
