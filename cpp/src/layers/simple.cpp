// Flatten (identity on rows) and the activation layers (Activation, ReLU, LeakyReLU,
// ELU, Softmax): y = f(x) through ops/activations.
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer_table.h"
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

// ---------------------------------------------------------------------------- table rows
namespace {

std::shared_ptr<Layer> flatten_from_config(const json::Value& c, const LayerArgs& a) {
  bool channels_first = false;
  if (const json::Value* df = c.find("data_format"); df && !df->is_null()) {
    if (!df->is_string() || (df->as_string() != "channels_first" && df->as_string() != "channels_last"))
      throw std::invalid_argument(a.where + ": data_format must be null, \"channels_last\" or \"channels_first\"");
    channels_first = df->as_string() == "channels_first";
  }
  return std::make_shared<Flatten>(a.sample_shape ? *a.sample_shape : std::vector<std::int64_t>(), channels_first);
}

std::shared_ptr<Layer> activation_from_config(const json::Value& c, const LayerArgs& a) {
  ActKind kind;
  ActParams p;
  const json::Value* act = c.find("activation");
  if (!act) throw std::invalid_argument(a.where + ": 'activation' is missing");
  cfg::parse_activation(*act, kind, p, a.where);
  return std::make_shared<ActivationLayer>(kind, p, "Activation");
}

std::shared_ptr<Layer> relu_from_config(const json::Value& c, const LayerArgs& a) {
  ActParams p;
  const double mv = cfg::get_num(c, "max_value", INFINITY, a.where);
  p.max_value = std::isfinite(mv) ? static_cast<float>(mv) : INFINITY;
  p.negative_slope = static_cast<float>(cfg::get_num(c, "negative_slope", 0.0, a.where));
  p.threshold = static_cast<float>(cfg::get_num(c, "threshold", 0.0, a.where));
  if (p.max_value < 0 || p.negative_slope < 0 || p.threshold < 0)
    throw std::invalid_argument(a.where + ": negative parameter");
  return std::make_shared<ActivationLayer>(ActKind::relu, p, "ReLU");
}

std::shared_ptr<Layer> leaky_relu_from_config(const json::Value& c, const LayerArgs& a) {
  ActParams p;
  p.negative_slope =
      static_cast<float>(cfg::get_num(c, "negative_slope", cfg::get_num(c, "alpha", 0.3, a.where), a.where));
  return std::make_shared<ActivationLayer>(ActKind::leaky_relu, p, "LeakyReLU");
}

std::shared_ptr<Layer> elu_from_config(const json::Value& c, const LayerArgs& a) {
  ActParams p;
  p.alpha = static_cast<float>(cfg::get_num(c, "alpha", 1.0, a.where));
  return std::make_shared<ActivationLayer>(ActKind::elu, p, "ELU");
}

std::shared_ptr<Layer> softmax_from_config(const json::Value& c, const LayerArgs& a) {
  check_last_axis(c, a.where);
  return std::make_shared<ActivationLayer>(ActKind::softmax, ActParams(), "Softmax");
}

}  // namespace

const LayerRow layer_row_Flatten = {"Flatten", flatten_from_config, nullptr, false};
const LayerRow layer_row_Activation = {"Activation", activation_from_config, nullptr, false};
const LayerRow layer_row_ReLU = {"ReLU", relu_from_config, nullptr, false};
const LayerRow layer_row_LeakyReLU = {"LeakyReLU", leaky_relu_from_config, nullptr, false};
const LayerRow layer_row_ELU = {"ELU", elu_from_config, nullptr, false};
const LayerRow layer_row_Softmax = {"Softmax", softmax_from_config, nullptr, false};

}  // namespace ranvier
