// Normalization (keras.layers.Normalization(axis=-1, mean=None, variance=None, invert=False)):
//   y = (x - mean) / max(sqrt(variance), 1e-7)        (invert: y = mean + x * max(sqrt(variance), 1e-7))
// in float32, Keras's order of operations and epsilon (backend.epsilon()). mean/variance are
// per feature (axis=-1) or one scalar (axis=None: "axis": [] or null in the config).
//
// Two modes, as in Keras 3:
// - "mean"/"variance" in the config: constants held by the layer (from the config, which the
//   model file keeps); no weights.
// - otherwise (adapt mode): non-trainable weights mean (zeros), variance (ones) and count
//   (a scalar Keras keeps for old files; never read here), which Python's adapt() and
//   set_weights fill and the model file saves.
// Backward: dx = dy / scale (invert: dx = dy * scale); no parameter gradients.
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

constexpr float kEpsilon = 1e-7f;  // keras.backend.epsilon()

class Normalization final : public Layer {
 public:
  // per_feature: axis=-1 (else one scalar). mean/variance: empty in adapt mode, else one
  // value (broadcast) or one per feature (checked at build).
  Normalization(bool per_feature, bool invert, std::vector<float> mean, std::vector<float> variance)
      : per_feature_(per_feature), invert_(invert), cmean_(std::move(mean)), cvar_(std::move(variance)) {
    if (cmean_.size() != cvar_.size())
      throw std::invalid_argument(
          "When setting values directly, `mean` and `variance` must have the same shape. Received: mean with " +
          std::to_string(cmean_.size()) + " values and variance with " + std::to_string(cvar_.size()) + " values");
    if (!per_feature_ && cmean_.size() > 1)
      throw std::invalid_argument("Normalization: with axis=None, `mean` and `variance` must be scalars, got " +
                                  std::to_string(cmean_.size()) + " values");
    for (std::size_t j = 0; j < cvar_.size(); ++j)  // sqrt of a negative variance: NaN outputs
      if (!(cvar_[j] >= 0.0f))
        throw std::invalid_argument("Normalization: `variance` must hold values >= 0, got variance[" +
                                    std::to_string(j) + "]=" + std::to_string(cvar_[j]));
  }

  const char* type_name() const override { return "Normalization"; }
  bool adapt_mode() const { return cmean_.empty(); }

  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("Normalization: input must have at least one feature, got " +
                                  std::to_string(in_features));
    if (!adapt_mode() && cmean_.size() != 1 && static_cast<std::int64_t>(cmean_.size()) != in_features)
      throw std::invalid_argument("Normalization: `mean` and `variance` have " + std::to_string(cmean_.size()) +
                                  " values, which cannot be broadcast to the input's " +
                                  std::to_string(in_features) + " features");
    n_ = in_features;
    k_ = per_feature_ ? n_ : 1;
    scale_.assign(static_cast<std::size_t>(n_), 1.0f);
    mean_.assign(static_cast<std::size_t>(n_), 0.0f);
    if (!adapt_mode()) {
      for (std::int64_t j = 0; j < n_; ++j) {
        const std::size_t s = cmean_.size() == 1 ? 0 : static_cast<std::size_t>(j);
        mean_[static_cast<std::size_t>(j)] = cmean_[s];
        scale_[static_cast<std::size_t>(j)] = std::max(std::sqrt(cvar_[s]), kEpsilon);
      }
    }
    return n_;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }

  std::vector<ParamSpec> param_specs() const override {
    if (!adapt_mode()) return {};
    std::vector<std::int64_t> shape;
    if (per_feature_) shape.push_back(k_);
    return {{"mean", shape, false}, {"variance", shape, false}, {"count", {}, false}};
  }

  void bind(const std::vector<float*>& params, const std::vector<float*>& grads) override {
    const std::size_t want = adapt_mode() ? 3 : 0;
    if (params.size() != want || grads.size() != want)
      throw std::invalid_argument("Normalization.bind: expected " + std::to_string(want) + " params and grads");
    if (want) {
      pmean_ = params[0];
      pvar_ = params[1];
    }
  }

  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    if (adapt_mode()) {
      if (!pmean_ || !pvar_) throw std::logic_error("Normalization.forward: parameters are not bound");
      // The weights may have changed (adapt, set_weights, a loaded file): n values.
      for (std::int64_t j = 0; j < n_; ++j) {
        const std::int64_t s = per_feature_ ? j : 0;
        mean_[static_cast<std::size_t>(j)] = pmean_[s];
        scale_[static_cast<std::size_t>(j)] = std::max(std::sqrt(pvar_[s]), kEpsilon);
      }
    }
    const std::int64_t n = n_;
    const float* m = mean_.data();
    const float* sc = scale_.data();
    const bool inv = invert_;
    layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        if (inv) {
          for (std::int64_t j = 0; j < n; ++j) yr[j] = m[j] + xr[j] * sc[j];
        } else {
          for (std::int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m[j]) / sc[j];
        }
      }
    });
    return 0.0;
  }

  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override {
    (void)x; (void)y; (void)dy_is_preactivation;
    if (batch <= 0 || !dx) return;
    const std::int64_t n = n_;
    const float* sc = scale_.data();
    const bool inv = invert_;
    layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* dyr = dy + r * n;
        float* dxr = dx + r * n;
        if (inv) {
          for (std::int64_t j = 0; j < n; ++j) dxr[j] = dyr[j] * sc[j];
        } else {
          for (std::int64_t j = 0; j < n; ++j) dxr[j] = dyr[j] / sc[j];
        }
      }
    });
  }

 private:
  bool per_feature_;
  bool invert_;
  std::vector<float> cmean_, cvar_;  // constants (empty in adapt mode)
  std::int64_t n_ = 0, k_ = 0;
  float* pmean_ = nullptr;
  float* pvar_ = nullptr;
  std::vector<float> mean_, scale_;  // per feature: mean and max(sqrt(var), eps)
};

// axis: -1 or a positive int (the last axis of the samples, alone or in a list) -> per
// feature; null or [] -> scalar.
bool parse_axis(const json::Value& c, const std::string& where) {
  const json::Value* a = c.find("axis");
  if (!a) return true;
  if (a->is_null()) return false;
  const json::Value* one = a;
  if (a->is_array()) {
    const auto& items = a->as_array("axis");
    if (items.empty()) return false;
    if (items.size() != 1)
      throw std::invalid_argument(where + ": ranvier normalizes over the last axis only (axis=-1) or over all "
                                  "values (axis=None), got axis=" + cfg::shown(*a));
    one = &items[0];
  }
  // Python checked that the axis is the last one of the input; rows hold it in their columns.
  if (!one->is_number() || !(one->as_double() == -1.0 || (one->as_double() >= 1.0 && one->as_double() < 64.0)))
    throw std::invalid_argument(where + ": ranvier normalizes over the last axis only (axis=-1) or over all "
                                "values (axis=None), got axis=" + cfg::shown(*a));
  return true;
}

// A scalar, or a list of numbers (nested lists of one value each are flattened, as
// np.array(mean).tolist() writes a (1, n) mean), as float32 values; empty when null.
void flat_numbers(const json::Value& v, std::vector<float>& out, const char* key, const std::string& where) {
  if (v.is_array()) {
    for (const auto& item : v.as_array(key)) flat_numbers(item, out, key, where);
    return;
  }
  if (!v.is_number() || !std::isfinite(v.as_double()))
    throw std::invalid_argument(where + ": `" + key + "` must hold finite numbers, got " + cfg::shown(v));
  if (!std::isfinite(static_cast<float>(v.as_double())))  // 1e39: inf as the float32 the layer holds
    throw std::invalid_argument(where + ": `" + key + "` holds " + cfg::shown(v) + ", which overflows float32");
  out.push_back(static_cast<float>(v.as_double()));
}

std::vector<float> read_stats(const json::Value& c, const char* key, const std::string& where) {
  std::vector<float> out;
  const json::Value* v = c.find(key);
  if (v && !v->is_null()) {
    flat_numbers(*v, out, key, where);
    if (out.empty())
      throw std::invalid_argument(where + ": `" + key + "` must not be empty, got " + cfg::shown(*v));
  }
  return out;
}

std::shared_ptr<Layer> normalization_from_config(const json::Value& c, const LayerArgs& a) {
  const bool per_feature = parse_axis(c, a.where);
  const bool invert = cfg::get_bool(c, "invert", false, a.where);
  const json::Value* m = c.find("mean");
  const json::Value* v = c.find("variance");
  const bool has_m = m && !m->is_null(), has_v = v && !v->is_null();
  if (has_m != has_v)
    throw std::invalid_argument("When setting values directly, both `mean` and `variance` must be set. Received: mean=" +
                                (m ? cfg::shown(*m) : std::string("None")) +
                                " and variance=" + (v ? cfg::shown(*v) : std::string("None")));
  std::vector<float> mean = read_stats(c, "mean", a.where), var = read_stats(c, "variance", a.where);
  return std::make_shared<Normalization>(per_feature, invert, std::move(mean), std::move(var));
}

// adapt mode: mean and variance (per feature or scalar) and count; constants: none
std::uint64_t normalization_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                        const std::string& where) {
  *out = in;
  const json::Value* m = c.find("mean");
  if (m && !m->is_null()) return 0;
  const std::uint64_t k = parse_axis(c, where) ? in : 1;
  const std::uint64_t two = sat_mul(k, 2);
  return two == UINT64_MAX ? two : two + 1;
}

}  // namespace

const LayerRow layer_row_Normalization = {"Normalization", normalization_from_config, normalization_param_count,
                                          false};

}  // namespace ranvier
