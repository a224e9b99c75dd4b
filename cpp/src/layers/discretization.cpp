// Discretization (keras.layers.Discretization(bin_boundaries=None, num_bins=None, epsilon=0.01,
// output_mode="int")): each value's bucket is the number of boundaries <= x (np.digitize,
// right=False: a value equal to a boundary goes up; NaN gives the last bucket). One list of
// boundaries for every feature, as Keras. With depth = boundaries + 1, the output per sample is
// - "int": the bucket of each feature, as a float32 in the network's rows (Keras outputs int32);
// - "one_hot": the bucket one-hot encoded (depth wide; one input feature, as Keras's 2-D case);
// - "multi_hot": 1 at the buckets any feature falls in (depth wide);
// - "count": how many features fall in each bucket (depth wide).
// No weights; piecewise constant, so dx = 0.
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

enum class Mode { int_, one_hot, multi_hot, count };

class Discretization final : public Layer {
 public:
  Discretization(std::vector<float> b, Mode mode) : b_(std::move(b)), mode_(mode) {
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
    if (mode_ == Mode::one_hot && in_features != 1)
      throw std::invalid_argument("Discretization: output_mode=\"one_hot\" encodes one feature per sample in "
                                  "ranvier (Keras gives rank 3 otherwise), got " + std::to_string(in_features) +
                                  " features; use \"multi_hot\" or \"count\", or one layer per column");
    n_ = in_features;
    out_ = mode_ == Mode::int_ ? n_ : static_cast<std::int64_t>(b_.size()) + 1;
    return out_;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return out_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    const float* b0 = b_.data();
    const float* b1 = b0 + b_.size();
    const std::int64_t n = n_, out = out_;
    const Mode mode = mode_;
    layers_detail::parallel_ranges(batch, n * 4 + out, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * out;
        if (mode != Mode::int_) std::fill(yr, yr + out, 0.0f);
        for (std::int64_t j = 0; j < n; ++j) {
          // NaN compares false everywhere: upper_bound gives the end, the last bucket (as np.digitize)
          const std::int64_t k = std::upper_bound(b0, b1, xr[j]) - b0;
          if (mode == Mode::int_) yr[j] = static_cast<float>(k);
          else if (mode == Mode::count) yr[k] += 1.0f;
          else yr[k] = 1.0f;
        }
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
  Mode mode_;
  std::int64_t n_ = 0, out_ = 0;
};

Mode mode_of(const json::Value& c, const std::string& where) {
  const json::Value* mode = c.find("output_mode");
  if (!mode || mode->is_null()) return Mode::int_;
  if (mode->is_string()) {
    const std::string& m = mode->as_string();
    if (m == "int") return Mode::int_;
    if (m == "one_hot") return Mode::one_hot;
    if (m == "multi_hot") return Mode::multi_hot;
    if (m == "count") return Mode::count;
  }
  throw std::invalid_argument(where + ": Unknown value for `output_mode` argument of layer Discretization. Allowed "
                              "values are: ('int', 'one_hot', 'multi_hot', 'count'). Received: output_mode=" +
                              cfg::shown(*mode));
}

std::shared_ptr<Layer> discretization_from_config(const json::Value& c, const LayerArgs& a) {
  const Mode mode = mode_of(c, a.where);
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
  return std::make_shared<Discretization>(std::move(b), mode);
}

// No weights; the output is boundaries + 1 wide in the encoding modes.
std::uint64_t discretization_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                         const std::string& where) {
  *out = in;
  if (mode_of(c, where) != Mode::int_) {
    const json::Value* bb = c.find("bin_boundaries");
    if (bb && bb->is_array()) *out = static_cast<std::uint64_t>(bb->as_array("bin_boundaries").size()) + 1;
  }
  return 0;
}

}  // namespace

const LayerRow layer_row_Discretization = {"Discretization", discretization_from_config,
                                           discretization_param_count, false};

}  // namespace ranvier
