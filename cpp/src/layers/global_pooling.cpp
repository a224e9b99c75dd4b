// GlobalAveragePooling1D and GlobalMaxPooling1D: a per-sample (steps, features) input
// (channels_last; channels_first: (features, steps)) reduced over its steps to (features,)
// (keepdims: (1, features) / (features, 1), the same values). A row is the flattened sample,
// so the layer needs the sample's shape: LayerArgs::sample_shape (Python gives it the Keras
// shape; the model-file loaders track it, layer_output_sample_shape).
// - average: y = sum over steps / steps (summed in step order, in double); backward spreads
//   dy / steps to every step.
// - max: y = the largest value over steps (NaN if any is NaN, as Keras's reduce_max on CPU
//   propagates it); backward splits dy evenly over the steps that hold the maximum (ties
//   share it, as TensorFlow's gradient of reduce_max does).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

std::string dims_text(const std::vector<std::int64_t>& s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

class GlobalPooling1D final : public Layer {
 public:
  GlobalPooling1D(bool max, bool channels_first, std::vector<std::int64_t> sample_shape)
      : max_(max), channels_first_(channels_first), shape_(std::move(sample_shape)) {}
  const char* type_name() const override { return max_ ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D"; }

  std::int64_t build(std::int64_t in_features) override {
    const std::string who = type_name();
    if (shape_.empty())
      throw std::invalid_argument(who + ": needs the per-sample shape of its input (steps, features) to split the " +
                                  std::to_string(in_features) + " values of a row; none was given");
    if (shape_.size() != 2)
      throw std::invalid_argument(who + ": expected ndim=3 input (batch, steps, features), found ndim=" +
                                  std::to_string(shape_.size() + 1) + ". Per-sample shape received: " +
                                  dims_text(shape_));
    if (shape_[0] <= 0 || shape_[1] <= 0 || shape_[0] > in_features / shape_[1] + 1 ||
        shape_[0] * shape_[1] != in_features)
      throw std::invalid_argument(who + ": the per-sample shape " + dims_text(shape_) + " does not hold the " +
                                  std::to_string(in_features) + " values of a row (every dimension must be positive)");
    steps_ = channels_first_ ? shape_[1] : shape_[0];
    feats_ = channels_first_ ? shape_[0] : shape_[1];
    return feats_;
  }
  std::int64_t in_features() const override { return steps_ * feats_; }
  std::int64_t out_features() const override { return feats_; }

  // Element (step s, feature f) of a row is at s * step_stride + f * feat_stride.
  std::int64_t step_stride() const { return channels_first_ ? 1 : feats_; }
  std::int64_t feat_stride() const { return channels_first_ ? steps_ : 1; }

  // The reductions walk each row in memory order: features in blocks of kBlock (the inner,
  // contiguous axis for channels_last; for channels_first the steps are contiguous per
  // feature and a block is one feature). Sums are kept in double, in step order.
  static constexpr std::int64_t kBlock = 64;

  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    const std::int64_t S = steps_, F = feats_, ss = step_stride(), fs = feat_stride();
    const bool mx = max_;
    layers_detail::parallel_ranges(batch, S * F, [&](std::int64_t r0, std::int64_t r1) {
      double acc[kBlock];
      float m[kBlock];
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * S * F;
        float* yr = y + r * F;
        const std::int64_t bw = channels_first_ ? 1 : kBlock;
        for (std::int64_t f0 = 0; f0 < F; f0 += bw) {
          const std::int64_t nb = std::min(bw, F - f0);
          const float* p = xr + f0 * fs;
          if (mx) {
            for (std::int64_t j = 0; j < nb; ++j) m[j] = p[j * fs];
            for (std::int64_t s = 1; s < S; ++s) {
              const float* ps = p + s * ss;
              for (std::int64_t j = 0; j < nb; ++j) {
                const float v = ps[j * fs];
                m[j] = (v > m[j] || v != v) && m[j] == m[j] ? v : m[j];  // the first NaN stays
              }
            }
            for (std::int64_t j = 0; j < nb; ++j) yr[f0 + j] = m[j];
          } else {
            for (std::int64_t j = 0; j < nb; ++j) acc[j] = 0.0;
            for (std::int64_t s = 0; s < S; ++s) {
              const float* ps = p + s * ss;
              for (std::int64_t j = 0; j < nb; ++j) acc[j] += ps[j * fs];
            }
            for (std::int64_t j = 0; j < nb; ++j) yr[f0 + j] = static_cast<float>(acc[j] / static_cast<double>(S));
          }
        }
      }
    });
    return 0.0;
  }

  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)pre;
    if (!dx) return;
    const std::int64_t S = steps_, F = feats_, ss = step_stride(), fs = feat_stride();
    const bool mx = max_;
    layers_detail::parallel_ranges(batch, S * F, [&](std::int64_t r0, std::int64_t r1) {
      float share[kBlock];
      std::int64_t ties[kBlock];
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * S * F;
        const float* yr = y + r * F;
        const float* g = dy + r * F;
        float* d = dx + r * S * F;
        const std::int64_t bw = channels_first_ ? 1 : kBlock;
        for (std::int64_t f0 = 0; f0 < F; f0 += bw) {
          const std::int64_t nb = std::min(bw, F - f0);
          const float* p = xr + f0 * fs;
          float* q = d + f0 * fs;
          const float* m = yr + f0;
          if (mx) {  // dy split evenly over the steps equal to the maximum (NaN: the NaN steps)
            for (std::int64_t j = 0; j < nb; ++j) ties[j] = 0;
            for (std::int64_t s = 0; s < S; ++s)
              for (std::int64_t j = 0; j < nb; ++j) {
                const float v = p[s * ss + j * fs];
                ties[j] += (v == m[j] || (v != v && m[j] != m[j])) ? 1 : 0;
              }
            for (std::int64_t j = 0; j < nb; ++j) share[j] = ties[j] ? g[f0 + j] / static_cast<float>(ties[j]) : 0.0f;
            for (std::int64_t s = 0; s < S; ++s)
              for (std::int64_t j = 0; j < nb; ++j) {
                const float v = p[s * ss + j * fs];
                q[s * ss + j * fs] = (v == m[j] || (v != v && m[j] != m[j])) ? share[j] : 0.0f;
              }
          } else {
            for (std::int64_t j = 0; j < nb; ++j)
              share[j] = static_cast<float>(static_cast<double>(g[f0 + j]) / static_cast<double>(S));
            for (std::int64_t s = 0; s < S; ++s)
              for (std::int64_t j = 0; j < nb; ++j) q[s * ss + j * fs] = share[j];
          }
        }
      }
    });
  }

 private:
  bool max_;
  bool channels_first_;
  std::vector<std::int64_t> shape_;
  std::int64_t steps_ = 0;
  std::int64_t feats_ = 0;
};

// data_format: Keras lower-cases it; null is the default image data format, channels_last.
bool channels_first_of(const json::Value& c, const std::string& who) {
  const json::Value* df = c.find("data_format");
  if (!df || df->is_null()) return false;
  std::string s = df->is_string() ? cfg::lower(df->as_string()) : std::string();
  if (s != "channels_first" && s != "channels_last")
    throw std::invalid_argument("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                                "Received: data_format=" + cfg::shown(*df) + " (" + who + ")");
  return s == "channels_first";
}

void check_keepdims(const json::Value& c, const std::string& who) {
  const json::Value* k = c.find("keepdims");
  if (k && !k->is_null() && !k->is_bool())
    throw std::invalid_argument(who + ": keepdims must be a bool, got keepdims=" + cfg::shown(*k));
}

template <bool Max>
std::shared_ptr<Layer> pooling_from_config(const json::Value& c, const LayerArgs& a) {
  const char* who = Max ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D";
  const bool cf = channels_first_of(c, who);
  check_keepdims(c, who);
  return std::make_shared<GlobalPooling1D>(Max, cf, a.sample_shape ? *a.sample_shape : std::vector<std::int64_t>());
}

// The output width is not known from the row width alone (it depends on the sample's
// shape): the size check counts no weights and keeps the width as an upper bound.
template <bool Max>
std::uint64_t pooling_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                  const std::string& where) {
  channels_first_of(c, where);
  check_keepdims(c, where);
  *out = in;
  return 0;
}

}  // namespace

const LayerRow layer_row_GlobalAveragePooling1D = {"GlobalAveragePooling1D", pooling_from_config<false>,
                                                   pooling_param_count<false>, false};
const LayerRow layer_row_GlobalMaxPooling1D = {"GlobalMaxPooling1D", pooling_from_config<true>,
                                               pooling_param_count<true>, false};

}  // namespace ranvier
