// Flatten (identity on rows) and the activation layers (Activation, ReLU, LeakyReLU,
// ELU, Softmax): y = f(x) through ops/activations.
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "layers/layers.h"
#include "runtime/runtime.h"

namespace ranvier {

namespace {
void copy_rows(const float* src, float* dst, std::int64_t n) {
  if (src != dst && n > 0) std::memcpy(dst, src, sizeof(float) * static_cast<std::size_t>(n));
}
}  // namespace

// ---------------------------------------------------------------------------- Flatten
std::int64_t Flatten::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument("Flatten: input must have at least one feature, got " + std::to_string(in_features));
  n_ = in_features;
  return n_;
}

double Flatten::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  (void)ctx;
  copy_rows(x, y, batch * n_);
  return 0.0;
}

void Flatten::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                       bool dy_is_preactivation) {
  (void)x; (void)y; (void)dy_is_preactivation;
  if (dx) copy_rows(dy, dx, batch * n_);
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
