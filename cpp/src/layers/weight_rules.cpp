#include "layers/weight_rules.h"

#include <algorithm>
#include <cmath>

namespace ranvier {

namespace {
constexpr double kNormEpsilon = 1e-7;  // Keras backend.epsilon()
}

double penalty_apply(const Penalty& p, const float* w, float* g, std::int64_t n, float scale) {
  if (!p.active() || n <= 0) return 0.0;
  const double l1 = p.l1, l2 = p.l2;
  double s1 = 0.0, s2 = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = w[i];
    s1 += std::fabs(v);
    s2 += v * v;
  }
  if (g) {
    const float a = scale * p.l1, b = 2.0f * scale * p.l2;
    for (std::int64_t i = 0; i < n; ++i) {
      const float v = w[i];
      const float sgn = (v > 0.0f) ? 1.0f : ((v < 0.0f) ? -1.0f : 0.0f);
      g[i] += a * sgn + b * v;
    }
  }
  return static_cast<double>(scale) * (l1 * s1 + l2 * s2);
}

void constraint_apply(const Constraint& c, float* w, std::int64_t rows, std::int64_t cols, double* ws) {
  if (!c.active() || rows <= 0 || cols <= 0) return;
  const std::int64_t n = rows * cols;
  if (c.kind == ConstraintKind::non_neg) {
    for (std::int64_t i = 0; i < n; ++i) w[i] = std::max(w[i], 0.0f);
    return;
  }
  // The factor that maps a norm to its target, divided by (eps + norm).
  auto factor = [&c](double norm) -> float {
    double desired;
    switch (c.kind) {
      case ConstraintKind::max_norm:
        desired = std::min(std::max(norm, 0.0), static_cast<double>(c.max_value));
        break;
      case ConstraintKind::unit_norm:
        desired = 1.0;
        break;
      case ConstraintKind::min_max_norm:
        desired = c.rate * std::min(std::max(norm, static_cast<double>(c.min_value)),
                                    static_cast<double>(c.max_value)) +
                  (1.0 - c.rate) * norm;
        break;
      default:
        desired = norm;
        break;
    }
    return static_cast<float>(desired / (kNormEpsilon + norm));
  };
  if (c.axis < 0) {  // one norm over everything
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(w[i]) * w[i];
    const float f = factor(std::sqrt(s));
    for (std::int64_t i = 0; i < n; ++i) w[i] *= f;
  } else if (c.axis == 0) {  // one norm per column
    for (std::int64_t j = 0; j < cols; ++j) ws[j] = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* wr = w + r * cols;
      for (std::int64_t j = 0; j < cols; ++j) ws[j] += static_cast<double>(wr[j]) * wr[j];
    }
    for (std::int64_t j = 0; j < cols; ++j) ws[j] = factor(std::sqrt(ws[j]));
    for (std::int64_t r = 0; r < rows; ++r) {
      float* wr = w + r * cols;
      for (std::int64_t j = 0; j < cols; ++j) wr[j] *= static_cast<float>(ws[j]);
    }
  } else {  // one norm per row
    for (std::int64_t r = 0; r < rows; ++r) {
      float* wr = w + r * cols;
      double s = 0.0;
      for (std::int64_t j = 0; j < cols; ++j) s += static_cast<double>(wr[j]) * wr[j];
      const float f = factor(std::sqrt(s));
      for (std::int64_t j = 0; j < cols; ++j) wr[j] *= f;
    }
  }
}

}  // namespace ranvier
