// GaussianNoise (keras.layers.GaussianNoise(stddev, seed=None)): y = x + stddev * z in
// training, z standard normal; the identity otherwise (predict, evaluate) and when stddev
// is 0. No weights. d/dx = 1.
//
// z of element i (row * features + column of the batch) is a pure function of (seed,
// step, i) (layers/counter_rng.h): h = element_hash(call_key(seed, step), i), its two
// 32-bit halves give u1 = (hi + 0.5) / 2^32 in (0, 1) and u2 = lo / 2^32, and
// z = sqrt(-2 ln u1) cos(2 pi u2) (Box-Muller, in double). The noise is therefore the same
// at any thread count and on any machine, and new for every training step.
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

class GaussianNoise final : public Layer {
 public:
  GaussianNoise(double stddev, std::uint64_t seed) : stddev_(stddev), seed_(seed) {
    check_stddev(stddev, cfg::shown(stddev));
  }

  // The one check of `stddev` (Keras: in [0, 1]), naming the value as given.
  static void check_stddev(double stddev, const std::string& shown) {
    if (!(stddev >= 0.0 && stddev <= 1.0))
      throw std::invalid_argument(
          "Invalid value received for argument `stddev`. Expected a float value between 0 and 1. Received: stddev=" +
          shown);
  }

  const char* type_name() const override { return "GaussianNoise"; }
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("GaussianNoise: input must have at least one feature, got " +
                                  std::to_string(in_features));
    n_ = in_features;
    return n_;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }

  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    if (batch <= 0) return 0.0;
    const std::int64_t n = n_;
    if (!ctx.training || stddev_ == 0.0) {
      if (x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(batch * n));
      return 0.0;
    }
    const std::uint64_t key = counter_rng::call_key(seed_, ctx.step);
    const double stddev = stddev_;
    layers_detail::parallel_ranges(batch, n * 16, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t i = r0 * n; i < r1 * n; ++i) {
        const std::uint64_t h = counter_rng::element_hash(key, static_cast<std::uint64_t>(i));
        const double u1 = (static_cast<double>(h >> 32) + 0.5) * (1.0 / 4294967296.0);
        const double u2 = static_cast<double>(h & 0xFFFFFFFFull) * (1.0 / 4294967296.0);
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        y[i] = x[i] + static_cast<float>(stddev * z);
      }
    });
    return 0.0;
  }

  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override {
    (void)x; (void)y; (void)dy_is_preactivation;
    if (batch > 0 && dx && dx != dy) std::memcpy(dx, dy, sizeof(float) * static_cast<std::size_t>(batch * n_));
  }

 private:
  double stddev_;
  std::uint64_t seed_;
  std::int64_t n_ = 0;
};

std::shared_ptr<Layer> gaussian_noise_from_config(const json::Value& c, const LayerArgs& a) {
  const json::Value* s = c.find("stddev");
  if (!s) throw std::invalid_argument(a.where + ": 'stddev' is missing");  // Keras: a required argument
  const json::Value none;
  const json::Value& stddev = s ? *s : none;
  GaussianNoise::check_stddev(stddev.is_number() ? stddev.as_double() : -1.0, cfg::shown(stddev));
  return std::make_shared<GaussianNoise>(stddev.as_double(), config_seed(c, a.seed, a.where));
}

}  // namespace

const LayerRow layer_row_GaussianNoise = {"GaussianNoise", gaussian_noise_from_config, nullptr, true};

}  // namespace ranvier
