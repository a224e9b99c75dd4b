// GaussianDropout and AlphaDropout (Keras 3), active in training only (the identity in
// predict/evaluate, in C/C++ apps and in the ONNX export). No weights.
//
// GaussianDropout(rate, seed=None): y = x * (1 + sqrt(rate / (1 - rate)) * z), z standard
// normal (Keras: x * normal(mean=1, stddev)); dx = dy * the same factor. Off when rate is 0.
//
// AlphaDropout(rate, noise_shape=None, seed=None): keep = (u >= rate), u uniform in [0, 1) (one u per
// element, or shared along an axis whose noise_shape entry is 1);
// with alpha' = -1.0507009873554805 * 1.6732632423543772, a = ((1 - rate)(1 + rate alpha'^2))^-1/2
// and b = -a alpha' rate: y = a (x keep + alpha' (1 - keep)) + b; dx = a keep dy. Off when
// rate is 0.
//
// The random numbers of element i (row * features + column of the batch) are a pure function
// of (seed, step, i) (layers/counter_rng.h): h = element_hash(call_key(seed, step), i);
// z = sqrt(-2 ln u1) cos(2 pi u2) with u1 = (hi + 0.5) / 2^32, u2 = lo / 2^32 (as GaussianNoise);
// u = hi / 2^32. Backward draws them again from the step of the last training forward, so
// nothing is stored per element, and the values are the same at any thread count.
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "layers/counter_rng.h"
#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

void check_rate(double rate, const std::string& shown) {
  if (!(rate >= 0.0 && rate <= 1.0))
    throw std::invalid_argument(
        "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=" + shown);
}

inline double normal_of(std::uint64_t h) {
  const double u1 = (static_cast<double>(h >> 32) + 0.5) * (1.0 / 4294967296.0);
  const double u2 = static_cast<double>(h & 0xFFFFFFFFull) * (1.0 / 4294967296.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

class NoiseDropoutBase : public Layer {
 public:
  NoiseDropoutBase(double rate, std::uint64_t seed) : rate_(rate), seed_(seed) {}
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument(std::string(type_name()) + ": input must have at least one feature, got " +
                                  std::to_string(in_features));
    return n_ = in_features;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }

  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    active_ = ctx.training && rate_ > 0.0;
    if (batch <= 0) return 0.0;
    if (!active_) {
      if (x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(batch * n_));
      return 0.0;
    }
    key_ = counter_rng::call_key(seed_, ctx.step);
    const std::int64_t n = n_;
    layers_detail::parallel_ranges(batch, n * 16, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t j = 0; j < n; ++j) y[r * n + j] = apply(x[r * n + j], draw(r, j));
    });
    return 0.0;
  }

  // noise_shape (AlphaDropout): one draw shared by every row (rows) or every feature of a row (cols)
  void set_broadcast(bool rows, bool cols) { bcast_rows_ = rows; bcast_cols_ = cols; }

  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)pre;
    if (!dx || batch <= 0) return;
    if (!active_) {
      if (dx != dy) std::memcpy(dx, dy, sizeof(float) * static_cast<std::size_t>(batch * n_));
      return;
    }
    const std::int64_t n = n_;
    layers_detail::parallel_ranges(batch, n * 16, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t j = 0; j < n; ++j) dx[r * n + j] = dy[r * n + j] * slope(draw(r, j));
    });
  }

 protected:
  // The random bits of element (r, j): its index in the batch, or in the noise_shape.
  std::uint64_t draw(std::int64_t r, std::int64_t j) const {
    const std::int64_t i = (bcast_rows_ ? 0 : r) * (bcast_cols_ ? 1 : n_) + (bcast_cols_ ? 0 : j);
    return counter_rng::element_hash(key_, static_cast<std::uint64_t>(i));
  }
  virtual float apply(float x, std::uint64_t h) const = 0;  // y of one element
  virtual float slope(std::uint64_t h) const = 0;           // dy/dx of one element
  double rate_;
  std::uint64_t seed_;
  std::int64_t n_ = 0;
  bool active_ = false;
  bool bcast_rows_ = false, bcast_cols_ = false;
  std::uint64_t key_ = 0;
};

class GaussianDropout final : public NoiseDropoutBase {
 public:
  GaussianDropout(double rate, std::uint64_t seed)
      : NoiseDropoutBase(rate, seed), stddev_(rate < 1.0 ? std::sqrt(rate / (1.0 - rate)) : HUGE_VAL) {}
  const char* type_name() const override { return "GaussianDropout"; }

 protected:
  float apply(float x, std::uint64_t h) const override { return x * slope(h); }
  float slope(std::uint64_t h) const override { return static_cast<float>(1.0 + stddev_ * normal_of(h)); }

 private:
  double stddev_;
};

class AlphaDropout final : public NoiseDropoutBase {
 public:
  AlphaDropout(double rate, std::uint64_t seed) : NoiseDropoutBase(rate, seed) {
    const double alpha_p = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717;
    const double a = std::pow((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p), -0.5);
    a_ = static_cast<float>(a);
    b_ = static_cast<float>(-a * alpha_p * rate);
    alpha_p_ = static_cast<float>(alpha_p);
    thr_ = static_cast<std::uint64_t>(std::ceil(rate * 4294967296.0));  // u >= rate <=> hi >= rate * 2^32
  }
  const char* type_name() const override { return "AlphaDropout"; }

 protected:
  bool keep(std::uint64_t h) const { return (h >> 32) >= thr_; }
  float apply(float x, std::uint64_t h) const override { return a_ * (keep(h) ? x : alpha_p_) + b_; }
  float slope(std::uint64_t h) const override { return keep(h) ? a_ : 0.0f; }

 private:
  float a_ = 1.0f, b_ = 0.0f, alpha_p_ = 0.0f;
  std::uint64_t thr_ = 0;
};

double rate_of(const json::Value& c) {
  const json::Value* r = c.find("rate");
  const json::Value none;
  const json::Value& rate = r ? *r : none;
  check_rate(rate.is_number() ? rate.as_double() : -1.0, cfg::shown(rate));
  return rate.as_double();
}

std::shared_ptr<Layer> gaussian_dropout_from_config(const json::Value& c, const LayerArgs& a) {
  const double rate = rate_of(c);
  return std::make_shared<GaussianDropout>(rate, config_seed(c, a.seed, a.where));
}

std::shared_ptr<Layer> alpha_dropout_from_config(const json::Value& c, const LayerArgs& a) {
  const double rate = rate_of(c);
  // noise_shape: null, or [rows, cols] with 1 where one draw is shared along that axis
  // (anything else: a draw per element there)
  bool rows = false, cols = false;
  const json::Value* ns = c.find("noise_shape");
  if (ns && !ns->is_null()) {
    const auto& dims = ns->as_array("noise_shape");
    if (dims.size() != 2)
      throw std::invalid_argument(a.where + ": noise_shape must have 2 entries (batch, features), got noise_shape=" +
                                  cfg::shown(*ns));
    rows = dims[0].is_number() && dims[0].as_double() == 1.0;
    cols = dims[1].is_number() && dims[1].as_double() == 1.0;
  }
  auto layer = std::make_shared<AlphaDropout>(rate, config_seed(c, a.seed, a.where));
  layer->set_broadcast(rows, cols);
  return layer;
}

}  // namespace

const LayerRow layer_row_GaussianDropout = {"GaussianDropout", gaussian_dropout_from_config, nullptr, true};
const LayerRow layer_row_AlphaDropout = {"AlphaDropout", alpha_dropout_from_config, nullptr, true};

}  // namespace ranvier
