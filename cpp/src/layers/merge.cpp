// The merge layers: several inputs, one output, no weights (Keras 3's
// keras/src/layers/merging/*). Rows are flattened per-sample shapes; a layer is built for
// its inputs' per-sample shapes (given to its constructor) or, without them, for rows of
// the given widths (each input then a vector).
// - Add, Subtract, Multiply, Average, Maximum, Minimum: elementwise over inputs of equal
//   shapes (Keras also broadcasts (4,) with (1,); ranvier refuses unequal shapes, naming
//   them). Evaluated left to right in input order as Keras does (Average: sum / n).
//   Subtract takes exactly 2 inputs; the others 1 or more (Add()([x]) is x).
//   Gradients: Add dy each; Subtract dy, -dy; Average dy / n; Multiply dy * prod(others);
//   Maximum / Minimum: dy to the first input (in input order) that holds the output value,
//   0 to the others (TF's gradient of maximum(x, y) gives ties to x; chained over the inputs
//   the earliest equal input wins; where the output is NaN, which propagates, the last input
//   takes dy, as TF's chained comparisons give it).
// - Concatenate(axis=-1): along one axis of the per-sample shapes (all other dims equal).
// - Dot(axes, normalize=False): exactly 2 inputs of per-sample rank 1 or 2 (Keras's
//   batch_dot): out[i, j] = sum_t A[i, t] B[j, t] over the reduced axes; output shape =
//   shape1 without its axis + shape2 without its axis, (1,) when empty. normalize=True
//   first L2-normalizes each input along its axis as x * min(rsqrt(sum x^2), 1/1e-7).
// The arithmetic runs on the f32-vmerge kernels (kernels/f32-vmerge), rows split over
// threads in fixed ranges: results never depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

using Shape = std::vector<std::int64_t>;
using Shapes = std::vector<Shape>;
constexpr std::int64_t kUnknown = -1;  // a dimension of unknown size (Python's None)

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

// "(None, 3, 4)": a per-sample shape as Keras shows the full shape.
std::string shape_str(const Shape& s) {
  std::string out = "(None";
  for (const std::int64_t d : s) out += ", " + (d < 0 ? std::string("None") : std::to_string(d));
  return out + ")";
}
std::string shapes_str(const Shapes& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + shape_str(s[i]);
  return out + "]";
}
std::int64_t numel(const Shape& s) {
  std::int64_t n = 1;
  for (const std::int64_t d : s) n *= d;
  return n;
}
bool known(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](std::int64_t d) { return d > 0; });
}
constexpr std::int64_t kMaxFeatures = std::int64_t{1} << 40;  // what a model file can hold per row

// The product of the known dims (unknown ones skipped), saturating above kMaxFeatures.
std::int64_t known_numel(const Shape& s) {
  std::int64_t n = 1;
  for (const std::int64_t d : s)
    if (d > 0) n = (n > kMaxFeatures / d) ? kMaxFeatures + 1 : n * d;
  return n;
}
void check_dims(const char* cls, const Shapes& shapes, const std::string& where) {
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
Shape checked_out(Shape out, const Shapes& shapes, const std::string& where) {
  if (known_numel(out) > kMaxFeatures)
    fail(where + ": the output of inputs " + shapes_str(shapes) + " would have more than 2**40 features per sample");
  return out;
}
// The shapes a layer is built for: `given` when it has them (checked against the widths),
// else each input as a vector of its width.
Shapes shapes_for(const char* cls, const Shapes& given, const std::vector<std::int64_t>& widths) {
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

// ----------------------------------------------------------------------------- shapes
enum class Op { add, subtract, multiply, average, maximum, minimum };

const char* op_name(Op op) {
  switch (op) {
    case Op::add: return "Add";
    case Op::subtract: return "Subtract";
    case Op::multiply: return "Multiply";
    case Op::average: return "Average";
    case Op::maximum: return "Maximum";
    case Op::minimum: return "Minimum";
  }
  return "?";
}

Shape elementwise_shape(Op op, const Shapes& shapes, const std::string& where) {
  check_dims(op_name(op), shapes, where);
  if (op == Op::subtract && shapes.size() != 2)
    fail(where + ": A `Subtract` layer should be called on exactly 2 inputs, got " + std::to_string(shapes.size()) +
         ": " + shapes_str(shapes));
  Shape out = shapes[0];
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    bool ok = s.size() == out.size();
    for (std::size_t j = 0; ok && j < s.size(); ++j) {
      if (out[j] < 0) out[j] = s[j];
      else if (s[j] >= 0 && s[j] != out[j]) ok = false;
    }
    if (!ok)
      fail(where + ": Inputs have incompatible shapes. Received shapes " + shape_str(shapes[0]) + " and " +
           shape_str(s) + " (ranvier's " + op_name(op) + " needs equal shapes: it does not broadcast)");
  }
  return checked_out(out, shapes, where);
}

// The per-sample axis of Keras's `axis` for inputs of per-sample rank `rank`.
std::int64_t concat_axis(std::int64_t axis, std::size_t rank, const Shapes& shapes, const std::string& where) {
  const auto r = static_cast<std::int64_t>(rank) + 1;  // with the batch axis
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    fail(where + ": axis=" + std::to_string(axis) + " is out of range for inputs of rank " + std::to_string(r) +
         " " + shapes_str(shapes));
  if (a == 0) fail(where + ": cannot concatenate along the batch axis (axis=" + std::to_string(axis) + ")");
  return a - 1;
}

Shape concat_shape(std::int64_t axis, const Shapes& shapes, const std::string& where) {
  check_dims("Concatenate", shapes, where);
  const std::size_t rank = shapes[0].size();
  const std::string msg = where + ": A `Concatenate` layer requires inputs with matching shapes except for the "
                                  "concatenation axis. Received: input_shape=" + shapes_str(shapes);
  for (const auto& s : shapes)
    if (s.size() != rank) fail(msg);
  const std::int64_t k = concat_axis(axis, rank, shapes, where);
  Shape out = shapes[0];
  out[static_cast<std::size_t>(k)] = 0;
  for (const auto& s : shapes) {
    for (std::size_t j = 0; j < rank; ++j) {
      if (static_cast<std::int64_t>(j) == k) {
        const std::int64_t d = out[j];
        out[j] = (d < 0 || s[j] < 0) ? kUnknown : std::min(d + s[j], kMaxFeatures + 1);  // refused below
      } else if (out[j] < 0) {
        out[j] = s[j];
      } else if (s[j] >= 0 && s[j] != out[j]) {
        fail(msg);
      }
    }
  }
  return checked_out(out, shapes, where);
}

struct DotAxes {
  std::int64_t a[2];  // Keras axes (batch axis = 0; negative counts from the end)
};

// Per-sample axes of the two inputs.
void dot_axes(const DotAxes& ax, const Shapes& shapes, std::int64_t out[2], const std::string& where) {
  for (int i = 0; i < 2; ++i) {
    const auto r = static_cast<std::int64_t>(shapes[static_cast<std::size_t>(i)].size()) + 1;
    const std::int64_t a = ax.a[i] < 0 ? ((ax.a[i] % r) + r) % r : ax.a[i];  // Python's a % r
    if (a == 0)
      fail(where + ": Cannot perform batch_dot over axis 0 (axes=" + std::to_string(ax.a[0]) + ", " +
           std::to_string(ax.a[1]) + "; input shapes " + shapes_str(shapes) + ")");
    if (a >= r)
      fail(where + ": axis " + std::to_string(ax.a[i]) + " is out of range for input " + std::to_string(i) +
           " of shape " + shape_str(shapes[static_cast<std::size_t>(i)]));
    out[i] = a - 1;
  }
}

Shape dot_shape(const DotAxes& ax, const Shapes& shapes, const std::string& where) {
  if (shapes.size() != 2)
    fail(where + ": A `Dot` layer should be called on a list of 2 inputs, got " + std::to_string(shapes.size()) +
         ": " + shapes_str(shapes));
  check_dims("Dot", shapes, where);
  for (const auto& s : shapes)
    if (s.empty() || s.size() > 2)
      fail(where + ": ranvier's Dot takes inputs of rank 2 or 3 (batch included), got " + shapes_str(shapes));
  std::int64_t a[2];
  dot_axes(ax, shapes, a, where);
  const std::int64_t d1 = shapes[0][static_cast<std::size_t>(a[0])], d2 = shapes[1][static_cast<std::size_t>(a[1])];
  if (d1 >= 0 && d2 >= 0 && d1 != d2)
    fail(where + ": Incompatible input shapes: axis values " + std::to_string(d1) + " (at axis " +
         std::to_string(a[0] + 1) + ") != " + std::to_string(d2) + " (at axis " + std::to_string(a[1] + 1) +
         "). Full input shapes: " + shape_str(shapes[0]) + ", " + shape_str(shapes[1]));
  Shape out;
  for (int i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < shapes[static_cast<std::size_t>(i)].size(); ++j)
      if (static_cast<std::int64_t>(j) != a[i]) out.push_back(shapes[static_cast<std::size_t>(i)][j]);
  if (out.empty()) out.push_back(1);
  return checked_out(out, shapes, where);
}

// ----------------------------------------------------------------------------- base
class MergeLayer : public Layer {
 public:
  explicit MergeLayer(Shapes shapes) : given_(std::move(shapes)) {}
  std::int64_t build(std::int64_t) override {
    throw std::logic_error(std::string(type_name()) + " takes several inputs: build it with build_inputs");
  }
  double forward(const float*, float*, std::int64_t, const ForwardCtx&) override {
    throw std::logic_error(std::string(type_name()) + " takes several inputs: run it with forward_inputs");
  }
  void backward(const float*, const float*, float*, float*, std::int64_t, bool) override {
    throw std::logic_error(std::string(type_name()) + " takes several inputs: run it with backward_inputs");
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

// ----------------------------------------------------------------------------- elementwise
class ElementwiseMerge final : public MergeLayer {
 public:
  ElementwiseMerge(Op op, Shapes shapes) : MergeLayer(std::move(shapes)), op_(op) {}
  const char* type_name() const override { return op_name(op_); }

  double forward_inputs(const float* const* xs, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    const std::int64_t n = out_;
    const int k = static_cast<int>(widths_.size());
    const VmergeKernels& km = kernels().vmerge;
    const Op op = op_;
    layers_detail::parallel_ranges(batch, n * k, [&](std::int64_t r0, std::int64_t r1) {
      const std::int64_t off = r0 * n, len = (r1 - r0) * n;
      switch (op) {
        case Op::add: km.sum(xs, k, off, 1.0f, y + off, len); break;
        case Op::average: km.sum(xs, k, off, static_cast<float>(k), y + off, len); break;
        case Op::subtract: km.sub(xs[0] + off, xs[1] + off, y + off, len); break;
        case Op::multiply: km.prod(xs, k, off, y + off, len); break;
        case Op::maximum: km.max(xs, k, off, y + off, len); break;
        case Op::minimum: km.min(xs, k, off, y + off, len); break;
      }
    });
    return 0.0;
  }

  void backward_inputs(const float* const* xs, const float* y, float* dy, float* const* dxs, std::int64_t batch,
                       bool pre) override {
    (void)pre;
    if (batch <= 0) return;
    const std::int64_t n = out_;
    const int k = static_cast<int>(widths_.size());
    const VmergeKernels& km = kernels().vmerge;
    const Op op = op_;
    layers_detail::parallel_ranges(batch, n * k, [&](std::int64_t r0, std::int64_t r1) {
      const std::int64_t off = r0 * n, len = (r1 - r0) * n;
      const auto bytes = sizeof(float) * static_cast<std::size_t>(len);
      switch (op) {
        case Op::add:
          for (int t = 0; t < k; ++t)
            if (dxs[t] && dxs[t] != dy) std::memcpy(dxs[t] + off, dy + off, bytes);
          break;
        case Op::subtract:
          if (dxs[0] && dxs[0] != dy) std::memcpy(dxs[0] + off, dy + off, bytes);  // before dx1 (may alias dy)
          if (dxs[1]) km.scale(dy + off, -1.0f, dxs[1] + off, len);
          break;
        case Op::average:
        case Op::multiply:
          // every dx reads dy: a dx that aliases dy is written last
          for (int pass = 0; pass < 2; ++pass)
            for (int t = 0; t < k; ++t) {
              if (!dxs[t] || (dxs[t] == dy) != (pass == 1)) continue;
              if (op == Op::average) km.div(dy + off, static_cast<float>(k), dxs[t] + off, len);
              else km.prod_except(xs, k, t, off, dy + off, dxs[t] + off, len);
            }
          break;
        case Op::maximum:
        case Op::minimum:
          km.route(xs, k, off, y + off, dy + off, dxs, len);
          break;
      }
    });
  }

 protected:
  Shape plan(const Shapes& shapes) override { return elementwise_shape(op_, shapes, type_name()); }

 private:
  Op op_;
};

// ----------------------------------------------------------------------------- Concatenate
class Concatenate final : public MergeLayer {
 public:
  Concatenate(std::int64_t axis, Shapes shapes) : MergeLayer(std::move(shapes)), axis_(axis) {}
  const char* type_name() const override { return "Concatenate"; }

  double forward_inputs(const float* const* xs, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    layers_detail::parallel_ranges(batch, out_, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        float* yr = y + r * out_;
        for (std::int64_t o = 0; o < outer_; ++o)
          for (std::size_t i = 0; i < inner_.size(); ++i) {
            const std::int64_t m = inner_[i];
            std::memcpy(yr, xs[i] + r * widths_[i] + o * m, sizeof(float) * static_cast<std::size_t>(m));
            yr += m;
          }
      }
    });
    return 0.0;
  }

  void backward_inputs(const float* const* xs, const float* y, float* dy, float* const* dxs, std::int64_t batch,
                       bool pre) override {
    (void)xs; (void)y; (void)pre;
    if (batch <= 0) return;
    layers_detail::parallel_ranges(batch, out_, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* g = dy + r * out_;
        for (std::int64_t o = 0; o < outer_; ++o)
          for (std::size_t i = 0; i < inner_.size(); ++i) {
            const std::int64_t m = inner_[i];
            if (dxs[i]) std::memcpy(dxs[i] + r * widths_[i] + o * m, g, sizeof(float) * static_cast<std::size_t>(m));
            g += m;
          }
      }
    });
  }

 protected:
  Shape plan(const Shapes& shapes) override {
    Shape out = concat_shape(axis_, shapes, type_name());
    const std::int64_t k = concat_axis(axis_, shapes[0].size(), shapes, type_name());
    outer_ = 1;
    for (std::int64_t j = 0; j < k; ++j) outer_ *= shapes[0][static_cast<std::size_t>(j)];
    inner_.clear();
    for (const auto& s : shapes) {
      std::int64_t m = 1;
      for (std::size_t j = static_cast<std::size_t>(k); j < s.size(); ++j) m *= s[j];
      inner_.push_back(m);
    }
    return out;
  }

 private:
  std::int64_t axis_;
  std::int64_t outer_ = 1;             // product of the dims before the axis
  std::vector<std::int64_t> inner_;    // per input: product of the dims from the axis on
};

// ----------------------------------------------------------------------------- Dot
// An input of Dot as a matrix view per sample: element (m, t) of a sample at
// m * sm + t * st, m < M (the kept dim, 1 for a vector), t < K (the reduced dim).
struct DotView {
  std::int64_t M = 1, K = 1, sm = 0, st = 1;
};

DotView dot_view(const Shape& s, std::int64_t axis) {
  DotView v;
  if (s.size() == 1) {
    v.K = s[0];
  } else if (axis == 0) {  // (K, M)
    v.K = s[0]; v.M = s[1]; v.st = s[1]; v.sm = 1;
  } else {                 // (M, K)
    v.M = s[0]; v.K = s[1]; v.st = 1; v.sm = s[1];
  }
  return v;
}

class Dot final : public MergeLayer {
 public:
  Dot(DotAxes axes, bool normalize, Shapes shapes) : MergeLayer(std::move(shapes)), axes_(axes), normalize_(normalize) {}
  const char* type_name() const override { return "Dot"; }

  void reserve(std::int64_t max_batch) override {
    if (!normalize_ || max_batch <= cap_) return;
    for (int i = 0; i < 2; ++i) {
      norm_[i].assign(static_cast<std::size_t>(max_batch * widths_[static_cast<std::size_t>(i)]), 0.0f);
      inv_[i].assign(static_cast<std::size_t>(max_batch * v_[i].M), 0.0f);
      clamped_[i].assign(static_cast<std::size_t>(max_batch * v_[i].M), 0);
      grad_[i].assign(static_cast<std::size_t>(max_batch * widths_[static_cast<std::size_t>(i)]), 0.0f);
    }
    cap_ = max_batch;
  }

  double forward_inputs(const float* const* xs, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    if (normalize_ && batch > cap_) throw std::logic_error("Dot.forward_inputs: batch exceeds the reserved size");
    const float* a = xs[0];
    const float* b = xs[1];
    const std::int64_t w0 = widths_[0], w1 = widths_[1];
    const VmergeKernels& km = kernels().vmerge;
    layers_detail::parallel_ranges(batch, w0 * v_[1].M + w1, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* ar = a + r * w0;
        const float* br = b + r * w1;
        if (normalize_) {
          ar = normalize_row(0, r, ar);
          br = normalize_row(1, r, br);
        }
        product(km, ar, br, y + r * out_);
      }
    });
    return 0.0;
  }

  void backward_inputs(const float* const* xs, const float* y, float* dy, float* const* dxs, std::int64_t batch,
                       bool pre) override {
    (void)y; (void)pre;
    if (batch <= 0 || (!dxs[0] && !dxs[1])) return;
    const std::int64_t w[2] = {widths_[0], widths_[1]};
    const VmergeKernels& km = kernels().vmerge;
    layers_detail::parallel_ranges(batch, w[0] * v_[1].M + w[1] * v_[0].M, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* g = dy + r * out_;
        const float* in[2];
        for (int i = 0; i < 2; ++i)
          in[i] = normalize_ ? norm_[i].data() + r * w[i] : xs[i] + r * w[i];
        for (int i = 0; i < 2; ++i) {
          if (!dxs[i]) continue;
          float* d = normalize_ ? grad_[i].data() + r * w[i] : dxs[i] + r * w[i];
          operand_grad(km, i, g, in[1 - i], d);
          if (normalize_) unnormalize_grad(i, r, in[i], d, dxs[i] + r * w[i]);
        }
      }
    });
  }

 protected:
  Shape plan(const Shapes& shapes) override {
    Shape out = dot_shape(axes_, shapes, type_name());
    std::int64_t a[2];
    dot_axes(axes_, shapes, a, type_name());
    for (int i = 0; i < 2; ++i) v_[i] = dot_view(shapes[static_cast<std::size_t>(i)], a[i]);
    cap_ = 0;
    return out;
  }

 private:
  // y[m1 * M2 + m2] = sum_t A(m1, t) B(m2, t)
  void product(const VmergeKernels& km, const float* a, const float* b, float* y) const {
    const DotView& A = v_[0];
    const DotView& B = v_[1];
    for (std::int64_t m1 = 0; m1 < A.M; ++m1)
      for (std::int64_t m2 = 0; m2 < B.M; ++m2) {
        const float* pa = a + m1 * A.sm;
        const float* pb = b + m2 * B.sm;
        float s;
        if (A.st == 1 && B.st == 1) {
          s = km.dot(pa, pb, A.K);
        } else {
          s = 0.0f;
          for (std::int64_t t = 0; t < A.K; ++t) s += pa[t * A.st] * pb[t * B.st];
        }
        y[m1 * B.M + m2] = s;
      }
  }

  // d(operand i)(m, t) = sum_over the other's m' of g(...) * other(m', t); writes all of d.
  void operand_grad(const VmergeKernels& km, int i, const float* g, const float* other, float* d) const {
    const DotView& V = v_[i];
    const DotView& O = v_[1 - i];
    for (std::int64_t m = 0; m < V.M; ++m)
      for (std::int64_t t = 0; t < V.K; ++t) {
        float s = 0.0f;
        for (std::int64_t mo = 0; mo < O.M; ++mo) {
          const float gv = i == 0 ? g[m * O.M + mo] : g[mo * V.M + m];
          s += gv * other[mo * O.sm + t * O.st];
        }
        d[m * V.sm + t * V.st] = s;
      }
    (void)km;
  }

  // Normalizes each kept-index vector of input i's sample r into norm_[i]; returns it.
  const float* normalize_row(int i, std::int64_t r, const float* x) {
    const DotView& V = v_[i];
    const std::int64_t w = widths_[static_cast<std::size_t>(i)];
    float* out = norm_[i].data() + r * w;
    for (std::int64_t m = 0; m < V.M; ++m) {
      double ss = 0.0;
      for (std::int64_t t = 0; t < V.K; ++t) {
        const double v = x[m * V.sm + t * V.st];
        ss += v * v;
      }
      const float s = static_cast<float>(ss);
      const float rs = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s)));  // inf at 0
      const bool clamped = !(rs < kInvEps);
      const float inv = clamped ? kInvEps : rs;
      inv_[i][static_cast<std::size_t>(r * V.M + m)] = inv;
      clamped_[i][static_cast<std::size_t>(r * V.M + m)] = clamped ? 1 : 0;
      for (std::int64_t t = 0; t < V.K; ++t) out[m * V.sm + t * V.st] = x[m * V.sm + t * V.st] * inv;
    }
    return out;
  }

  // dx = inv * (dn - n (n . dn)) per vector (inv * dn where the clamp held).
  void unnormalize_grad(int i, std::int64_t r, const float* n, const float* dn, float* dx) const {
    const DotView& V = v_[i];
    for (std::int64_t m = 0; m < V.M; ++m) {
      const float inv = inv_[i][static_cast<std::size_t>(r * V.M + m)];
      float proj = 0.0f;
      if (!clamped_[i][static_cast<std::size_t>(r * V.M + m)]) {
        double p = 0.0;
        for (std::int64_t t = 0; t < V.K; ++t) p += static_cast<double>(n[m * V.sm + t * V.st]) * dn[m * V.sm + t * V.st];
        proj = static_cast<float>(p);
      }
      for (std::int64_t t = 0; t < V.K; ++t) {
        const std::int64_t j = m * V.sm + t * V.st;
        dx[j] = inv * (dn[j] - n[j] * proj);
      }
    }
  }

  static constexpr float kInvEps = 1e7f;  // 1 / keras.config.epsilon()
  DotAxes axes_;
  bool normalize_;
  DotView v_[2];
  std::int64_t cap_ = 0;
  std::vector<float> norm_[2], inv_[2], grad_[2];
  std::vector<unsigned char> clamped_[2];
};

// ----------------------------------------------------------------------------- config
Shapes given_shapes(const LayerArgs& a) { return a.input_shapes ? *a.input_shapes : Shapes(); }

template <Op op>
std::shared_ptr<Layer> elementwise_from_config(const json::Value& c, const LayerArgs& a) {
  (void)c;
  return std::make_shared<ElementwiseMerge>(op, given_shapes(a));
}
template <Op op>
Shape elementwise_merge_shape(const json::Value& c, const Shapes& shapes, const std::string& where) {
  (void)c;
  return elementwise_shape(op, shapes, where);
}

std::int64_t read_axis(const json::Value& c, const std::string& where) {
  const json::Value* v = c.find("axis");
  if (!v || v->is_null()) return -1;
  if (!v->is_number() || !std::isfinite(v->as_double()) || std::floor(v->as_double()) != v->as_double() ||
      std::fabs(v->as_double()) > 1e9)
    fail(where + ": axis must be an integer, got axis=" + cfg::shown(*v));
  return static_cast<std::int64_t>(v->as_double());
}

std::shared_ptr<Layer> concatenate_from_config(const json::Value& c, const LayerArgs& a) {
  return std::make_shared<Concatenate>(read_axis(c, a.where), given_shapes(a));
}
Shape concatenate_merge_shape(const json::Value& c, const Shapes& shapes, const std::string& where) {
  return concat_shape(read_axis(c, where), shapes, where);
}

DotAxes read_axes(const json::Value& c, const std::string& where) {
  const json::Value* v = c.find("axes");
  if (!v || v->is_null()) fail(where + ": Dot needs `axes` (an int or a list of 2 ints)");
  auto as_int = [&](const json::Value& e) -> std::int64_t {
    if (e.is_bool() || !e.is_number() || !std::isfinite(e.as_double()) ||
        std::floor(e.as_double()) != e.as_double() || std::fabs(e.as_double()) > 1e9)
      fail(where + ": Invalid format for argument `axes`: list elements should be integers. Received: axes=" +
           cfg::shown(*v));
    return static_cast<std::int64_t>(e.as_double());
  };
  DotAxes ax{};
  if (v->is_array()) {
    const auto& items = v->as_array("axes");
    if (items.size() != 2)
      fail(where + ": Invalid format for argument `axes`: it should contain two elements. Received: axes=" +
           cfg::shown(*v));
    ax.a[0] = as_int(items[0]);
    ax.a[1] = as_int(items[1]);
  } else if (v->is_number() && !v->is_bool()) {
    if (!std::isfinite(v->as_double()) || std::floor(v->as_double()) != v->as_double() ||
        std::fabs(v->as_double()) > 1e9)
      fail(where + ": Invalid type for argument `axes`: it should be a list or an int. Received: axes=" +
           cfg::shown(*v));
    ax.a[0] = ax.a[1] = static_cast<std::int64_t>(v->as_double());
  } else {
    fail(where + ": Invalid type for argument `axes`: it should be a list or an int. Received: axes=" +
         cfg::shown(*v));
  }
  return ax;
}

std::shared_ptr<Layer> dot_from_config(const json::Value& c, const LayerArgs& a) {
  const DotAxes ax = read_axes(c, a.where);
  const bool normalize = cfg::get_bool(c, "normalize", false, a.where);
  return std::make_shared<Dot>(ax, normalize, given_shapes(a));
}
Shape dot_merge_shape(const json::Value& c, const Shapes& shapes, const std::string& where) {
  const DotAxes ax = read_axes(c, where);
  (void)cfg::get_bool(c, "normalize", false, where);
  return dot_shape(ax, shapes, where);
}

}  // namespace

const LayerRow layer_row_Concatenate = {"Concatenate", concatenate_from_config, nullptr, false,
                                        concatenate_merge_shape};
const LayerRow layer_row_Add = {"Add", elementwise_from_config<Op::add>, nullptr, false,
                                elementwise_merge_shape<Op::add>};
const LayerRow layer_row_Subtract = {"Subtract", elementwise_from_config<Op::subtract>, nullptr, false,
                                     elementwise_merge_shape<Op::subtract>};
const LayerRow layer_row_Multiply = {"Multiply", elementwise_from_config<Op::multiply>, nullptr, false,
                                     elementwise_merge_shape<Op::multiply>};
const LayerRow layer_row_Average = {"Average", elementwise_from_config<Op::average>, nullptr, false,
                                    elementwise_merge_shape<Op::average>};
const LayerRow layer_row_Maximum = {"Maximum", elementwise_from_config<Op::maximum>, nullptr, false,
                                    elementwise_merge_shape<Op::maximum>};
const LayerRow layer_row_Minimum = {"Minimum", elementwise_from_config<Op::minimum>, nullptr, false,
                                    elementwise_merge_shape<Op::minimum>};
const LayerRow layer_row_Dot = {"Dot", dot_from_config, nullptr, false, dot_merge_shape};

}  // namespace ranvier
