// Flatten (identity on rows) and the activation layers (Activation, ReLU, LeakyReLU,
// ELU, Softmax): y = f(x) through ops/activations.
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "layers/layers.h"
#include "runtime/runtime.h"

namespace ranvier {

namespace {
void copy_rows(const float* src, float* dst, std::int64_t n) {
  if (src != dst && n > 0) std::memcpy(dst, src, sizeof(float) * static_cast<std::size_t>(n));
}
}  // namespace

// ---------------------------------------------------------------------------- Flatten
Flatten::Flatten(std::vector<std::int64_t> sample_shape, bool channels_first)
    : shape_(std::move(sample_shape)), want_channels_first_(channels_first) {}

std::int64_t Flatten::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument("Flatten: input must have at least one feature, got " + std::to_string(in_features));
  n_ = in_features;
  channels_ = spatial_ = 0;
  if (want_channels_first_ && shape_.size() >= 2) {
    std::int64_t prod = 1;
    for (auto d : shape_) {
      if (d <= 0 || prod > in_features / d)
        throw std::invalid_argument("Flatten: the sample shape does not match " + std::to_string(in_features) +
                                    " input features");
      prod *= d;
    }
    if (prod != in_features)
      throw std::invalid_argument("Flatten: the sample shape holds " + std::to_string(prod) + " values, not " +
                                  std::to_string(in_features));
    channels_ = shape_.front();
    spatial_ = in_features / channels_;
    if (channels_ == 1 || spatial_ == 1) channels_ = spatial_ = 0;  // the reorder is the identity
  }
  return n_;
}

double Flatten::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  (void)ctx;
  if (channels_ == 0) {
    copy_rows(x, y, batch * n_);
    return 0.0;
  }
  const std::int64_t C = channels_, S = spatial_;
  for (std::int64_t r = 0; r < batch; ++r) {
    const float* xr = x + r * n_;
    float* yr = y + r * n_;
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t s = 0; s < S; ++s) yr[s * C + c] = xr[c * S + s];
  }
  return 0.0;
}

void Flatten::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                       bool dy_is_preactivation) {
  (void)x; (void)y; (void)dy_is_preactivation;
  if (!dx) return;
  if (channels_ == 0) {
    copy_rows(dy, dx, batch * n_);
    return;
  }
  const std::int64_t C = channels_, S = spatial_;
  for (std::int64_t r = 0; r < batch; ++r) {
    const float* dyr = dy + r * n_;
    float* dxr = dx + r * n_;
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t s = 0; s < S; ++s) dxr[c * S + s] = dyr[s * C + c];
  }
}

// ---------------------------------------------------------------------------- ActivationLayer
ActivationLayer::ActivationLayer(ActKind kind, const ActParams& params, std::string type_name)
    : kind_(kind), params_(params), type_name_(std::move(type_name)) {}

std::int64_t ActivationLayer::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument(type_name_ + ": input must have at least one feature, got " +
                                std::to_string(in_features));
  n_ = in_features;
  return n_;
}

double ActivationLayer::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  (void)ctx;
  if (batch <= 0) return 0.0;
  FtzScope ftz;
  if (kind_ == ActKind::linear) {
    copy_rows(x, y, batch * n_);
  } else {
    activation_forward(kind_, params_, x, y, batch, n_);
  }
  return 0.0;
}

void ActivationLayer::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                               bool dy_is_preactivation) {
  if (batch <= 0 || !dx) return;
  FtzScope ftz;
  if (kind_ == ActKind::linear || dy_is_preactivation) {
    copy_rows(dy, dx, batch * n_);
  } else {
    activation_backward(kind_, params_, x, y, dy, dx, batch, n_);
  }
}

}  // namespace ranvier
