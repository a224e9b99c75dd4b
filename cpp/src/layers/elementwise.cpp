// Small weightless layers over (batch x features) rows, each with Keras 3's arithmetic:
// - Rescaling(scale, offset=0.0): y = x * scale + offset (scale/offset a scalar or one
//   value per feature); dx = dy * scale.
// - Identity(): y = x; dx = dy.
// - UnitNormalization(axis=-1): y = x * rsqrt(max(sum x^2, 1e-24)) per row (Keras's
//   ops.normalize, epsilon 1e-12); dx = r (dy - y (y . dy)), or r dy where the clamp holds.
// - ActivityRegularization(l1=0.0, l2=0.0): y = x; adds (l1 sum|y| + l2 sum y^2) / batch to the
//   loss (as Dense's activity_regularizer, Keras divides by the batch size); dx = dy + its gradient.
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

// The input width check every layer here shares.
std::int64_t checked_width(const char* cls, std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument(std::string(cls) + ": input must have at least one feature, got " +
                                std::to_string(in_features));
  return in_features;
}

void copy_rows(const float* x, float* y, std::int64_t count) {
  if (count > 0 && x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(count));
}

// ----------------------------------------------------------------------------- Rescaling
class Rescaling final : public Layer {
 public:
  Rescaling(std::vector<float> scale, std::vector<float> offset) : scale_(std::move(scale)), offset_(std::move(offset)) {}
  const char* type_name() const override { return "Rescaling"; }
  std::int64_t build(std::int64_t in_features) override {
    n_ = checked_width("Rescaling", in_features);
    for (const auto* v : {&scale_, &offset_})
      if (v->size() != 1 && static_cast<std::int64_t>(v->size()) != n_)
        throw std::invalid_argument("Rescaling: `" + std::string(v == &scale_ ? "scale" : "offset") + "` has " +
                                    std::to_string(v->size()) + " values, which cannot be broadcast to the input's " +
                                    std::to_string(n_) + " features");
    s_.assign(static_cast<std::size_t>(n_), 0.0f);
    o_.assign(static_cast<std::size_t>(n_), 0.0f);
    for (std::size_t j = 0; j < s_.size(); ++j) {
      s_[j] = scale_[scale_.size() == 1 ? 0 : j];
      o_[j] = offset_[offset_.size() == 1 ? 0 : j];
    }
    return n_;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    const std::int64_t n = n_;
    const float* s = s_.data();
    const float* o = o_.data();
    layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        for (std::int64_t j = 0; j < n; ++j) {
          const float p = xr[j] * s[j];  // two roundings, as Keras (no fused multiply-add)
          yr[j] = p + o[j];
        }
      }
    });
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)pre;
    if (!dx) return;
    const std::int64_t n = n_;
    const float* s = s_.data();
    layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t j = 0; j < n; ++j) dx[r * n + j] = dy[r * n + j] * s[j];
    });
  }

 private:
  std::vector<float> scale_, offset_;
  std::vector<float> s_, o_;
  std::int64_t n_ = 0;
};

// A scalar or a (nested) list of finite numbers under `key`.
std::vector<float> numbers_of(const json::Value& c, const char* key, double def, const std::string& where) {
  std::vector<float> out;
  const json::Value* v = c.find(key);
  if (!v || v->is_null()) {
    out.push_back(static_cast<float>(def));
    return out;
  }
  std::vector<const json::Value*> todo{v};
  while (!todo.empty()) {
    const json::Value* cur = todo.back();
    todo.pop_back();
    if (cur->is_array()) {
      const auto& items = cur->as_array(key);
      for (auto it = items.rbegin(); it != items.rend(); ++it) todo.push_back(&*it);
    } else if (cur->is_number() && std::isfinite(cur->as_double())) {
      if (!std::isfinite(static_cast<float>(cur->as_double())))  // 1e39: inf as float32
        throw std::invalid_argument(where + ": `" + key + "` holds " + cfg::shown(*cur) + ", which overflows float32");
      out.push_back(static_cast<float>(cur->as_double()));
    } else {
      throw std::invalid_argument(where + ": `" + key + "` must be a number or a list of numbers, got " +
                                  cfg::shown(*v));
    }
  }
  if (out.empty()) throw std::invalid_argument(where + ": `" + key + "` must not be empty");
  return out;
}

std::shared_ptr<Layer> rescaling_from_config(const json::Value& c, const LayerArgs& a) {
  // Python requires `scale` (Keras's positional argument); a config without it scales by 1
  return std::make_shared<Rescaling>(numbers_of(c, "scale", 1.0, a.where), numbers_of(c, "offset", 0.0, a.where));
}

// ----------------------------------------------------------------------------- Identity
class Identity final : public Layer {
 public:
  const char* type_name() const override { return "Identity"; }
  std::int64_t build(std::int64_t in_features) override { return n_ = checked_width("Identity", in_features); }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    copy_rows(x, y, batch * n_);
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)pre;
    if (dx) copy_rows(dy, dx, batch * n_);
  }

 private:
  std::int64_t n_ = 0;
};

std::shared_ptr<Layer> identity_from_config(const json::Value& c, const LayerArgs& a) {
  (void)c; (void)a;
  return std::make_shared<Identity>();
}

// ----------------------------------------------------------------------------- UnitNormalization
class UnitNormalization final : public Layer {
 public:
  const char* type_name() const override { return "UnitNormalization"; }
  std::int64_t build(std::int64_t in_features) override {
    return n_ = checked_width("UnitNormalization", in_features);
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  void reserve(std::int64_t max_batch) override {
    if (max_batch > static_cast<std::int64_t>(inv_.size())) {
      inv_.assign(static_cast<std::size_t>(max_batch), 0.0f);
      clamped_.assign(static_cast<std::size_t>(max_batch), 0);
    }
  }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    if (batch > static_cast<std::int64_t>(inv_.size()))
      throw std::logic_error("UnitNormalization.forward: batch exceeds the reserved size");
    const std::int64_t n = n_;
    layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        double ss = 0.0;
        for (std::int64_t j = 0; j < n; ++j) ss += static_cast<double>(xr[j]) * xr[j];
        const float s = static_cast<float>(ss);
        const bool clamped = !(s > kEps2);
        const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(clamped ? kEps2 : s)));
        inv_[static_cast<std::size_t>(r)] = inv;
        clamped_[static_cast<std::size_t>(r)] = clamped ? 1 : 0;
        for (std::int64_t j = 0; j < n; ++j) yr[j] = xr[j] * inv;
      }
    });
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)pre;
    if (!dx || batch <= 0) return;
    const std::int64_t n = n_;
    layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* yr = y + r * n;
        const float* dyr = dy + r * n;
        float* dxr = dx + r * n;
        const float inv = inv_[static_cast<std::size_t>(r)];
        if (clamped_[static_cast<std::size_t>(r)]) {
          for (std::int64_t j = 0; j < n; ++j) dxr[j] = inv * dyr[j];
          continue;
        }
        double d = 0.0;
        for (std::int64_t j = 0; j < n; ++j) d += static_cast<double>(yr[j]) * dyr[j];
        const float df = static_cast<float>(d);
        for (std::int64_t j = 0; j < n; ++j) dxr[j] = inv * (dyr[j] - yr[j] * df);
      }
    });
  }

 private:
  static constexpr float kEps2 = 1e-24f;  // epsilon^2, epsilon = 1e-12 (keras.ops.normalize)
  std::int64_t n_ = 0;
  std::vector<float> inv_;
  std::vector<unsigned char> clamped_;
};

// axis: -1 (or 1, [-1], [1]) only: the feature axis of rows.
std::shared_ptr<Layer> unit_normalization_from_config(const json::Value& c, const LayerArgs& a) {
  const json::Value* ax = c.find("axis");
  if (ax && !ax->is_null()) {
    const json::Value* one = ax;
    if (ax->is_array()) {
      const auto& items = ax->as_array("axis");
      one = items.size() == 1 ? &items[0] : nullptr;
    }
    if (!one || !one->is_number() || !(one->as_double() == -1.0 || one->as_double() == 1.0))
      throw std::invalid_argument(a.where + ": ranvier normalizes over the last axis only (axis=-1), got axis=" +
                                  cfg::shown(*ax));
  }
  return std::make_shared<UnitNormalization>();
}

// ----------------------------------------------------------------------------- ActivityRegularization
class ActivityRegularization final : public Layer {
 public:
  explicit ActivityRegularization(Penalty p) : p_(p) {}
  static void check(double l1, double l2, const std::string& where) {
    if (!(l1 >= 0.0) || !std::isfinite(l1) || !(l2 >= 0.0) || !std::isfinite(l2))
      throw std::invalid_argument(where + ": l1 and l2 must be finite and >= 0, got l1=" + cfg::shown(l1) +
                                  ", l2=" + cfg::shown(l2));
  }
  const char* type_name() const override { return "ActivityRegularization"; }
  std::int64_t build(std::int64_t in_features) override {
    return n_ = checked_width("ActivityRegularization", in_features);
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    copy_rows(x, y, batch * n_);
    return penalty_apply(p_, y, nullptr, batch * n_, 1.0f / static_cast<float>(batch));
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)pre;
    if (!dx || batch <= 0) return;
    copy_rows(dy, dx, batch * n_);
    penalty_apply(p_, y, dx, batch * n_, loss_scale_ / static_cast<float>(batch));
  }

 private:
  Penalty p_;
  std::int64_t n_ = 0;
};

std::shared_ptr<Layer> activity_regularization_from_config(const json::Value& c, const LayerArgs& a) {
  const double l1 = cfg::get_num(c, "l1", 0.0, a.where), l2 = cfg::get_num(c, "l2", 0.0, a.where);
  ActivityRegularization::check(l1, l2, a.where);
  Penalty p;
  p.l1 = static_cast<float>(l1);
  p.l2 = static_cast<float>(l2);
  return std::make_shared<ActivityRegularization>(p);
}

}  // namespace

const LayerRow layer_row_Rescaling = {"Rescaling", rescaling_from_config, nullptr, false};
const LayerRow layer_row_Identity = {"Identity", identity_from_config, nullptr, false};
const LayerRow layer_row_UnitNormalization = {"UnitNormalization", unit_normalization_from_config, nullptr, false};
const LayerRow layer_row_ActivityRegularization = {"ActivityRegularization", activity_regularization_from_config,
                                                   nullptr, false};

}  // namespace ranvier
