// layers/merge.h: what the merge layers (merge.cpp: the elementwise ones and Concatenate;
// merge_dot.cpp: Dot) share: per-sample shapes, their checks and messages, and the base
// class of a layer with several inputs. Internal to layers/ (the rest of the core reaches
// the merge layers through their table rows).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer.h"

namespace ranvier {
namespace merge_detail {

using Shape = std::vector<std::int64_t>;
using Shapes = std::vector<Shape>;
constexpr std::int64_t kUnknown = -1;  // a dimension of unknown size (Python's None)

[[noreturn]] inline void fail(const std::string& msg) { throw std::invalid_argument(msg); }

// "(None, 3, 4)": a per-sample shape as Keras shows the full shape.
inline std::string shape_str(const Shape& s) {
  std::string out = "(None";
  for (const std::int64_t d : s) out += ", " + (d < 0 ? std::string("None") : std::to_string(d));
  return out + ")";
}
inline std::string shapes_str(const Shapes& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + shape_str(s[i]);
  return out + "]";
}
inline std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (const std::int64_t d : s) n *= d;
  return n;
}
inline bool known(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](std::int64_t d) { return d > 0; });
}
constexpr std::int64_t kMaxFeatures = std::int64_t{1} << 40;  // what a model file can hold per row

// The product of the known dims (unknown ones skipped), saturating above kMaxFeatures.
inline std::int64_t known_numel(const Shape& s) {
  std::int64_t n = 1;
  for (const std::int64_t d : s)
    if (d > 0) n = (n > kMaxFeatures / d) ? kMaxFeatures + 1 : n * d;
  return n;
}
inline void check_dims(const char* cls, const Shapes& shapes, const std::string& where) {
  if (shapes.empty()) fail(where + ": a " + cls + " layer should be called on a list of at least 1 input");
  for (const auto& s : shapes) {
    for (const std::int64_t d : s)
      if (d == 0 || d < kUnknown)
        fail(where + ": input shapes must have positive dimensions (or None), got " + shapes_str(shapes));
    if (known_numel(s) > kMaxFeatures)
      fail(where + ": an input of shape " + shape_str(s) + " has more than 2**40 features per sample");
  }
}
// The output shape, refused when its samples would exceed kMaxFeatures.
inline Shape checked_out(Shape out, const Shapes& shapes, const std::string& where) {
  if (known_numel(out) > kMaxFeatures)
    fail(where + ": the output of inputs " + shapes_str(shapes) + " would have more than 2**40 features per sample");
  return out;
}
// The shapes a layer is built for: `given` when it has them (checked against the widths),
// else each input as a vector of its width.
inline Shapes shapes_for(const char* cls, const Shapes& given, const std::vector<std::int64_t>& widths) {
  for (std::size_t i = 0; i < widths.size(); ++i)
    if (widths[i] <= 0)
      fail(std::string(cls) + ": input " + std::to_string(i) + " must have at least one feature, got " +
           std::to_string(widths[i]));
  if (given.empty()) {
    Shapes out;
    for (const std::int64_t w : widths) out.push_back({w});
    return out;
  }
  if (given.size() != widths.size())
    fail(std::string(cls) + ": built for " + std::to_string(given.size()) + " input shapes " + shapes_str(given) +
         " but given " + std::to_string(widths.size()) + " inputs");
  for (std::size_t i = 0; i < widths.size(); ++i)
    if (!known(given[i]) || numel(given[i]) != widths[i])
      fail(std::string(cls) + ": input " + std::to_string(i) + " has shape " + shape_str(given[i]) + " but " +
           std::to_string(widths[i]) + " features per sample");
  return given;
}

// ----------------------------------------------------------------------------- base
// Several inputs, no weights: the one-input methods throw std::logic_error.
class MergeLayer : public Layer {
 public:
  explicit MergeLayer(Shapes shapes) : given_(std::move(shapes)) {}
  std::int64_t build(std::int64_t) override {
    throw std::logic_error(std::string(type_name()) + " takes several inputs: build it with build_inputs");
  }
  // A merge layer built for one input (Keras's Add()([x])) also runs through the one-input
  // methods, as a network may call them for a node with one input; otherwise they throw.
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    if (widths_.size() != 1)
      throw std::logic_error(std::string(type_name()) + " takes several inputs: run it with forward_inputs");
    return forward_inputs(&x, y, batch, ctx);
  }
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override {
    if (widths_.size() != 1)
      throw std::logic_error(std::string(type_name()) + " takes several inputs: run it with backward_inputs");
    backward_inputs(&x, y, dy, &dx, batch, pre);
  }
  int num_inputs() const override {
    return static_cast<int>(widths_.empty() ? given_.size() : widths_.size());
  }
  std::int64_t in_features() const override { return widths_.empty() ? 0 : widths_[0]; }
  std::int64_t out_features() const override { return out_; }
  std::int64_t input_features(int i) const override {
    if (i < 0 || i >= static_cast<int>(widths_.size()))
      throw std::out_of_range(std::string(type_name()) + ": no input " + std::to_string(i));
    return widths_[static_cast<std::size_t>(i)];
  }
  std::int64_t build_inputs(const std::vector<std::int64_t>& in_features) override {
    const Shapes shapes = shapes_for(type_name(), given_, in_features);
    const Shape out = plan(shapes);  // throws before anything changes
    shapes_ = shapes;
    widths_ = in_features;
    out_shape_ = out;
    out_ = numel(out);
    return out_;
  }
  const Shape& output_shape() const { return out_shape_; }

 protected:
  // Checks the shapes (std::invalid_argument naming them) and returns the output shape;
  // a subclass keeps what its forward needs. Called only with known shapes.
  virtual Shape plan(const Shapes& shapes) = 0;

  Shapes given_;   // per-sample shapes from the constructor (empty: vectors of the widths)
  Shapes shapes_;  // the built inputs' shapes
  std::vector<std::int64_t> widths_;
  Shape out_shape_;
  std::int64_t out_ = 0;
};

// The per-sample shapes a merge layer's config was given (LayerArgs::input_shapes), or none.
inline Shapes given_shapes(const std::vector<std::vector<std::int64_t>>* s) { return s ? *s : Shapes(); }

}  // namespace merge_detail
}  // namespace ranvier
