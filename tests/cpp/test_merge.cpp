// The merge layers (layers/merge.cpp) through C++ alone: built by name from the layer table
// with their input shapes, forward / backward against hand-computed values, the shapes the
// graph reads from the rows (merge_shape), the refusals, and results that do not depend on
// the thread count or (for the elementwise layers) on the ISA tier.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/json.h"
#include "dispatch/dispatch.h"
#include "layers/layer_table.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

using ranvier::json::Value;
using Shapes = std::vector<std::vector<std::int64_t>>;

std::shared_ptr<ranvier::Layer> make(const char* cls, const Value& cfg, const Shapes& shapes) {
  ranvier::LayerArgs a;
  a.where = "test";
  a.input_shapes = &shapes;
  return ranvier::make_layer(cls, cfg, a);
}

Value obj() { return Value::make_object(); }

std::string error_of(void (*f)()) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

RANVIER_TEST(merge_concatenate_on_a_middle_axis) {
  // (2, 2, 3) + (2, 1, 3) on axis 1: per sample rows [a0 a1 | b0]
  Value cfg = obj();
  cfg.set("axis", Value::make_int(1));
  auto c = make("Concatenate", cfg, {{2, 3}, {1, 3}});
  RANVIER_CHECK(c->num_inputs() == 2 && c->input_features(0) == 6 && c->input_features(1) == 3, "inputs");
  RANVIER_CHECK(c->out_features() == 9, "out %lld", static_cast<long long>(c->out_features()));
  std::vector<float> a = {1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16}, b = {7, 8, 9, 17, 18, 19};
  std::vector<float> y(18);
  const float* xs[2] = {a.data(), b.data()};
  c->forward_inputs(xs, y.data(), 2, ranvier::ForwardCtx{});
  for (int i = 0; i < 18; ++i)
    RANVIER_CHECK(y[static_cast<std::size_t>(i)] == static_cast<float>((i < 9 ? 1 : 2) + i), "y[%d] = %g", i,
                  static_cast<double>(y[static_cast<std::size_t>(i)]));
  std::vector<float> dy = y, da(6 * 2), db(3 * 2);
  float* dxs[2] = {da.data(), db.data()};
  c->backward_inputs(xs, y.data(), dy.data(), dxs, 2, false);
  RANVIER_CHECK(da == a && db == b, "the gradient is the slices of dy");
}

RANVIER_TEST(merge_rows_give_shapes_and_refuse_with_the_shapes) {
  const auto* add = ranvier::find_layer_row("Add");
  const auto* dot = ranvier::find_layer_row("Dot");
  const auto* dense = ranvier::find_layer_row("Dense");
  RANVIER_CHECK(add && add->merge_shape && dot && dot->merge_shape && dense && !dense->merge_shape, "rows");
  Value axes = obj();
  axes.set("axes", Value::make_int(2));
  RANVIER_CHECK((dot->merge_shape(axes, {{3, 4}, {3, 4}}, "w") == std::vector<std::int64_t>{3, 3}), "dot axes=2");
  axes.set("axes", Value::make_int(1));
  RANVIER_CHECK((dot->merge_shape(axes, {{4}, {4}}, "w") == std::vector<std::int64_t>{1}), "dot vectors");
  RANVIER_CHECK((add->merge_shape(obj(), {{4}, {-1}}, "w") == std::vector<std::int64_t>{-1}), "unknown dim");
  std::string msg;
  try {
    add->merge_shape(obj(), {{4}, {5}}, "w");
  } catch (const std::invalid_argument& e) {
    msg = e.what();
  }
  RANVIER_CHECK(msg.find("(None, 4) and (None, 5)") != std::string::npos, "%s", msg.c_str());
  // a merge layer is not a layer of a chain: refused by name, never a logic_error
  const std::string chain = error_of([] {
    ranvier::LayerArgs a;
    a.in_features = 4;
    a.where = "layer 'add' (Add)";
    ranvier::make_layer("Add", Value::make_object(), a);
  });
  RANVIER_CHECK(chain.find("layer 'add' (Add)") == 0 && chain.find("list of inputs") != std::string::npos, "%s",
                chain.c_str());
  const std::string sub = error_of([] { make("Subtract", Value::make_object(), {{3}, {3}, {3}}); });
  RANVIER_CHECK(sub.find("exactly 2 inputs") != std::string::npos, "%s", sub.c_str());
}

RANVIER_TEST(merge_elementwise_same_bits_on_every_tier_and_thread_count) {
  const std::int64_t b = 1500, n = 67;  // a tail on every tier; past the parallel threshold
  std::vector<std::vector<float>> x(3, std::vector<float>(static_cast<std::size_t>(b * n)));
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t i = 0; i < x[k].size(); ++i) x[k][i] = std::sin(static_cast<float>(i * (k + 3))) * 2.0f;
  const float* xs[3] = {x[0].data(), x[1].data(), x[2].data()};
  const ranvier::Isa before = ranvier::active_isa();
  for (const char* cls : {"Add", "Multiply", "Average", "Maximum", "Minimum"}) {
    std::vector<float> first_y, first_dx;
    for (const ranvier::Isa isa : ranvier::supported_isas()) {
      ranvier::set_isa(isa);
      for (int threads : {1, 3}) {
        ranvier::set_num_threads(threads);
        auto l = make(cls, obj(), {{n}, {n}, {n}});
        std::vector<float> y(static_cast<std::size_t>(b * n)), dy(y.size(), 0.5f), d0(y.size()), d2(y.size());
        l->forward_inputs(xs, y.data(), b, ranvier::ForwardCtx{});
        float* dxs[3] = {d0.data(), nullptr, d2.data()};
        l->backward_inputs(xs, y.data(), dy.data(), dxs, b, false);
        d0.insert(d0.end(), d2.begin(), d2.end());
        if (first_y.empty()) {
          first_y = y;
          first_dx = d0;
        }
        RANVIER_CHECK(y == first_y && d0 == first_dx, "%s differs on %s with %d threads", cls,
                      ranvier::isa_name(isa), threads);
      }
    }
  }
  ranvier::set_num_threads(0);
  ranvier::set_isa(before);
}
