// Losses: simple scalar implementation (first version).
#include "losses/losses.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/runtime.h"

namespace ranvier {

namespace {

constexpr float kEps = 1e-7f;
constexpr float kOneMinusEps = 1.0f - 1e-7f;  // 0.99999988f in float32
constexpr float kLog2 = 0.6931471805599453f;

inline float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
inline float softplusf(float x) { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
inline float signf(float x) { return x > 0 ? 1.0f : (x < 0 ? -1.0f : (std::isnan(x) ? x : 0.0f)); }
inline float clip(float x, float lo, float hi) { return std::isnan(x) ? x : std::min(std::max(x, lo), hi); }
inline float inside(float x, float lo, float hi) { return (x > lo && x < hi) ? 1.0f : (std::isnan(x) ? x : 0.0f); }

void check_sparse_labels(const float* y_true, std::int64_t n, std::int64_t k) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = y_true[i];
    if (!(v >= 0.0f && v < static_cast<float>(k)) || v != std::floor(v)) {
      throw std::invalid_argument(
          "sparse_categorical_crossentropy: label " + std::to_string(v) + " at row " + std::to_string(i) +
          " is out of range for " + std::to_string(k) + " classes (valid labels: integers 0.." +
          std::to_string(k - 1) + ")");
    }
  }
}

void check_cols(LossKind kind, std::int64_t y_true_cols, std::int64_t k) {
  if (kind == LossKind::sparse_categorical_crossentropy) {
    if (y_true_cols != 1)
      throw std::invalid_argument("sparse_categorical_crossentropy: y_true must have 1 column of labels, got " +
                                  std::to_string(y_true_cols));
  } else if (y_true_cols != k && y_true_cols != 1) {
    throw std::invalid_argument("loss: y_true has " + std::to_string(y_true_cols) +
                                " columns but y_pred has " + std::to_string(k));
  }
}

// One row: returns l, writes dl/dp (unscaled) into g when g != null.
// yt: y_true row with stride ys (0 = broadcast of one value, 1 = full row).
float row_loss(LossKind kind, const LossParams& p, const float* yt, std::int64_t ys, const float* pr,
               std::int64_t k, bool hinge_convert, float* g) {
  const float invk = 1.0f / static_cast<float>(k);
  auto Y = [&](std::int64_t j) { return yt[j * ys]; };
  double acc = 0.0;
  switch (kind) {
    case LossKind::mean_squared_error:
      for (std::int64_t j = 0; j < k; ++j) {
        const float e = pr[j] - Y(j);
        acc += e * e;
        if (g) g[j] = 2.0f * e * invk;
      }
      return static_cast<float>(acc) * invk;
    case LossKind::mean_absolute_error:
      for (std::int64_t j = 0; j < k; ++j) {
        const float e = pr[j] - Y(j);
        acc += std::fabs(e);
        if (g) g[j] = signf(e) * invk;
      }
      return static_cast<float>(acc) * invk;
    case LossKind::mean_absolute_percentage_error:
      for (std::int64_t j = 0; j < k; ++j) {
        const float e = pr[j] - Y(j);
        const float d = std::max(std::fabs(Y(j)), kEps);
        acc += std::fabs(e) / d;
        if (g) g[j] = 100.0f * signf(e) / d * invk;
      }
      return 100.0f * static_cast<float>(acc) * invk;
    case LossKind::mean_squared_logarithmic_error:
      for (std::int64_t j = 0; j < k; ++j) {
        const float pc = std::max(pr[j], kEps);
        const float a = std::log(pc + 1.0f), b = std::log(std::max(Y(j), kEps) + 1.0f);
        const float e = a - b;
        acc += e * e;
        if (g) g[j] = 2.0f * e / (pc + 1.0f) * (pr[j] > kEps ? 1.0f : 0.0f) * invk;
      }
      return static_cast<float>(acc) * invk;
    case LossKind::binary_crossentropy: {
      const float ls = p.label_smoothing;
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = ls != 0.0f ? Y(j) * (1.0f - ls) + 0.5f * ls : Y(j);
        if (p.from_logits) {
          const float z = pr[j];
          acc += std::max(z, 0.0f) - z * y + std::log1p(std::exp(-std::fabs(z)));
          if (g) g[j] = (sigmoidf(z) - y) * invk;
        } else {
          const float q = clip(pr[j], kEps, kOneMinusEps);
          acc += -(y * std::log(q) + (1.0f - y) * std::log(1.0f - q));
          if (g) g[j] = (-y / q + (1.0f - y) / (1.0f - q)) * inside(pr[j], kEps, kOneMinusEps) * invk;
        }
      }
      return static_cast<float>(acc) * invk;
    }
    case LossKind::categorical_crossentropy:
    case LossKind::sparse_categorical_crossentropy: {
      const bool sparse = kind == LossKind::sparse_categorical_crossentropy;
      const std::int64_t lab = sparse ? static_cast<std::int64_t>(yt[0]) : -1;
      const float ls = sparse ? 0.0f : p.label_smoothing;
      auto YS = [&](std::int64_t j) {
        if (sparse) return j == lab ? 1.0f : 0.0f;
        return ls != 0.0f ? Y(j) * (1.0f - ls) + ls * invk : Y(j);
      };
      if (p.from_logits) {
        float m = -std::numeric_limits<float>::infinity();
        for (std::int64_t j = 0; j < k; ++j) m = std::isnan(pr[j]) || std::isnan(m) ? NAN : std::max(m, pr[j]);
        double se = 0.0;
        for (std::int64_t j = 0; j < k; ++j) se += std::exp(pr[j] - m);
        const float lse = m + static_cast<float>(std::log(se));
        double sy = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
          const float y = YS(j);
          sy += y;
          acc += -y * (pr[j] - lse);
        }
        if (g)
          for (std::int64_t j = 0; j < k; ++j)
            g[j] = static_cast<float>(std::exp(pr[j] - m) / se) * static_cast<float>(sy) - YS(j);
        return static_cast<float>(acc);
      }
      double s = 0.0;
      for (std::int64_t j = 0; j < k; ++j) s += pr[j];
      const float sf = static_cast<float>(s);
      double syc = 0.0;
      for (std::int64_t j = 0; j < k; ++j) {
        const float r = pr[j] / sf;
        const float q = clip(r, kEps, kOneMinusEps);
        const float y = YS(j);
        if (y != 0.0f) acc += -y * std::log(q);
        syc += y * inside(r, kEps, kOneMinusEps);
      }
      if (g)
        for (std::int64_t j = 0; j < k; ++j) {
          const float r = pr[j] / sf;
          const float q = clip(r, kEps, kOneMinusEps);
          g[j] = (-YS(j) * inside(r, kEps, kOneMinusEps) / q + static_cast<float>(syc)) / sf;
        }
      return static_cast<float>(acc);
    }
    case LossKind::binary_focal_crossentropy: {
      const float ls = p.label_smoothing;
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = ls != 0.0f ? Y(j) * (1.0f - ls) + 0.5f * ls : Y(j);
        const float z = pr[j];
        const float pp = p.from_logits ? sigmoidf(z) : z;
        const float q = clip(pp, kEps, kOneMinusEps);
        const float b = -(y * std::log(q) + (1.0f - y) * std::log(1.0f - q));
        const float db = (-y / q + (1.0f - y) / (1.0f - q)) * inside(pp, kEps, kOneMinusEps);
        const float omp = 1.0f - (y * pp + (1.0f - y) * (1.0f - pp));  // 1 - p_t
        const float f = std::pow(omp, p.gamma);
        const float df = p.gamma == 0.0f ? 0.0f : p.gamma * std::pow(omp, p.gamma - 1.0f) * (1.0f - 2.0f * y);
        const float wt = p.apply_class_balancing ? y * p.alpha + (1.0f - y) * (1.0f - p.alpha) : 1.0f;
        acc += wt * f * b;
        if (g) {
          float d = wt * (df * b + f * db);
          if (p.from_logits) d *= pp * (1.0f - pp);
          g[j] = d * invk;
        }
      }
      return static_cast<float>(acc) * invk;
    }
    case LossKind::hinge:
    case LossKind::squared_hinge: {
      const bool sq = kind == LossKind::squared_hinge;
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = hinge_convert ? 2.0f * Y(j) - 1.0f : Y(j);
        const float h = std::max(1.0f - y * pr[j], 0.0f);
        acc += sq ? h * h : h;
        if (g) g[j] = (h > 0.0f ? (sq ? -2.0f * h * y : -y) : 0.0f) * invk;
      }
      return static_cast<float>(acc) * invk;
    }
    case LossKind::categorical_hinge: {
      double pos = 0.0;
      float neg = -std::numeric_limits<float>::infinity();
      for (std::int64_t j = 0; j < k; ++j) {
        pos += Y(j) * pr[j];
        neg = std::max(neg, (1.0f - Y(j)) * pr[j]);
      }
      const float v = neg - static_cast<float>(pos) + 1.0f;
      const float l = std::max(v, 0.0f);
      if (g) {
        int cnt = 0;
        for (std::int64_t j = 0; j < k; ++j) cnt += ((1.0f - Y(j)) * pr[j] == neg) ? 1 : 0;
        for (std::int64_t j = 0; j < k; ++j) {
          if (v > 0.0f) {
            const float tie = ((1.0f - Y(j)) * pr[j] == neg) ? 1.0f / static_cast<float>(cnt) : 0.0f;
            g[j] = -Y(j) + (1.0f - Y(j)) * tie;
          } else {
            g[j] = 0.0f;
          }
        }
      }
      return l;
    }
    case LossKind::huber: {
      const float d = p.delta;
      for (std::int64_t j = 0; j < k; ++j) {
        const float e = pr[j] - Y(j);
        const float a = std::fabs(e);
        acc += a <= d ? 0.5f * e * e : d * a - 0.5f * d * d;
        if (g) g[j] = (a <= d ? e : d * signf(e)) * invk;
      }
      return static_cast<float>(acc) * invk;
    }
    case LossKind::log_cosh:
      for (std::int64_t j = 0; j < k; ++j) {
        const float e = pr[j] - Y(j);
        acc += e + softplusf(-2.0f * e) - kLog2;
        if (g) g[j] = std::tanh(e) * invk;
      }
      return static_cast<float>(acc) * invk;
    case LossKind::kl_divergence:
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = clip(Y(j), kEps, 1.0f), q = clip(pr[j], kEps, 1.0f);
        acc += y * std::log(y / q);
        if (g) g[j] = -y / q * inside(pr[j], kEps, 1.0f);
      }
      return static_cast<float>(acc);
    case LossKind::poisson:
      for (std::int64_t j = 0; j < k; ++j) {
        const float q = pr[j] + kEps;
        acc += pr[j] - Y(j) * std::log(q);
        if (g) g[j] = (1.0f - Y(j) / q) * invk;
      }
      return static_cast<float>(acc) * invk;
    case LossKind::cosine_similarity: {
      double syy = 0.0, spp = 0.0, syp = 0.0;
      for (std::int64_t j = 0; j < k; ++j) {
        syy += Y(j) * Y(j);
        spp += pr[j] * pr[j];
        syp += Y(j) * pr[j];
      }
      const float ay = std::min(1.0f / std::sqrt(static_cast<float>(syy)), 1.0f / kEps);
      const float ap = std::min(1.0f / std::sqrt(static_cast<float>(spp)), 1.0f / kEps);
      const float c = static_cast<float>(syp) * ay * ap;
      if (g) {
        const bool clipped = !(1.0f / std::sqrt(static_cast<float>(spp)) < 1.0f / kEps);
        for (std::int64_t j = 0; j < k; ++j) {
          const float yh = Y(j) * ay, ph = pr[j] * ap;
          g[j] = clipped ? -yh * ap : -ap * (yh - c * ph);
        }
      }
      return -c;
    }
    default:
      throw std::invalid_argument("loss: unknown kind");
  }
}

bool hinge_labels_binary(const float* y_true, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i)
    if (!(y_true[i] == 0.0f || y_true[i] == 1.0f)) return false;
  return true;
}

}  // namespace

void loss_forward_backward(LossKind kind, const LossParams& p, const float* y_true, std::int64_t y_true_cols,
                           const float* y_pred, std::int64_t n, std::int64_t k, const float* sample_weight,
                           float grad_scale, float* per_sample, float* grad) {
  FtzScope ftz;
  check_cols(kind, y_true_cols, k);
  if (kind == LossKind::sparse_categorical_crossentropy) check_sparse_labels(y_true, n, k);
  const bool hinge_convert = (kind == LossKind::hinge || kind == LossKind::squared_hinge) &&
                             hinge_labels_binary(y_true, n * y_true_cols);
  const std::int64_t ys = (kind == LossKind::sparse_categorical_crossentropy || y_true_cols == k) ? 1 : 0;
  for (std::int64_t i = 0; i < n; ++i) {
    float* g = grad ? grad + i * k : nullptr;
    per_sample[i] = row_loss(kind, p, y_true + i * y_true_cols, ys, y_pred + i * k, k, hinge_convert, g);
    if (g) {
      const float s = (sample_weight ? sample_weight[i] : 1.0f) * grad_scale;
      for (std::int64_t j = 0; j < k; ++j) g[j] *= s;
    }
  }
}

bool loss_fuses_with(LossKind kind, const LossParams& p, ActKind act) {
  if (p.from_logits) return false;
  if (act == ActKind::softmax)
    return kind == LossKind::categorical_crossentropy || kind == LossKind::sparse_categorical_crossentropy;
  if (act == ActKind::sigmoid) return kind == LossKind::binary_crossentropy;
  return false;
}

void loss_forward_backward_fused(LossKind kind, const LossParams& p, ActKind act, const float* y_true,
                                 std::int64_t y_true_cols, const float* y_pred, std::int64_t n, std::int64_t k,
                                 const float* sample_weight, float grad_scale, float* per_sample,
                                 float* grad_logits) {
  if (!loss_fuses_with(kind, p, act))
    throw std::invalid_argument("loss_forward_backward_fused: this loss does not fuse with this activation");
  // values: the clipped probability path, as Keras (JAX reading)
  loss_forward_backward(kind, p, y_true, y_true_cols, y_pred, n, k, nullptr, 1.0f, per_sample, nullptr);
  if (!grad_logits) return;
  FtzScope ftz;
  const bool sparse = kind == LossKind::sparse_categorical_crossentropy;
  const std::int64_t ys = (sparse || y_true_cols == k) ? 1 : 0;
  const float invk = 1.0f / static_cast<float>(k);
  const float ls = p.label_smoothing;
  for (std::int64_t i = 0; i < n; ++i) {
    const float s = (sample_weight ? sample_weight[i] : 1.0f) * grad_scale;
    const float* yt = y_true + i * y_true_cols;
    const float* q = y_pred + i * k;
    float* g = grad_logits + i * k;
    if (kind == LossKind::binary_crossentropy) {
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = ls != 0.0f ? yt[j * ys] * (1.0f - ls) + 0.5f * ls : yt[j * ys];
        g[j] = (q[j] - y) * invk * s;
      }
    } else if (sparse) {
      const std::int64_t lab = static_cast<std::int64_t>(yt[0]);
      for (std::int64_t j = 0; j < k; ++j) g[j] = (q[j] - (j == lab ? 1.0f : 0.0f)) * s;
    } else {
      float sy = 0.0f;
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = ls != 0.0f ? yt[j * ys] * (1.0f - ls) + ls * invk : yt[j * ys];
        sy += y;
      }
      for (std::int64_t j = 0; j < k; ++j) {
        const float y = ls != 0.0f ? yt[j * ys] * (1.0f - ls) + ls * invk : yt[j * ys];
        g[j] = (q[j] * sy - y) * s;
      }
    }
  }
}

}  // namespace ranvier
