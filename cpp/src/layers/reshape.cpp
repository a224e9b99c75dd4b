// Reshape and RepeatVector: shape bookkeeping (Python keeps the Keras shapes; a row is the
// flattened per-sample shape), so in C++ they move values only.
// - Reshape(target_shape): the identity on rows (row-major order is kept, as Keras's
//   reshape); build checks that target_shape (at most one -1) holds the input's values.
// - RepeatVector(n): (batch, d) -> (batch, n, d): the row copied n times; backward sums the
//   n copies' gradients (in copy order, so the same bits at any thread count).
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

// ---------------------------------------------------------------------------- Reshape
class Reshape final : public Layer {
 public:
  explicit Reshape(std::vector<std::int64_t> target) : target_(std::move(target)) {}
  const char* type_name() const override { return "Reshape"; }
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("Reshape: input must have at least one value per sample, got " +
                                  std::to_string(in_features));
    std::int64_t known = 1;
    bool unknown = false;
    for (std::int64_t d : target_) {
      if (d == -1) {
        unknown = true;
        continue;
      }
      if (d == 0 || known > in_features / d) {
        known = -1;  // more values than the input has (or a zero dimension)
        break;
      }
      known *= d;
    }
    const bool ok = known > 0 && (unknown ? in_features % known == 0 : known == in_features);
    if (!ok)
      throw std::invalid_argument("Reshape: the input has " + std::to_string(in_features) +
                                  " values per sample, which cannot be reshaped to target_shape=" +
                                  shape_text(target_) + " (the total size must stay the same)");
    n_ = in_features;
    return n_;
  }
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch > 0 && x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(batch * n_));
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)pre;
    if (dx && batch > 0 && dx != dy) std::memcpy(dx, dy, sizeof(float) * static_cast<std::size_t>(batch * n_));
  }

 private:
  std::vector<std::int64_t> target_;
  std::int64_t n_ = 0;
};

std::vector<std::int64_t> target_shape(const json::Value& c, const std::string& where) {
  const json::Value* t = c.find("target_shape");
  if (!t || t->is_null()) throw std::invalid_argument(where + ": 'target_shape' is required");
  const std::string got = cfg::shown(*t);
  if (!t->is_array())
    throw std::invalid_argument("Reshape: target_shape must be a tuple of integers, got target_shape=" + got);
  std::vector<std::int64_t> s;
  int unknown = 0;
  for (const auto& v : t->as_array("target_shape")) {
    const std::string& txt = v.is_number() ? v.number_text() : std::string();
    if (txt.empty() || txt.find_first_not_of("-0123456789") != std::string::npos)
      throw std::invalid_argument("Reshape: target_shape must be a tuple of integers, got target_shape=" + got);
    std::int64_t d = 0;
    try {
      d = v.as_int("target_shape");
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("Reshape: target_shape=" + got + " has a dimension too large for a 64-bit size");
    }
    if (d == -1) ++unknown;
    else if (d <= 0)
      throw std::invalid_argument("Reshape: target_shape dimensions must be positive (or one -1 for an unknown "
                                  "dimension), got target_shape=" + got);
    s.push_back(d);
  }
  if (unknown > 1)
    throw std::invalid_argument("There must be at most one unknown dimension (-1) in output_shape. Received: "
                                "output_shape=" + got);
  if (s.empty()) throw std::invalid_argument("Reshape: target_shape must have at least one dimension, got ()");
  return s;
}

std::shared_ptr<Layer> reshape_from_config(const json::Value& c, const LayerArgs& a) {
  return std::make_shared<Reshape>(target_shape(c, a.where));
}

std::uint64_t reshape_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out, const std::string& where) {
  target_shape(c, where);
  *out = in;
  return 0;
}

// ---------------------------------------------------------------------------- RepeatVector
class RepeatVector final : public Layer {
 public:
  explicit RepeatVector(std::int64_t n) : n_(n) {}
  const char* type_name() const override { return "RepeatVector"; }
  std::int64_t build(std::int64_t in_features) override {
    if (in_features <= 0)
      throw std::invalid_argument("RepeatVector: input must have at least one feature, got " +
                                  std::to_string(in_features));
    if (n_ > std::numeric_limits<std::int64_t>::max() / in_features)
      throw std::invalid_argument("RepeatVector: " + std::to_string(n_) + " x " + std::to_string(in_features) +
                                  " values per sample overflow a 64-bit size");
    d_ = in_features;
    return n_ * d_;
  }
  std::int64_t in_features() const override { return d_; }
  std::int64_t out_features() const override { return n_ * d_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    const std::int64_t n = n_, d = d_;
    layers_detail::parallel_ranges(batch, n * d, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t k = 0; k < n; ++k)
          std::memcpy(y + (r * n + k) * d, x + r * d, sizeof(float) * static_cast<std::size_t>(d));
    });
    return 0.0;
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    (void)x; (void)y; (void)pre;
    if (!dx) return;
    const std::int64_t n = n_, d = d_;
    layers_detail::parallel_ranges(batch, n * d, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        float* dxr = dx + r * d;
        const float* g = dy + r * n * d;
        std::memcpy(dxr, g, sizeof(float) * static_cast<std::size_t>(d));
        for (std::int64_t k = 1; k < n; ++k)
          for (std::int64_t j = 0; j < d; ++j) dxr[j] += g[k * d + j];
      }
    });
  }

 private:
  std::int64_t n_;
  std::int64_t d_ = 0;
};

std::int64_t repeat_count(const json::Value& c, const std::string& where) {
  const json::Value* v = c.find("n");
  if (!v || v->is_null()) throw std::invalid_argument(where + ": 'n' is required (a positive integer)");
  const std::string got = cfg::shown(*v);
  const std::string& t = v->is_number() ? v->number_text() : std::string();
  if (t.empty() || t.find_first_not_of("-0123456789") != std::string::npos)
    throw std::invalid_argument("Expected an integer value for `n`. Received: n=" + got);
  std::int64_t n = 0;
  try {
    n = v->as_int("n");
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("RepeatVector: n=" + t + " is too large for a 64-bit size");
  }
  if (n <= 0) throw std::invalid_argument("RepeatVector: n must be a positive integer, got n=" + t);
  return n;
}

std::shared_ptr<Layer> repeat_vector_from_config(const json::Value& c, const LayerArgs& a) {
  return std::make_shared<RepeatVector>(repeat_count(c, a.where));
}

std::uint64_t repeat_vector_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                        const std::string& where) {
  const std::uint64_t n = static_cast<std::uint64_t>(repeat_count(c, where));
  *out = sat_mul(in, n);
  if (*out > (std::uint64_t{1} << 40))
    throw std::invalid_argument(where + ": " + std::to_string(n) + " x " + std::to_string(in) +
                                " values per sample exceed the 2**40 a model file can hold");
  return 0;
}

}  // namespace

const LayerRow layer_row_Reshape = {"Reshape", reshape_from_config, reshape_param_count, false};
const LayerRow layer_row_RepeatVector = {"RepeatVector", repeat_vector_from_config, repeat_vector_param_count, false};

}  // namespace ranvier
