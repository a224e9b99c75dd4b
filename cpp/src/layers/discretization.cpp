// Discretization (keras.layers.Discretization(bin_boundaries=None, num_bins=None, epsilon=0.01,
// output_mode="int")), output_mode "int": each value becomes the index of its bucket, the number
// of boundaries <= x (np.digitize, right=False: a value equal to a boundary goes up; NaN gives
// the last bucket), as a float32 in the network's rows (Keras outputs int32). One list of
// boundaries for every feature, as Keras. No weights; piecewise constant, so dx = 0.
// The boundaries come from the config ("bin_boundaries"; Python's adapt() computes them with
// Keras's quantile summaries), so the model file holds them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

class Discretization final : public Layer {
 public:
  explicit Discretization(std::vector<float> b) : b_(std::move(b)) {
    for (std::size_t i = 1; i < b_.size(); ++i)
      if (!(b_[i - 1] <= b_[i]))
        throw std::invalid_argument("Discretization: `bin_boundaries` must be sorted in increasing order, got " +
                                    cfg::shown(b_[i - 1]) + " before " + cfg::shown(b_[i]));
  }
  const char* type_name() const override { return "Discretization"; }
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("Discretization: input must have at least one feature, got " +
                                  std::to_string(in_features));
    return n_ = in_features;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    const float* b0 = b_.data();
    const float* b1 = b0 + b_.size();
    layers_detail::parallel_ranges(batch, n_ * 4, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t i = r0 * n_; i < r1 * n_; ++i) {
        const float v = x[i];
        // NaN compares false everywhere: upper_bound gives the end, the last bucket (as np.digitize)
        y[i] = static_cast<float>(std::upper_bound(b0, b1, v) - b0);
      }
    });
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)dy; (void)pre;
    if (dx && batch > 0) std::memset(dx, 0, sizeof(float) * static_cast<std::size_t>(batch * n_));
  }

 private:
  std::vector<float> b_;
  std::int64_t n_ = 0;
};

std::shared_ptr<Layer> discretization_from_config(const json::Value& c, const LayerArgs& a) {
  const json::Value* mode = c.find("output_mode");
  if (mode && !mode->is_null() && !(mode->is_string() && mode->as_string() == "int"))
    throw std::invalid_argument(a.where + ": ranvier's Discretization computes output_mode=\"int\" only, got "
                                "output_mode=" + cfg::shown(*mode));
  const json::Value* bb = c.find("bin_boundaries");
  if (!bb || bb->is_null())
    throw std::invalid_argument(
        "You need to either pass the `bin_boundaries` argument at construction time or call `adapt(dataset)` "
        "before you can start using the `Discretization` layer.");
  std::vector<float> b;
  for (const auto& v : bb->as_array("bin_boundaries")) {
    if (!v.is_number() || std::isnan(v.as_double()))
      throw std::invalid_argument(a.where + ": `bin_boundaries` must be a list of numbers, got " + cfg::shown(*bb));
    b.push_back(static_cast<float>(v.as_double()));
  }
  return std::make_shared<Discretization>(std::move(b));
}

}  // namespace

const LayerRow layer_row_Discretization = {"Discretization", discretization_from_config, nullptr, false};

}  // namespace ranvier
