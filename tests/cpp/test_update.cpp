// Optimizer update kernels and the C++ Optimizer, without Python.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "optimizers/optimizer.h"
#include "optimizers/optimizer_json.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

std::vector<float> randn(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// Adam over the flat buffer with per-tensor clipnorm and weight decay, in double.
void adam_reference(std::vector<double>& w, const std::vector<std::vector<float>>& grads,
                    const std::vector<ranvier::ParamSegment>& segs, double lr, double clip, double wd) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-7;
  std::vector<double> m(w.size(), 0.0), v(w.size(), 0.0);
  for (std::size_t step = 0; step < grads.size(); ++step) {
    const double t = static_cast<double>(step + 1);
    const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (const auto& s : segs) {
      double ss = 0;
      for (std::int64_t i = s.offset; i < s.offset + s.size; ++i) ss += double(grads[step][i]) * grads[step][i];
      const double f = clip / std::max(std::sqrt(ss), clip);
      for (std::int64_t i = s.offset; i < s.offset + s.size; ++i) {
        const double g = grads[step][i] * f;
        if (s.weight_decay) w[i] -= w[i] * wd * lr;
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
      }
    }
  }
}

}  // namespace

RANVIER_TEST(update_adam_matches_double_reference_per_isa) {
  const std::vector<ranvier::ParamSegment> segs = {{0, 1, true}, {1, 7, false}, {8, 33, true}, {41, 1031, true}};
  const std::int64_t n = 1072;
  const auto w0 = randn(n, 1);
  std::vector<std::vector<float>> grads;
  for (unsigned s = 0; s < 20; ++s) grads.push_back(randn(n, 100 + s));
  std::vector<double> ref(w0.begin(), w0.end());
  adam_reference(ref, grads, segs, 0.01, 2.0, 0.1);
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    auto cfg = ranvier::keras_defaults(ranvier::OptimizerKind::adam);
    cfg.learning_rate = 0.01f;
    cfg.clipnorm = 2.0;
    cfg.weight_decay = 0.1;
    ranvier::Optimizer opt(cfg);
    opt.build(n, segs);
    std::vector<float> w = w0;
    for (auto g : grads) opt.apply(w.data(), g.data());
    double worst = 0;
    for (std::int64_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(w[i] - ref[i]) / (1e-1 + std::fabs(ref[i])));
    // float32 steps vs double: ~1e-6 relative after 20 steps (see tests/test_optimizers.py)
    RANVIER_CHECK(worst < 1e-5, "%s: worst relative error %g", ranvier::isa_name(isa), worst);
    RANVIER_CHECK(opt.iterations() == 20, "iterations %lld", static_cast<long long>(opt.iterations()));
  }
  ranvier::set_isa(ranvier::supported_isas().back());
}

RANVIER_TEST(update_kernels_never_write_past_n) {
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    const auto& K = ranvier::kernels().update;
    for (int n = 0; n <= 40; ++n) {
      std::vector<float> w(n + 16, 7.0f), g(n + 16, 1.0f), m(n + 16, 5.0f), v(n + 16, 5.0f), e(n + 16, 3.0f);
      float* slots[3] = {m.data(), v.data(), nullptr};
      ranvier::UpdateArgs a;
      a.lr = 0.1f;
      a.adam.one_minus_beta_1 = 0.1f;
      a.adam.one_minus_beta_2 = 0.001f;
      a.adam.alpha = 0.01f;
      a.adam.epsilon = 1e-7f;
      K.adam(n, w.data(), g.data(), slots, e.data(), &a);
      bool ok = true;
      for (int i = n; i < n + 16; ++i) ok = ok && w[i] == 7.0f && m[i] == 5.0f && v[i] == 5.0f && e[i] == 3.0f;
      for (int i = 0; i < n; ++i) ok = ok && w[i] != 7.0f;
      RANVIER_CHECK(ok, "%s: n=%d wrote outside [0, n) or missed an element", ranvier::isa_name(isa), n);
      const float ss = K.sumsq(n, g.data());
      RANVIER_CHECK(ss == static_cast<float>(n), "%s: sumsq(%d ones) = %g", ranvier::isa_name(isa), n, ss);
    }
  }
  ranvier::set_isa(ranvier::supported_isas().back());
}

RANVIER_TEST(update_threads_do_not_change_results) {
  if (!ranvier::has_openmp()) return;
  const std::int64_t n = 400'003;
  const std::vector<ranvier::ParamSegment> segs = {{0, 3}, {3, 100'000}, {100'003, 300'000}};
  const auto w0 = randn(n, 7);
  const auto g0 = randn(n, 8);
  std::vector<float> out[2];
  const int saved = ranvier::get_num_threads();
  for (int t = 1; t <= 2; ++t) {
    ranvier::set_num_threads(t);
    auto cfg = ranvier::keras_defaults(ranvier::OptimizerKind::rmsprop);
    cfg.global_clipnorm = 50.0;
    cfg.centered = true;
    ranvier::Optimizer opt(cfg);
    opt.build(n, segs);
    out[t - 1] = w0;
    for (int s = 0; s < 3; ++s) {
      std::vector<float> g = g0;
      opt.apply(out[t - 1].data(), g.data());
    }
  }
  (void)saved;
  ranvier::set_num_threads(0);
  RANVIER_CHECK(std::memcmp(out[0].data(), out[1].data(), n * sizeof(float)) == 0, "1 and 2 threads differ");
}

RANVIER_TEST(optimizer_validation_names_the_argument) {
  auto expect = [](ranvier::OptimizerConfig c, const char* arg) {
    try {
      ranvier::Optimizer o(c);
      RANVIER_CHECK(false, "no exception for bad %s", arg);
    } catch (const std::invalid_argument& e) {
      RANVIER_CHECK(std::string(e.what()).find(arg) != std::string::npos, "message '%s' does not name %s", e.what(), arg);
    }
  };
  auto c = ranvier::keras_defaults(ranvier::OptimizerKind::rmsprop);
  c.rho = 1.5;
  expect(c, "rho");
  c = ranvier::keras_defaults(ranvier::OptimizerKind::adam);
  c.learning_rate = -1.0f;
  expect(c, "learning_rate");
  c = ranvier::keras_defaults(ranvier::OptimizerKind::adam);
  c.clipnorm = 1.0;
  c.clipvalue = 1.0;
  expect(c, "clipvalue");
  c = ranvier::keras_defaults(ranvier::OptimizerKind::lion);
  c.beta_1 = 0.0;
  expect(c, "beta_1");
  c = ranvier::keras_defaults(ranvier::OptimizerKind::sgd);
  c.schedule.kind = ranvier::ScheduleKind::exponential_decay;
  c.schedule.decay_steps = 0;
  expect(c, "decay_steps");
}

RANVIER_TEST(schedule_values_and_state_round_trip) {
  ranvier::ScheduleConfig s;
  s.kind = ranvier::ScheduleKind::exponential_decay;
  s.initial_learning_rate = 0.1;
  s.decay_steps = 10;
  s.decay_rate = 0.5;
  RANVIER_CHECK(ranvier::schedule_value(s, 10) == 0.05f, "exponential at 10: %g", ranvier::schedule_value(s, 10));
  s.kind = ranvier::ScheduleKind::piecewise_constant_decay;
  s.boundaries = {2, 4};
  s.values = {0.3, 0.2, 0.1};
  RANVIER_CHECK(ranvier::schedule_value(s, 2) == 0.3f && ranvier::schedule_value(s, 3) == 0.2f &&
                    ranvier::schedule_value(s, 5) == 0.1f,
                "piecewise boundaries are inclusive on the left interval");

  // Nadam: save after 3 steps, restore into a fresh optimizer, continue: bitwise equal.
  const std::int64_t n = 101;
  const auto w0 = randn(n, 3);
  auto run = [&](int steps, ranvier::Optimizer& o, std::vector<float>& w, int from) {
    for (int k = from; k < from + steps; ++k) {
      auto g = randn(n, 50 + k);
      o.apply(w.data(), g.data());
    }
  };
  auto cfg = ranvier::keras_defaults(ranvier::OptimizerKind::nadam);
  ranvier::Optimizer a(cfg), b(cfg), c(cfg);
  a.build(n, {});
  b.build(n, {});
  c.build(n, {});
  std::vector<float> wa = w0, wb = w0;
  run(6, a, wa, 0);
  run(3, b, wb, 0);
  auto sb = b.slots();
  auto sc = c.slots();
  for (std::size_t i = 0; i < sb.size(); ++i) std::memcpy(sc[i].data, sb[i].data, n * sizeof(float));
  c.set_scalar("u_product", b.scalar("u_product"));
  c.set_raw_iterations(b.raw_iterations());
  run(3, c, wb, 3);
  RANVIER_CHECK(std::memcmp(wa.data(), wb.data(), n * sizeof(float)) == 0, "resumed Nadam differs");
}

// Every rule and option on every ISA this CPU runs agrees with the scalar ISA (this is
// what exercises the AVX-512 kernels on a machine that has them).
RANVIER_TEST(update_all_rules_agree_across_isas) {
  using ranvier::OptimizerKind;
  struct Case {
    const char* name;
    OptimizerKind kind;
    void (*tweak)(ranvier::OptimizerConfig&);
  };
  const Case cases[] = {
      {"sgd", OptimizerKind::sgd, [](ranvier::OptimizerConfig&) {}},
      {"sgd_nesterov_clipvalue", OptimizerKind::sgd, [](ranvier::OptimizerConfig& c) { c.momentum = 0.9; c.nesterov = true; c.clipvalue = 0.5; }},
      {"sgd_momentum_ema", OptimizerKind::sgd, [](ranvier::OptimizerConfig& c) { c.momentum = 0.9; c.use_ema = true; c.weight_decay = 0.1; }},
      {"rmsprop", OptimizerKind::rmsprop, [](ranvier::OptimizerConfig&) {}},
      {"rmsprop_centered_momentum", OptimizerKind::rmsprop, [](ranvier::OptimizerConfig& c) { c.centered = true; c.momentum = 0.5; }},
      {"rmsprop_momentum_clipnorm", OptimizerKind::rmsprop, [](ranvier::OptimizerConfig& c) { c.momentum = 0.5; c.clipnorm = 1.0; }},
      {"adagrad", OptimizerKind::adagrad, [](ranvier::OptimizerConfig&) {}},
      {"adadelta", OptimizerKind::adadelta, [](ranvier::OptimizerConfig& c) { c.learning_rate = 1.0f; }},
      {"adam_amsgrad_global", OptimizerKind::adam, [](ranvier::OptimizerConfig& c) { c.amsgrad = true; c.global_clipnorm = 3.0; }},
      {"adamw_accumulation", OptimizerKind::adamw, [](ranvier::OptimizerConfig& c) { c.gradient_accumulation_steps = 2; c.use_ema = true; }},
      {"adamax", OptimizerKind::adamax, [](ranvier::OptimizerConfig&) {}},
      {"nadam", OptimizerKind::nadam, [](ranvier::OptimizerConfig& c) { c.loss_scale_factor = 8.0; }},
      {"lion", OptimizerKind::lion, [](ranvier::OptimizerConfig& c) { c.weight_decay = 0.5; }},
      {"ftrl", OptimizerKind::ftrl, [](ranvier::OptimizerConfig& c) { c.learning_rate = 0.1f; c.l1_regularization_strength = 0.01; }},
      {"ftrl_power", OptimizerKind::ftrl, [](ranvier::OptimizerConfig& c) { c.learning_rate = 0.1f; c.learning_rate_power = -0.7; c.beta = 0.3; }},
      {"ftrl_power0", OptimizerKind::ftrl, [](ranvier::OptimizerConfig& c) { c.learning_rate = 0.1f; c.learning_rate_power = 0.0; c.l2_shrinkage_regularization_strength = 0.1; }},
  };
  const std::vector<ranvier::ParamSegment> segs = {{0, 1, true}, {1, 7, false}, {8, 33, true}, {41, 1031, true}, {1072, 17, true}};
  const std::int64_t n = 1089 + 3;  // 3 floats past the last segment are never touched
  const auto w0 = randn(n, 21);
  std::vector<std::vector<float>> grads;
  for (unsigned s = 0; s < 6; ++s) grads.push_back(randn(n, 300 + s));
  const auto isas = ranvier::supported_isas();
  for (const auto& cs : cases) {
    std::vector<std::vector<float>> results;
    for (auto isa : isas) {
      ranvier::set_isa(isa);
      auto cfg = ranvier::keras_defaults(cs.kind);
      cs.tweak(cfg);
      ranvier::Optimizer opt(cfg);
      opt.build(n, segs);
      std::vector<float> w = w0;
      for (auto g : grads) opt.apply(w.data(), g.data());
      results.push_back(w);
    }
    for (std::size_t k = 1; k < results.size(); ++k) {
      double worst = 0, moved = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        worst = std::max(worst, std::fabs(double(results[k][i]) - results[0][i]) / (1e-1 + std::fabs(results[0][i])));
        moved = std::max(moved, std::fabs(double(results[0][i]) - w0[i]));
      }
      // FMA vs separate multiply-add and different lane orders: a few float32 ulps
      RANVIER_CHECK(worst < 1e-5 && moved > 1e-4, "%s: %s vs scalar differs by %g (moved %g)", cs.name,
                    ranvier::isa_name(isas[k]), worst, moved);
      bool tail = true;
      for (std::int64_t i = 1089; i < n; ++i) tail = tail && results[k][i] == w0[i];
      RANVIER_CHECK(tail, "%s: %s touched elements outside the segments", cs.name, ranvier::isa_name(isas[k]));
    }
  }
  ranvier::set_isa(isas.back());
}

// Every row of optimizers.def: names resolve both ways, the defaults validate, the config
// JSON round-trips (each hyperparameter moved off its default), and build() allocates
// slots named as the table lists them.
RANVIER_TEST(optimizer_table_names_defaults_json_and_slots) {
  for (ranvier::OptimizerKind k : ranvier::all_optimizer_kinds()) {
    const std::string name = ranvier::optimizer_kind_name(k);
    ranvier::OptimizerKind back{};
    RANVIER_CHECK(ranvier::optimizer_kind_from_name(name, &back) && back == k, "%s: kind name", name.c_str());
    RANVIER_CHECK(ranvier::optimizer_kind_from_name(ranvier::optimizer_class_name(k), &back) && back == k,
                  "%s: class name", name.c_str());
    ranvier::OptimizerConfig c = ranvier::keras_defaults(k);
    ranvier::Optimizer defaults(c);  // Keras's defaults pass the checks
    (void)defaults;
    const std::string j0 = ranvier::json::dump(ranvier::optimizer_to_json(c, ""));
    // move every hyperparameter off its default through the JSON (key = config field)
    ranvier::json::Value v = ranvier::optimizer_to_json(c, "x");
    ranvier::json::Value cfg = *v.find("config");
    for (const auto& h : ranvier::optimizer_hypers(k))
      cfg.set(h.name, h.flag ? ranvier::json::Value::make_bool(!(h.value != 0.0))
                             : ranvier::json::Value::make_number(h.value <= 0.0 ? h.value - 0.25 : h.value * 0.5));
    v.set("config", cfg);
    const ranvier::OptimizerConfig moved = ranvier::optimizer_from_json(v);
    const std::string j1 = ranvier::json::dump(ranvier::optimizer_to_json(moved, "x"));
    RANVIER_CHECK(j1 == ranvier::json::dump(v), "%s: JSON round trip\n%s\n%s", name.c_str(), j1.c_str(),
                  ranvier::json::dump(v).c_str());
    RANVIER_CHECK(j1 != j0, "%s: the hyperparameters did not move", name.c_str());
    ranvier::Optimizer o(ranvier::keras_defaults(k));
    o.build(10, {});
    std::size_t always = 0;
    for (const auto& s : ranvier::optimizer_slots(k)) {
      bool found = false;
      for (const auto& view : o.slots()) found = found || view.name == s.name;
      always += found ? 1 : 0;
    }
    RANVIER_CHECK(always == o.slots().size(), "%s: slots outside the table", name.c_str());
  }
}
