// The merge layers: several inputs, one output, no weights (Keras 3's
// keras/src/layers/merging/*). Rows are flattened per-sample shapes; a layer is built for
// its inputs' per-sample shapes (given to its constructor) or, without them, for rows of
// the given widths (each input then a vector).
// - Add, Subtract, Multiply, Average, Maximum, Minimum: elementwise over inputs whose
//   shapes broadcast as Keras's do (aligned on the last axis; a dim of 1, or a missing
//   leading dim, stretches to the other's size; (None, 4) with (None, 1) gives (None, 4)).
//   An input narrower than the output is expanded into a scratch row first and its
//   gradient summed back over the stretched positions, in ascending order (so the same
//   bits at any thread count). Evaluated left to right in input order as Keras does (Average: sum / n).
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
// threads in fixed ranges: results never depend on the thread count. Dot is in merge_dot.cpp;
// the shapes and the base class they share in merge.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "layers/layer_table.h"
#include "layers/merge.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

using namespace merge_detail;  // NOLINT: a .cpp file, this layer's own helpers

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
  // Keras's _compute_elemwise_op_output_shape, folded left to right over the inputs.
  Shape out = shapes[0];
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    const Shape& a = out.size() >= shapes[i].size() ? out : shapes[i];
    const Shape& b = out.size() >= shapes[i].size() ? shapes[i] : out;
    Shape r(a.begin(), a.end() - static_cast<std::ptrdiff_t>(b.size()));
    for (std::size_t j = 0; j < b.size(); ++j) {
      const std::int64_t x = a[a.size() - b.size() + j], y = b[j];
      if (x < 0 || y < 0) r.push_back(kUnknown);  // Keras: None when either is None
      else if (x == 1) r.push_back(y);
      else if (y == 1 || x == y) r.push_back(x);
      else
        fail(where + ": Inputs have incompatible shapes. Received shapes " + shape_str(out) + " and " +
             shape_str(shapes[i]));
    }
    out = std::move(r);
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
  Shape out = shapes[0], ref = shapes[0];
  out[static_cast<std::size_t>(k)] = 0;
  for (const auto& s : shapes) {
    for (std::size_t j = 0; j < rank; ++j) {
      if (static_cast<std::int64_t>(j) == k) {
        const std::int64_t d = out[j];
        out[j] = (d < 0 || s[j] < 0) ? kUnknown : std::min(d + s[j], kMaxFeatures + 1);  // refused below
      } else if (ref[j] < 0) {  // the output keeps the first input's dims (Keras); the check
        ref[j] = s[j];          // compares every known size
      } else if (s[j] >= 0 && s[j] != ref[j]) {
        fail(msg);
      }
    }
  }
  return checked_out(out, shapes, where);
}

// ----------------------------------------------------------------------------- elementwise
class ElementwiseMerge final : public MergeLayer {
 public:
  ElementwiseMerge(Op op, Shapes shapes) : MergeLayer(std::move(shapes)), op_(op) {}
  const char* type_name() const override { return op_name(op_); }

  // Scratch rows for the broadcast inputs (their expansion and their full-width gradient),
  // allocated here, outside the training loop; a layer without one needs nothing.
  void reserve(std::int64_t max_batch) override {
    if (max_batch <= cap_ || !broadcasts()) return;
    const auto len = static_cast<std::size_t>(max_batch * out_);
    std::vector<std::vector<float>> wide(map_.size()), grad(map_.size());
    for (std::size_t i = 0; i < map_.size(); ++i)
      if (!map_[i].empty()) {
        wide[i].assign(len, 0.0f);
        grad[i].assign(len, 0.0f);
      }
    wide_.swap(wide);
    grad_.swap(grad);
    cap_ = max_batch;
  }

  double forward_inputs(const float* const* xs_in, float* y, std::int64_t batch, const ForwardCtx& ctx) override {
    (void)ctx;
    if (batch <= 0) return 0.0;
    const std::int64_t n = out_;
    const int k = static_cast<int>(widths_.size());
    const VmergeKernels& km = kernels().vmerge;
    const Op op = op_;
    const float* const* xs = full_inputs(xs_in, batch);
    layers_detail::parallel_ranges(batch, n * k, [&](std::int64_t r0, std::int64_t r1) {
      const std::int64_t off = r0 * n, len = (r1 - r0) * n;
      expand(xs_in, r0, r1);
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

  void backward_inputs(const float* const* xs_in, const float* y, float* dy, float* const* dxs_in,
                       std::int64_t batch, bool pre) override {
    (void)pre;
    if (batch <= 0) return;
    const std::int64_t n = out_;
    const int k = static_cast<int>(widths_.size());
    const VmergeKernels& km = kernels().vmerge;
    const Op op = op_;
    const float* const* xs = full_inputs(xs_in, batch);
    float* const* dxs = full_grads(dxs_in);
    layers_detail::parallel_ranges(batch, n * k, [&](std::int64_t r0, std::int64_t r1) {
      const std::int64_t off = r0 * n, len = (r1 - r0) * n;
      const auto bytes = sizeof(float) * static_cast<std::size_t>(len);
      expand(xs_in, r0, r1);
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
      reduce(dxs_in, r0, r1);  // the broadcast inputs' gradients, summed back over these rows
    });
  }

 protected:
  Shape plan(const Shapes& shapes) override {
    Shape out = elementwise_shape(op_, shapes, type_name());
    // For each input narrower than the output: the offset in its row of each output element
    // (the output's index, its dims aligned on the last axis, stride 0 where stretched).
    const std::int64_t n = numel(out);
    std::vector<std::vector<std::int64_t>> map(shapes.size());
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      if (numel(shapes[i]) == n) continue;  // the same elements in the same order
      const Shape& s = shapes[i];
      const std::size_t lead = out.size() - s.size();
      std::vector<std::int64_t> stride(out.size(), 0);
      std::int64_t st = 1;
      for (std::size_t j = s.size(); j-- > 0;) {
        if (s[j] != 1) stride[lead + j] = st;
        st *= s[j];
      }
      auto& m = map[i];
      m.resize(static_cast<std::size_t>(n));
      std::vector<std::int64_t> idx(out.size(), 0);
      std::int64_t at = 0;
      for (std::int64_t e = 0; e < n; ++e) {
        m[static_cast<std::size_t>(e)] = at;
        for (std::size_t d = out.size(); d-- > 0;) {  // the next output index, last axis fastest
          at += stride[d];
          if (++idx[d] < out[d]) break;
          at -= stride[d] * out[d];
          idx[d] = 0;
        }
      }
    }
    map_.swap(map);
    cap_ = 0;  // new shapes: the scratch rows are reserved again
    wide_.clear();
    grad_.clear();
    return out;
  }

 private:
  bool broadcasts() const {
    return std::any_of(map_.begin(), map_.end(), [](const std::vector<std::int64_t>& m) { return !m.empty(); });
  }
  void check_capacity(std::int64_t batch) const {
    if (batch > cap_)
      throw std::logic_error(std::string(type_name()) + ": batch exceeds the reserved size (reserve first)");
  }
  // The inputs as rows of the output's width: the broadcast ones from their scratch rows.
  const float* const* full_inputs(const float* const* xs, std::int64_t batch) {
    if (!broadcasts()) return xs;
    check_capacity(batch);
    ptrs_.assign(xs, xs + map_.size());
    for (std::size_t i = 0; i < map_.size(); ++i)
      if (!map_[i].empty()) ptrs_[i] = wide_[i].data();
    return ptrs_.data();
  }
  float* const* full_grads(float* const* dxs) {
    if (!broadcasts()) return dxs;
    gptrs_.assign(dxs, dxs + map_.size());
    for (std::size_t i = 0; i < map_.size(); ++i)
      if (!map_[i].empty() && dxs[i]) gptrs_[i] = grad_[i].data();
    return gptrs_.data();
  }
  void expand(const float* const* xs, std::int64_t r0, std::int64_t r1) {
    for (std::size_t i = 0; i < map_.size(); ++i) {
      const auto& m = map_[i];
      if (m.empty()) continue;
      const std::int64_t w = widths_[i];
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* src = xs[i] + r * w;
        float* dst = wide_[i].data() + r * out_;
        for (std::int64_t e = 0; e < out_; ++e) dst[e] = src[m[static_cast<std::size_t>(e)]];
      }
    }
  }
  void reduce(float* const* dxs, std::int64_t r0, std::int64_t r1) const {
    for (std::size_t i = 0; i < map_.size(); ++i) {
      const auto& m = map_[i];
      if (m.empty() || !dxs[i]) continue;
      const std::int64_t w = widths_[i];
      for (std::int64_t r = r0; r < r1; ++r) {
        float* d = dxs[i] + r * w;
        const float* g = grad_[i].data() + r * out_;
        std::fill(d, d + w, 0.0f);
        for (std::int64_t e = 0; e < out_; ++e) d[m[static_cast<std::size_t>(e)]] += g[e];
      }
    }
  }

  Op op_;
  std::vector<std::vector<std::int64_t>> map_;  // per input: empty, or its offset per output element
  std::vector<std::vector<float>> wide_, grad_;  // per broadcast input: cap_ rows of out_ floats
  std::vector<const float*> ptrs_;
  std::vector<float*> gptrs_;
  std::int64_t cap_ = 0;
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
            const float* src = xs[i] + r * widths_[i] + o * m;
            if (src != yr) std::memcpy(yr, src, sizeof(float) * static_cast<std::size_t>(m));
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
            float* d = dxs[i] ? dxs[i] + r * widths_[i] + o * m : nullptr;
            if (d && d != g) std::memcpy(d, g, sizeof(float) * static_cast<std::size_t>(m));  // one input: may be dy
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

// ----------------------------------------------------------------------------- config
template <Op op>
std::shared_ptr<Layer> elementwise_from_config(const json::Value& c, const LayerArgs& a) {
  (void)c;
  return std::make_shared<ElementwiseMerge>(op, given_shapes(a.input_shapes));
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
  return std::make_shared<Concatenate>(read_axis(c, a.where), given_shapes(a.input_shapes));
}
Shape concatenate_merge_shape(const json::Value& c, const Shapes& shapes, const std::string& where) {
  return concat_shape(read_axis(c, where), shapes, where);
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

}  // namespace ranvier
