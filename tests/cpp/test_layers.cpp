// Layers through the C++ interface alone (no Python): Dense forward/backward against
// double loops on every supported ISA, the BatchNormalization example measured in
// Keras, LayerNormalization's row statistics, Dropout's thread independence and
// extremes, frozen layers, constraints.
//
// Tolerance for Dense: |err| <= (K + 2) * 2^-23 * sum|terms| + 1e-6, the float32 bound of a
// K-term dot product (K = the reduction length of each result).
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "dispatch/dispatch.h"
#include "layers/layers.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

using ranvier::ActKind;
using std::int64_t;

constexpr double kEps = 1.1920928955078125e-07;

std::vector<float> randn(std::size_t n, std::mt19937& rng, float sd = 1.0f) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Bound {
  std::vector<float> params, grads;
};

// Runs Dense (b x n) -> (b x u) with activation `act` (linear, relu or tanh) and checks y,
// dx, dW, db against double loops. Returns the number of bad values.
int check_dense(int64_t b, int64_t n, int64_t u, ActKind act, bool pre, std::mt19937& rng) {
  ranvier::DenseConfig cfg;
  cfg.units = u;
  cfg.activation = act;
  ranvier::Dense layer(cfg);
  layer.build(n);
  auto w = randn(static_cast<std::size_t>(n * u), rng, 1.0f / std::sqrt(static_cast<float>(n)));
  auto bias = randn(static_cast<std::size_t>(u), rng, 0.5f);
  std::vector<float> dw(w.size()), db(bias.size());
  layer.bind({w.data(), bias.data()}, {dw.data(), db.data()});
  layer.reserve(b);
  auto x = randn(static_cast<std::size_t>(b * n), rng);
  auto dy = randn(static_cast<std::size_t>(b * u), rng);
  const auto dy0 = dy;
  std::vector<float> y(static_cast<std::size_t>(b * u)), dx(static_cast<std::size_t>(b * n));
  ranvier::ForwardCtx ctx;
  ctx.training = true;
  layer.forward(x.data(), y.data(), b, ctx);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), b, pre);

  int bad = 0;
  std::vector<double> dz(static_cast<std::size_t>(b * u)), zt(static_cast<std::size_t>(b * u));
  std::vector<double> tz(static_cast<std::size_t>(b * u));
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j < u; ++j) {
      double z = bias[j], s = std::fabs(bias[j]);
      for (int64_t p = 0; p < n; ++p) {
        z += static_cast<double>(x[i * n + p]) * w[p * u + j];
        s += std::fabs(static_cast<double>(x[i * n + p]) * w[p * u + j]);
      }
      const double tol = (n + 2) * kEps * s + 1e-6;
      double yr = z, d = 1.0;
      if (act == ActKind::relu) {
        yr = z > 0 ? z : 0;
        // near the kink take the side the layer took
        d = std::fabs(z) <= tol ? (y[i * u + j] > 0 ? 1.0 : 0.0) : (z > 0 ? 1.0 : 0.0);
      } else if (act == ActKind::tanh) {
        yr = std::tanh(z);
        d = 1.0 - yr * yr;
      }
      if (std::fabs(y[i * u + j] - yr) > tol + 8 * kEps * std::fabs(yr)) ++bad;
      dz[i * u + j] = pre ? dy0[i * u + j] : dy0[i * u + j] * d;
      // tanh' moves by at most 0.77 * |dz error|; plus a few ulps
      tz[i * u + j] = (act == ActKind::tanh && !pre ? 0.77 * std::fabs(dy0[i * u + j]) * tol : 0.0) +
                      4 * kEps * std::fabs(dz[i * u + j]);
      zt[i * u + j] = std::fabs(dz[i * u + j]) + tz[i * u + j];
    }
  }
  for (int64_t i = 0; i < b; ++i)
    for (int64_t p = 0; p < n; ++p) {
      double r = 0, s = 0, e = 0;
      for (int64_t j = 0; j < u; ++j) {
        r += dz[i * u + j] * w[p * u + j];
        s += zt[i * u + j] * std::fabs(w[p * u + j]);
        e += tz[i * u + j] * std::fabs(w[p * u + j]);
      }
      if (std::fabs(dx[i * n + p] - r) > (u + 2) * kEps * s + e + 1e-6) ++bad;
    }
  for (int64_t p = 0; p < n; ++p)
    for (int64_t j = 0; j < u; ++j) {
      double r = 0, s = 0, e = 0;
      for (int64_t i = 0; i < b; ++i) {
        r += static_cast<double>(x[i * n + p]) * dz[i * u + j];
        s += std::fabs(static_cast<double>(x[i * n + p])) * zt[i * u + j];
        e += std::fabs(static_cast<double>(x[i * n + p])) * tz[i * u + j];
      }
      if (std::fabs(dw[p * u + j] - r) > (b + 2) * kEps * s + e + 1e-6) ++bad;
    }
  for (int64_t j = 0; j < u; ++j) {
    double r = 0, s = 0, e = 0;
    for (int64_t i = 0; i < b; ++i) {
      r += dz[i * u + j];
      s += zt[i * u + j];
      e += tz[i * u + j];
    }
    if (std::fabs(db[j] - r) > (b + 2) * kEps * s + e + 1e-6) ++bad;
  }
  return bad;
}

}  // namespace

RANVIER_TEST(dense_matches_double_loops_every_isa) {
  std::mt19937 rng(7);
  const int64_t shapes[][3] = {{1, 1, 1}, {3, 7, 5}, {17, 33, 16}, {64, 70, 13}, {5, 300, 40}};
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    for (const auto& s : shapes)
      for (ActKind act : {ActKind::linear, ActKind::relu, ActKind::tanh})
        for (bool pre : {false, true}) {
          const int bad = check_dense(s[0], s[1], s[2], act, pre, rng);
          RANVIER_CHECK(bad == 0, "%s: Dense(%lld -> %lld) batch %lld act %d pre %d: %d bad values",
                        ranvier::isa_name(isa), static_cast<long long>(s[1]), static_cast<long long>(s[2]),
                        static_cast<long long>(s[0]), static_cast<int>(act), static_cast<int>(pre), bad);
        }
  }
  ranvier::set_isa(ranvier::supported_isas().back());
}

RANVIER_TEST(dense_frozen_writes_no_gradients) {
  ranvier::DenseConfig cfg;
  cfg.units = 2;
  ranvier::Dense layer(cfg);
  layer.build(3);
  layer.set_trainable(false);
  for (const auto& s : layer.param_specs()) RANVIER_CHECK(!s.trainable, "%s should be non-trainable", s.name.c_str());
  std::vector<float> w(6, 0.5f), b(2, 0.0f), dw(6, 9.0f), db(2, 9.0f);
  layer.bind({w.data(), b.data()}, {dw.data(), db.data()});
  layer.reserve(4);
  std::vector<float> x(12, 1.0f), y(8), dy(8, 1.0f), dx(12);
  ranvier::ForwardCtx ctx;
  ctx.training = true;
  layer.forward(x.data(), y.data(), 4, ctx);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), 4, false);
  for (float g : dw) RANVIER_CHECK(g == 9.0f, "frozen Dense wrote a kernel gradient");
  for (float v : dx) RANVIER_CHECK(v == 1.0f, "dx = dy @ W^T = 2 * 0.5, got %g", v);
  RANVIER_CHECK(layer.regularization(true) == 0.0, "frozen layers add no penalty");
}

RANVIER_TEST(batch_norm_keras_measured_example) {
  ranvier::BatchNormalization bn{ranvier::BatchNormConfig{}};
  bn.build(2);
  std::vector<float> gamma{1, 1}, beta{0, 0}, mm{0, 0}, mv{1, 1}, dg(2), dbt(2);
  bn.bind({gamma.data(), beta.data(), mm.data(), mv.data()}, {dg.data(), dbt.data(), nullptr, nullptr});
  bn.reserve(3);
  const std::vector<float> x{1, 2, 3, 6, 5, 10};
  std::vector<float> y(6);
  ranvier::ForwardCtx ctx;
  ctx.training = true;
  bn.forward(x.data(), y.data(), 3, ctx);
  const float want[] = {-1.2245152f, -1.2246873f, 0, 0, 1.2245154f, 1.2246876f};
  for (int i = 0; i < 6; ++i) RANVIER_CHECK(std::fabs(y[i] - want[i]) <= 2e-7f, "y[%d] = %.8g, Keras %.8g", i, y[i], want[i]);
  RANVIER_CHECK(std::fabs(mm[0] - 0.03f) <= 1e-8f && std::fabs(mm[1] - 0.06f) <= 1e-8f, "moving_mean %g %g", mm[0], mm[1]);
  RANVIER_CHECK(std::fabs(mv[0] - 1.0166667f) <= 2e-7f && std::fabs(mv[1] - 1.0966667f) <= 2e-7f,
                "moving_variance %.8g %.8g", mv[0], mv[1]);
}

RANVIER_TEST(layer_norm_rows_have_zero_mean_unit_variance) {
  ranvier::LayerNormalization ln{ranvier::LayerNormConfig{}};
  ln.build(50);
  std::vector<float> gamma(50, 1.0f), beta(50, 0.0f), dg(50), dbt(50);
  ln.bind({gamma.data(), beta.data()}, {dg.data(), dbt.data()});
  ln.reserve(8);
  std::mt19937 rng(3);
  auto x = randn(400, rng, 3.0f);
  std::vector<float> y(400);
  ln.forward(x.data(), y.data(), 8, ranvier::ForwardCtx{});
  for (int r = 0; r < 8; ++r) {
    double m = 0, v = 0, vx = 0, mx = 0;
    for (int j = 0; j < 50; ++j) { m += y[r * 50 + j]; mx += x[r * 50 + j]; }
    m /= 50; mx /= 50;
    for (int j = 0; j < 50; ++j) { v += (y[r * 50 + j] - m) * (y[r * 50 + j] - m); vx += (x[r * 50 + j] - mx) * (x[r * 50 + j] - mx); }
    v /= 50; vx /= 50;
    RANVIER_CHECK(std::fabs(m) < 1e-6, "row %d mean %g", r, m);
    // variance var/(var + eps) exactly, up to float rounding
    RANVIER_CHECK(std::fabs(v - vx / (vx + 1e-3)) < 1e-5, "row %d variance %g, want %g", r, v, vx / (vx + 1e-3));
  }
}

RANVIER_TEST(dropout_thread_independent_and_extremes) {
  const int64_t b = 200, n = 700;
  std::mt19937 rng(5);
  auto x = randn(static_cast<std::size_t>(b * n), rng);
  std::vector<float> y1(x.size()), y2(x.size());
  ranvier::ForwardCtx ctx;
  ctx.training = true;
  ctx.step = 17;
  for (int threads : {1, 2}) {
    ranvier::set_num_threads(threads);
    ranvier::Dropout d(0.3f, 99);
    d.build(n);
    d.reserve(b);
    d.forward(x.data(), threads == 1 ? y1.data() : y2.data(), b, ctx);
  }
  ranvier::set_num_threads(0);
  int64_t diff = 0, kept = 0;
  for (std::size_t i = 0; i < y1.size(); ++i) {
    diff += y1[i] != y2[i];
    kept += y1[i] != 0.0f;
    if (y1[i] != 0.0f) RANVIER_CHECK(y1[i] == x[i] / 0.7f, "kept values are x / (1 - rate)");
  }
  RANVIER_CHECK(diff == 0, "%lld values differ between 1 and 2 threads", static_cast<long long>(diff));
  const double frac = static_cast<double>(kept) / static_cast<double>(y1.size());
  RANVIER_CHECK(std::fabs(frac - 0.7) < 5 * std::sqrt(0.21 / static_cast<double>(y1.size())), "kept fraction %g", frac);
  // the same element of the same step keeps its decision: it depends on (seed, step, index) only
  const std::uint64_t thr = ranvier::Dropout::threshold(0.3f);
  int64_t mismatches = 0;
  for (int64_t i = 0; i < b * n; ++i)
    mismatches += (y2[i] != 0.0f) != (ranvier::Dropout::bits(99, 17, static_cast<std::uint64_t>(i)) >= thr);
  RANVIER_CHECK(mismatches == 0, "mask differs from bits() >= threshold at %lld elements", static_cast<long long>(mismatches));
  RANVIER_CHECK(ranvier::Dropout::bits(99, 17, 5) != ranvier::Dropout::bits(99, 18, 5), "steps differ");

  ranvier::Dropout all(1.0f, 1), none(0.0f, 1);
  all.build(n); none.build(n);
  all.reserve(b); none.reserve(b);
  all.forward(x.data(), y1.data(), b, ctx);
  none.forward(x.data(), y2.data(), b, ctx);
  for (std::size_t i = 0; i < y1.size(); ++i) {
    RANVIER_CHECK(y1[i] == 0.0f, "rate 1 gives zeros");
    RANVIER_CHECK(y2[i] == x[i], "rate 0 is the identity");
    if (y1[i] != 0.0f || y2[i] != x[i]) break;
  }
}

RANVIER_TEST(max_norm_constraint_caps_column_norms) {
  std::vector<float> w{3, 0, 4, 0.1f, 0, 0.1f};  // (3 x 2): column norms 5 and ~0.141
  std::vector<double> ws(2);
  ranvier::Constraint c;
  c.kind = ranvier::ConstraintKind::max_norm;
  c.max_value = 2.0f;
  ranvier::constraint_apply(c, w.data(), 3, 2, ws.data());
  const double n0 = std::sqrt(w[0] * w[0] + w[2] * w[2] + w[4] * w[4]);
  const double n1 = std::sqrt(w[1] * w[1] + w[3] * w[3] + w[5] * w[5]);
  RANVIER_CHECK(std::fabs(n0 - 2.0) < 1e-6, "norm capped to 2, got %g", n0);
  RANVIER_CHECK(std::fabs(n1 - std::sqrt(0.02)) < 1e-6, "small column untouched, got %g", n1);
}

// Flatten(data_format="channels_first"): a (C, H, W) sample becomes (H, W, C) then flat, as
// Keras does; backward is the inverse reordering; channels_last and rank-1 samples copy.
RANVIER_TEST(flatten_channels_first_reorders_and_backward_inverts) {
  const int64_t b = 3, C = 2, H = 3, W = 4, n = C * H * W;
  std::vector<float> x(static_cast<std::size_t>(b * n)), y(x.size()), dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  ranvier::Flatten cf({C, H, W}, true), cl({C, H, W}, false);
  RANVIER_CHECK(cf.build(n) == n && cl.build(n) == n, "output width");
  RANVIER_CHECK(cf.channels_first() && !cl.channels_first(), "reorder only for channels_first");
  ranvier::ForwardCtx ctx;
  cf.forward(x.data(), y.data(), b, ctx);
  int bad = 0;
  for (int64_t r = 0; r < b; ++r)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          bad += y[r * n + (h * W + w) * C + c] != x[r * n + c * H * W + h * W + w];
  RANVIER_CHECK(bad == 0, "%d values out of place", bad);
  cf.backward(x.data(), y.data(), y.data(), dx.data(), b, false);
  RANVIER_CHECK(dx == x, "backward is the inverse reordering");
  cl.forward(x.data(), y.data(), b, ctx);
  RANVIER_CHECK(y == x, "channels_last copies");
  ranvier::Flatten wrong({C, H, W + 1}, true);
  bool threw = false;
  try {
    wrong.build(n);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "a sample shape that does not match the width is refused");
}
