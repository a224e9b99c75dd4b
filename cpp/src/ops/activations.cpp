// Activations: simple scalar reference implementation (first version; the SIMD
// kernels of kernels/f32-vunary replace these loops).
#include "ops/activations.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/runtime.h"

namespace ranvier {

namespace {

constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
// Below this, x * g(x) with g -> 0 is evaluated at the clamp so -inf gives -0, not NaN.
constexpr float kNegClamp = -1e30f;

inline float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
inline float softplusf(float x) { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
inline float clampneg(float x) { return x < kNegClamp ? kNegClamp : x; }

bool relu_is_plain(const ActParams& p) { return p.negative_slope == 0.0f && p.threshold >= 0.0f; }

float relu_general(const ActParams& p, float x) {
  const float s = p.negative_slope, t = p.threshold, m = p.max_value;
  if (s != 0.0f && std::isinf(m) && m > 0 && t == 0.0f) return x >= 0 ? x : s * x;
  float r = (x <= t) ? 0.0f : x;  // NaN passes through
  if (!(std::isinf(m) && m > 0)) r = std::min(std::max(r, 0.0f), m) ;
  if (std::isnan(x)) r = x;
  if (s != 0.0f) r -= s * std::max(t - x, 0.0f);
  return r;
}

float relu_general_grad(const ActParams& p, float x) {
  const float s = p.negative_slope, t = p.threshold, m = p.max_value;
  if (std::isnan(x)) return x;
  if (s != 0.0f && std::isinf(m) && m > 0 && t == 0.0f) return x >= 0 ? 1.0f : s;
  float d = 0.0f;
  if (x > t) {
    if (std::isinf(m) && m > 0) {
      d = (t == 0.0f) ? (x > 0 ? 1.0f : 0.0f) : 1.0f;
    } else {
      d = (x > 0 && x < m) ? 1.0f : 0.0f;
    }
  }
  if (s != 0.0f && x < t) d += s;
  return d;
}

float fwd1(ActKind kind, const ActParams& p, float x) {
  switch (kind) {
    case ActKind::linear: return x;
    case ActKind::relu: return relu_general(p, x);
    case ActKind::leaky_relu: return x >= 0 ? x : p.negative_slope * x;
    case ActKind::relu6: return std::isnan(x) ? x : std::min(std::max(x, 0.0f), 6.0f);
    case ActKind::elu: return x > 0 ? x : p.alpha * std::expm1(x);
    case ActKind::selu: return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case ActKind::celu:
      return std::isnan(x) ? x : std::max(x, 0.0f) + p.alpha * std::expm1(std::min(x, 0.0f) / p.alpha);
    case ActKind::gelu: {
      const float xc = clampneg(x);
      return 0.5f * xc * (1.0f + std::erf(xc * kInvSqrt2));
    }
    case ActKind::gelu_approx: {
      const float xc = clampneg(x);
      const float u = kSqrt2OverPi * (xc + kGeluC * xc * xc * xc);
      return 0.5f * xc * (1.0f + std::tanh(u));
    }
    case ActKind::sigmoid: return sigmoidf(x);
    case ActKind::hard_sigmoid: return std::isnan(x) ? x : std::min(std::max(x / 6.0f + 0.5f, 0.0f), 1.0f);
    case ActKind::hard_silu: {
      if (std::isnan(x)) return x;
      const float xc = clampneg(x);
      return xc * std::min(std::max(xc + 3.0f, 0.0f), 6.0f) / 6.0f;
    }
    case ActKind::tanh: return std::tanh(x);
    case ActKind::softplus: return softplusf(x);
    case ActKind::softsign: return x / (1.0f + std::fabs(x));
    case ActKind::silu: {
      const float xc = clampneg(x);
      return xc * sigmoidf(xc);
    }
    case ActKind::mish: {
      const float xc = clampneg(x);
      return xc * std::tanh(softplusf(xc));
    }
    case ActKind::exponential: return std::exp(x);
    case ActKind::log_sigmoid: return -softplusf(-x);
    default: return x;
  }
}

// derivative dy/dx at x (y = f(x) given when cheaper)
float grad1(ActKind kind, const ActParams& p, float x, float y) {
  switch (kind) {
    case ActKind::linear: return 1.0f;
    case ActKind::relu:
      if (relu_is_plain(p)) return (y > 0 && y < p.max_value) ? 1.0f : (std::isnan(y) ? y : 0.0f);
      return relu_general_grad(p, x);
    case ActKind::leaky_relu: return std::isnan(x) ? x : (x >= 0 ? 1.0f : p.negative_slope);
    case ActKind::relu6: return std::isnan(y) ? y : ((y > 0 && y < 6.0f) ? 1.0f : 0.0f);
    case ActKind::elu: return x > 0 ? 1.0f : y + p.alpha;
    case ActKind::selu: return x > 0 ? kSeluScale : y + kSeluScale * kSeluAlpha;
    case ActKind::celu: return x > 0 ? 1.0f : y / p.alpha + 1.0f;
    case ActKind::gelu: {
      const float xc = clampneg(x);
      return 0.5f * (1.0f + std::erf(xc * kInvSqrt2)) + xc * kInvSqrt2Pi * std::exp(-0.5f * xc * xc);
    }
    case ActKind::gelu_approx: {
      const float xc = std::max(std::min(x, 1e15f), -1e15f);
      if (std::isnan(x)) return x;
      const float u = kSqrt2OverPi * (xc + kGeluC * xc * xc * xc);
      const float t = std::tanh(u);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * xc * xc);
      const float sech2 = 1.0f - t * t;
      return 0.5f * (1.0f + t) + (sech2 == 0.0f ? 0.0f : 0.5f * xc * sech2 * du);
    }
    case ActKind::sigmoid: return y * (1.0f - y);
    case ActKind::hard_sigmoid: return std::isnan(x) ? x : ((x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f);
    case ActKind::hard_silu:
      if (std::isnan(x)) return x;
      if (x < -3.0f) return 0.0f;
      if (x > 3.0f) return 1.0f;
      return (2.0f * x + 3.0f) / 6.0f;
    case ActKind::tanh: return 1.0f - y * y;
    case ActKind::softplus: return sigmoidf(x);
    case ActKind::softsign: {
      const float a = 1.0f + std::fabs(x);
      return 1.0f / (a * a);
    }
    case ActKind::silu: {
      const float xc = clampneg(x);
      const float s = sigmoidf(xc);
      return s + xc * s * (1.0f - s);
    }
    case ActKind::mish: {
      const float xc = clampneg(x);
      const float t = std::tanh(softplusf(xc));
      return t + xc * sigmoidf(xc) * (1.0f - t * t);
    }
    case ActKind::exponential: return y;
    case ActKind::log_sigmoid: return sigmoidf(-x);
    default: return 1.0f;
  }
}

}  // namespace

ActNeeds activation_backward_needs(ActKind kind, const ActParams& p) {
  switch (kind) {
    case ActKind::linear: return {false, false};
    case ActKind::relu: return relu_is_plain(p) ? ActNeeds{false, true} : ActNeeds{true, false};
    case ActKind::relu6:
    case ActKind::sigmoid:
    case ActKind::tanh:
    case ActKind::exponential:
    case ActKind::softmax:
    case ActKind::log_softmax: return {false, true};
    case ActKind::elu:
    case ActKind::selu:
    case ActKind::celu: return {true, true};
    default: return {true, false};
  }
}

void activation_forward(ActKind kind, const ActParams& p, const float* x, float* y, std::int64_t rows,
                        std::int64_t cols) {
  FtzScope ftz;
  if (kind == ActKind::softmax || kind == ActKind::log_softmax) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = -std::numeric_limits<float>::infinity();
      bool nan = false;
      for (std::int64_t j = 0; j < cols; ++j) {
        if (std::isnan(xr[j])) nan = true;
        m = std::max(m, xr[j]);
      }
      if (nan) m = std::numeric_limits<float>::quiet_NaN();
      float s = 0.0f;
      if (kind == ActKind::softmax) {
        for (std::int64_t j = 0; j < cols; ++j) {
          yr[j] = std::exp(xr[j] - m);
          s += yr[j];
        }
        const float inv = 1.0f / s;
        for (std::int64_t j = 0; j < cols; ++j) yr[j] *= inv;
      } else {
        for (std::int64_t j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
        const float ls = std::log(s);
        for (std::int64_t j = 0; j < cols; ++j) yr[j] = xr[j] - m - ls;
      }
    }
    return;
  }
  const std::int64_t n = rows * cols;
  for (std::int64_t i = 0; i < n; ++i) y[i] = fwd1(kind, p, x[i]);
}

void activation_backward(ActKind kind, const ActParams& p, const float* x, const float* y, const float* dy,
                         float* dx, std::int64_t rows, std::int64_t cols) {
  FtzScope ftz;
  if (kind == ActKind::softmax || kind == ActKind::log_softmax) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float* dxr = dx + r * cols;
      float s = 0.0f;
      if (kind == ActKind::softmax) {
        for (std::int64_t j = 0; j < cols; ++j) s += dyr[j] * yr[j];
        for (std::int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - s);
      } else {
        for (std::int64_t j = 0; j < cols; ++j) s += dyr[j];
        for (std::int64_t j = 0; j < cols; ++j) dxr[j] = dyr[j] - std::exp(yr[j]) * s;
      }
    }
    return;
  }
  const std::int64_t n = rows * cols;
  for (std::int64_t i = 0; i < n; ++i) {
    const float xi = x ? x[i] : 0.0f;
    const float yi = y ? y[i] : 0.0f;
    dx[i] = dy[i] * grad1(kind, p, xi, yi);
  }
}

}  // namespace ranvier
