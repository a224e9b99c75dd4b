// Dot(axes, normalize=False), Keras 3's keras/src/layers/merging/dot.py: exactly 2 inputs
// of per-sample rank 1 or 2 (Keras's batch_dot): out[i, j] = sum_t A[i, t] B[j, t] over the
// reduced axes; output shape = shape1 without its axis + shape2 without its axis, (1,) when
// empty. normalize=True first L2-normalizes each input along its axis as
// x * min(rsqrt(sum x^2), 1/1e-7) (keras.ops.normalize), so a zero vector gives 0 and its
// gradient is the clamp times dy. Vector rows use the f32-vmerge dot kernel; the strided
// (rank-2) cases plain loops in a fixed order. Rows split over threads in fixed ranges.
#include <cmath>
#include <cstdint>
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

using namespace merge_detail;  // NOLINT: a .cpp file, the merge layers' own helpers

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
    if (V.M == 1 && O.M == 1 && V.st == 1 && O.st == 1) {  // two vectors: d = g * other
      km.scale(other, g[0], d, V.K);
      return;
    }
    for (std::int64_t m = 0; m < V.M; ++m)
      for (std::int64_t t = 0; t < V.K; ++t) {
        float s = 0.0f;
        for (std::int64_t mo = 0; mo < O.M; ++mo) {
          const float gv = i == 0 ? g[m * O.M + mo] : g[mo * V.M + m];
          s += gv * other[mo * O.sm + t * O.st];
        }
        d[m * V.sm + t * V.st] = s;
      }
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
  return std::make_shared<Dot>(ax, normalize, given_shapes(a.input_shapes));
}
Shape dot_merge_shape(const json::Value& c, const Shapes& shapes, const std::string& where) {
  const DotAxes ax = read_axes(c, where);
  (void)cfg::get_bool(c, "normalize", false, where);
  return dot_shape(ax, shapes, where);
}

}  // namespace

const LayerRow layer_row_Dot = {"Dot", dot_from_config, nullptr, false, dot_merge_shape};

}  // namespace ranvier
