// Activations and losses through the C++ interfaces (no Python): every kernel-table
// entry is filled for every supported ISA, the ISAs agree with each other and with
// double-precision formulas, special values, aliasing, and Keras's check values.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "dispatch/dispatch.h"
#include "losses/loss_json.h"
#include "losses/losses.h"
#include "ops/activations.h"
#include "ops/vmath.h"
#include "testing.h"

namespace {

using ranvier::ActKind;
using ranvier::LossKind;

constexpr int kNumActs = ranvier::kActKindCount;
constexpr int kNumLosses = ranvier::kLossKindCount;

std::vector<float> test_inputs() {
  std::vector<float> x;
  for (int i = -400; i <= 400; ++i) x.push_back(static_cast<float>(i) * 0.05f);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, inf, -inf, 1e30f, -1e30f, 88.0f, -88.0f, 3.0f, -3.0f, 6.0f, 1e-30f}) x.push_back(v);
  return x;
}

double rel_diff(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return (std::isnan(a) && std::isnan(b)) ? 0.0 : 1.0;
  if (a == b) return 0.0;
  return std::fabs(a - b) / std::fmax(std::fabs(b), 1e-30);
}

struct IsaGuard {
  ranvier::Isa saved = ranvier::active_isa();
  ~IsaGuard() { ranvier::set_isa(saved); }
};

}  // namespace

RANVIER_TEST(vunary_table_is_complete_for_every_isa) {
  IsaGuard guard;
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    const auto& k = ranvier::kernels().vunary;
    RANVIER_CHECK(k.name != nullptr, "no vunary kernels for %s", ranvier::isa_name(isa));
    for (int i = 0; i < ranvier::kVunaryCount; ++i) {
      const bool rowwise = ranvier::activation_info(static_cast<ActKind>(i)).rowwise;
      RANVIER_CHECK(rowwise ? (k.row_forward[i] && k.row_backward[i] && !k.forward[i])
                            : (k.forward[i] && k.backward[i] && !k.row_forward[i]),
                    "%s: activation %d (%s) missing", ranvier::isa_name(isa), i,
                    ranvier::activation_info(static_cast<ActKind>(i)).name);
    }
    for (int i = 0; i < ranvier::kVmathCount; ++i) RANVIER_CHECK(k.math[i], "%s: vmath %d", ranvier::isa_name(isa), i);
    const auto& l = ranvier::kernels().vloss;
    RANVIER_CHECK(l.name != nullptr, "no vloss kernels for %s", ranvier::isa_name(isa));
    for (int i = 0; i < ranvier::kVlossCount; ++i) RANVIER_CHECK(l.loss[i], "%s: loss %d", ranvier::isa_name(isa), i);
    for (int i = 0; i < ranvier::kVfusedCount; ++i)
      RANVIER_CHECK(l.fused[i], "%s: fused %d", ranvier::isa_name(isa), i);
  }
}

// Every ISA computes the same activations as the scalar kernels to a few ulp: 1e-5
// relative, plus for derivatives an absolute 1e-6 |dy| (1 + |x|) for terms that cancel
// (1 - y^2 near saturation: FMA ISAs round once, the scalar one twice).
RANVIER_TEST(activations_agree_across_isas) {
  IsaGuard guard;
  const auto x = test_inputs();
  const std::int64_t n = static_cast<std::int64_t>(x.size());
  std::vector<float> dy(x.size());
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 0.5f + 0.001f * static_cast<float>(i % 97);
  ranvier::ActParams p;
  for (int a = 0; a < kNumActs; ++a) {
    const auto kind = static_cast<ActKind>(a);
    std::vector<float> y0(x.size()), d0(x.size());
    ranvier::set_isa(ranvier::Isa::scalar);
    ranvier::activation_forward(kind, p, x.data(), y0.data(), 1, n);
    ranvier::activation_backward(kind, p, x.data(), y0.data(), dy.data(), d0.data(), 1, n);
    for (auto isa : ranvier::supported_isas()) {
      ranvier::set_isa(isa);
      std::vector<float> y(x.size()), d(x.size());
      ranvier::activation_forward(kind, p, x.data(), y.data(), 1, n);
      ranvier::activation_backward(kind, p, x.data(), y.data(), dy.data(), d.data(), 1, n);
      double worst = 0, worst_d = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        worst = std::fmax(worst, std::fabs(y[i] - y0[i]) <= 1e-37 ? 0.0 : rel_diff(y[i], y0[i]));
        const double slack = 1e-30 + 1e-6 * std::fabs(dy[i]) * (1.0 + (std::isfinite(x[i]) ? std::fabs(x[i]) : 0.0));
        worst_d = std::fmax(worst_d, std::fabs(d[i] - d0[i]) <= slack ? 0.0 : rel_diff(d[i], d0[i]));
      }
      RANVIER_CHECK(worst < 1e-5 && worst_d < 1e-5, "activation %d on %s: forward %g backward %g", a,
                    ranvier::isa_name(isa), worst, worst_d);
    }
  }
}

RANVIER_TEST(activation_values_against_double) {
  IsaGuard guard;
  const float xs[] = {-3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 2.0f, 7.0f};
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    ranvier::ActParams p;
    float y[7];
    ranvier::activation_forward(ActKind::gelu, p, xs, y, 1, 7);
    for (int i = 0; i < 7; ++i) {
      const double x = xs[i], want = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
      RANVIER_CHECK(std::fabs(y[i] - want) <= 1e-6 * std::fabs(want) + 1e-30, "gelu(%g) %s", x, ranvier::isa_name(isa));
    }
    ranvier::activation_forward(ActKind::tanh, p, xs, y, 1, 7);
    for (int i = 0; i < 7; ++i)
      RANVIER_CHECK(std::fabs(y[i] - std::tanh(static_cast<double>(xs[i]))) <= 2e-7, "tanh(%g)", xs[i]);
    ranvier::activation_forward(ActKind::softplus, p, xs, y, 1, 7);
    for (int i = 0; i < 7; ++i) {
      const double want = std::log1p(std::exp(static_cast<double>(xs[i])));
      RANVIER_CHECK(std::fabs(y[i] - want) <= 5e-7 * want, "softplus(%g)", xs[i]);
    }
  }
}

RANVIER_TEST(keras_relu_examples) {
  const float x[] = {-10, -5, 0, 5, 10};
  float y[5];
  ranvier::ActParams p;
  p.negative_slope = 0.5f;
  p.max_value = 5.0f;
  p.threshold = 5.0f;
  ranvier::activation_forward(ActKind::relu, p, x, y, 1, 5);
  const float want[] = {-7.5f, -5.0f, -2.5f, 0.0f, 5.0f};
  for (int i = 0; i < 5; ++i) RANVIER_CHECK(y[i] == want[i], "relu general [%d] = %g", i, y[i]);
}

RANVIER_TEST(in_place_softmax_and_aliasing) {
  IsaGuard guard;
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    std::vector<float> x(3 * 37), y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 5.0f;
    ranvier::ActParams p;
    ranvier::activation_forward(ActKind::softmax, p, x.data(), y.data(), 3, 37);
    std::vector<float> z = x;
    ranvier::activation_forward(ActKind::softmax, p, z.data(), z.data(), 3, 37);
    bool same = true;
    double rowsum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) same = same && z[i] == y[i];
    for (int j = 0; j < 37; ++j) rowsum += y[j];
    RANVIER_CHECK(same, "in-place softmax differs on %s", ranvier::isa_name(isa));
    RANVIER_CHECK(std::fabs(rowsum - 1.0) < 1e-6, "softmax row sums to %g", rowsum);
  }
}

RANVIER_TEST(backward_needs_are_enforced) {
  ranvier::ActParams p;
  float dy[2] = {1, 1}, dx[2];
  bool threw = false;
  try {
    ranvier::activation_backward(ActKind::gelu, p, nullptr, nullptr, dy, dx, 1, 2);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "gelu backward without x must throw");
  const auto needs = ranvier::activation_backward_needs(ActKind::sigmoid, p);
  RANVIER_CHECK(!needs.input && needs.output, "sigmoid needs y only");
}

RANVIER_TEST(vmath_exp_log_roundtrip) {
  IsaGuard guard;
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    std::vector<float> x(1000), e(1000), l(1000);
    for (int i = 0; i < 1000; ++i) x[i] = -80.0f + 0.16f * static_cast<float>(i);
    ranvier::vmath_apply(ranvier::kVmathExp, x.data(), e.data(), 1000);
    ranvier::vmath_apply(ranvier::kVmathLog, e.data(), l.data(), 1000);
    double worst = 0;
    for (int i = 0; i < 1000; ++i) {
      worst = std::fmax(worst, rel_diff(e[i], std::exp(static_cast<double>(x[i]))));
      worst = std::fmax(worst, std::fabs(l[i] - x[i]) / std::fmax(1.0, std::fabs(x[i])) > 1e-6 ? 1.0 : 0.0);
    }
    RANVIER_CHECK(worst < 2.5e-7, "exp/log on %s: %g", ranvier::isa_name(isa), worst);
  }
}

RANVIER_TEST(keras_loss_check_values) {
  IsaGuard guard;
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    ranvier::LossParams p;
    float ps[3], g[9];
    const float yt[] = {1, 0, 1, 0}, yp[] = {1, 1, 1, 0};
    ranvier::loss_forward_backward(LossKind::binary_crossentropy, p, yt, 2, yp, 2, 2, nullptr, 0.5f, ps, g);
    RANVIER_CHECK(std::fabs((ps[0] + ps[1]) / 2 - 3.9855962f) < 1e-6f, "bce check value %.8g", (ps[0] + ps[1]) / 2);
    const float eye[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const float pr[] = {.9f, .05f, .05f, .5f, .89f, .6f, .05f, .01f, .94f};
    ranvier::loss_forward_backward(LossKind::categorical_crossentropy, p, eye, 3, pr, 3, 3, nullptr, 1.0f / 3, ps, g);
    RANVIER_CHECK(std::fabs((ps[0] + ps[1] + ps[2]) / 3 - 0.3239681f) < 1e-6f, "cce check value");
    const float a[] = {1, 9, 2, -5, -2, 6}, b[] = {4, 8, 12, 8, 1, 3};
    ranvier::loss_forward_backward(LossKind::mean_squared_error, p, a, 3, b, 2, 3, nullptr, 0.5f, ps, g);
    RANVIER_CHECK(std::fabs((ps[0] + ps[1]) / 2 - 49.5f) < 1e-5f, "mse check value");
  }
}

RANVIER_TEST(losses_agree_across_isas) {
  IsaGuard guard;
  const std::int64_t n = 13, k = 21;
  std::vector<float> yt(n * k), yp(n * k), lab(n), w(n);
  for (std::int64_t i = 0; i < n * k; ++i) {
    yt[i] = static_cast<float>((i * 7) % 2);
    yp[i] = 0.05f + 0.9f * static_cast<float>((i * 37) % 101) / 101.0f;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    lab[i] = static_cast<float>((i * 5) % k);
    w[i] = 0.5f + 0.1f * static_cast<float>(i);
  }
  for (int li = 0; li < kNumLosses; ++li) {
    const auto kind = static_cast<LossKind>(li);
    const bool sparse = kind == LossKind::sparse_categorical_crossentropy;
    ranvier::LossParams p;
    std::vector<float> ps0(n), g0(n * k);
    ranvier::set_isa(ranvier::Isa::scalar);
    ranvier::loss_forward_backward(kind, p, sparse ? lab.data() : yt.data(), sparse ? 1 : k, yp.data(), n, k,
                                   w.data(), 0.1f, ps0.data(), g0.data());
    for (auto isa : ranvier::supported_isas()) {
      ranvier::set_isa(isa);
      std::vector<float> ps(n), g(n * k);
      ranvier::loss_forward_backward(kind, p, sparse ? lab.data() : yt.data(), sparse ? 1 : k, yp.data(), n, k,
                                     w.data(), 0.1f, ps.data(), g.data());
      double worst = 0, gmax = 0;
      for (std::int64_t i = 0; i < n * k; ++i) gmax = std::fmax(gmax, std::fabs(g0[i]));
      for (std::int64_t i = 0; i < n; ++i) worst = std::fmax(worst, rel_diff(ps[i], ps0[i]));
      for (std::int64_t i = 0; i < n * k; ++i) worst = std::fmax(worst, std::fabs(g[i] - g0[i]) / (gmax + 1e-30));
      RANVIER_CHECK(worst < 1e-5, "loss %d on %s differs from scalar by %g", li, ranvier::isa_name(isa), worst);
    }
  }
}

RANVIER_TEST(sparse_labels_out_of_range_throw) {
  ranvier::LossParams p;
  const float lab[] = {0, 5}, yp[] = {.5f, .5f, .5f, .5f};
  float ps[2];
  bool threw = false;
  try {
    ranvier::loss_forward_backward(LossKind::sparse_categorical_crossentropy, p, lab, 1, yp, 2, 2, nullptr, 1.0f, ps,
                                   nullptr);
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("label 5") != std::string::npos &&
            std::string(e.what()).find("2 classes") != std::string::npos;
  }
  RANVIER_CHECK(threw, "out-of-range label must throw std::invalid_argument naming the label and class count");
}

RANVIER_TEST(fused_softmax_cce_gradient) {
  ranvier::LossParams p;
  const float z[] = {1.0f, 2.0f, 0.5f};
  float q[3];
  ranvier::activation_forward(ActKind::softmax, ranvier::ActParams{}, z, q, 1, 3);
  const float y[] = {0, 1, 0};
  float ps[1], g[3];
  RANVIER_CHECK(ranvier::loss_fuses_with(LossKind::categorical_crossentropy, p, ActKind::softmax), "fuses");
  ranvier::loss_forward_backward_fused(LossKind::categorical_crossentropy, p, ActKind::softmax, y, 3, q, 1, 3,
                                       nullptr, 1.0f, ps, g);
  for (int j = 0; j < 3; ++j) RANVIER_CHECK(std::fabs(g[j] - (q[j] - y[j])) < 1e-7f, "q - y at %d", j);
  RANVIER_CHECK(std::fabs(ps[0] + std::log(q[1])) < 1e-6f, "value -log q");
}

// The activation list: every row's name resolves to its kind, the aliases to theirs, and
// the default parameters are the row's (leaky_relu 0.2, soft_shrink 0.5).
RANVIER_TEST(activation_table_names_aliases_and_defaults) {
  for (int k = 0; k < ranvier::kActKindCount; ++k) {
    ActKind got;
    const auto kind = static_cast<ActKind>(k);
    RANVIER_CHECK(ranvier::activation_from_name(ranvier::activation_info(kind).name, &got) && got == kind,
                  "row %d", k);
  }
  ActKind got;
  RANVIER_CHECK(ranvier::activation_from_name("swish", &got) && got == ActKind::silu, "swish");
  RANVIER_CHECK(ranvier::activation_from_name("hard_swish", &got) && got == ActKind::hard_silu, "hard_swish");
  RANVIER_CHECK(!ranvier::activation_from_name("Relu", &got), "names are exact");
  RANVIER_CHECK(ranvier::activation_default_params(ActKind::leaky_relu).negative_slope == 0.2f, "leaky_relu");
  RANVIER_CHECK(ranvier::activation_default_params(ActKind::soft_shrink).threshold == 0.5f, "soft_shrink");
  RANVIER_CHECK(std::isinf(ranvier::activation_default_params(ActKind::relu).max_value), "relu max_value");
  const auto d = ranvier::activation_param_defaults(ActKind::relu);
  RANVIER_CHECK(d.size() == 3 && d[0].first == "negative_slope" && d[2].first == "threshold", "relu params");
  const auto needs = ranvier::activation_backward_needs(ActKind::hard_tanh, ranvier::ActParams{});
  RANVIER_CHECK(needs.input && !needs.output, "hard_tanh reads x");
}

// The loss list: names, lower-cased class names and aliases resolve; model-file JSON
// carries a loss's parameters.
RANVIER_TEST(loss_table_names_aliases_and_json) {
  LossKind got;
  for (int k = 0; k < ranvier::kLossKindCount; ++k) {
    const auto kind = static_cast<LossKind>(k);
    RANVIER_CHECK(ranvier::loss_from_name(ranvier::loss_info(kind).name, &got) && got == kind, "row %d", k);
    RANVIER_CHECK(ranvier::loss_from_name(ranvier::loss_info(kind).class_name, &got) && got == kind, "class %d", k);
  }
  RANVIER_CHECK(ranvier::loss_from_name("MSE", &got) && got == LossKind::mean_squared_error, "mse");
  RANVIER_CHECK(ranvier::loss_from_name("logcosh", &got) && got == LossKind::log_cosh, "logcosh");
  RANVIER_CHECK(ranvier::loss_from_name("bce", &got) && got == LossKind::binary_crossentropy, "bce");
  RANVIER_CHECK(!ranvier::loss_from_name("msee", &got), "unknown");
  const auto spec = ranvier::loss_from_json(
      ranvier::json::parse(std::string(R"({"class_name": "CategoricalFocalCrossentropy",
          "config": {"alpha": 0.5, "gamma": 3.0, "from_logits": true}})")),
      3, 3);
  RANVIER_CHECK(spec.kind == LossKind::categorical_focal_crossentropy && spec.params.alpha == 0.5f &&
                    spec.params.gamma == 3.0f && spec.params.from_logits,
                "focal from JSON");
  RANVIER_CHECK(ranvier::loss_is_sparse(ranvier::loss_from_json(ranvier::json::Value::make_string("ce"), 3, 1)),
                "ce with one label column is sparse");
  bool threw = false;
  try {
    ranvier::loss_from_json(ranvier::json::Value::make_string("msee"), 3, 3);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "unknown loss name throws");
}
