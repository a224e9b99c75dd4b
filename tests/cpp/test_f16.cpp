// mixed_float16 in C++: the rounding to IEEE half on every tier (F16C and the scalar kernel
// agree bit for bit), hgemm with strided operands against a double reference on the
// half-rounded inputs (bound gamma_{k+3} * sum |a||b|, see tests/test_mixed_float16.py), and
// the loss scaler's state machine (skip and halve, grow after growth_steps finite steps).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "dispatch/dispatch.h"
#include "gemm/f16_gemm.h"
#include "kernels/f16-round/f16-round.h"
#include "optimizers/loss_scale.h"
#include "rounded_gemm_check.h"
#include "testing.h"

namespace {
using std::int64_t;
std::uint32_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
}  // namespace

RANVIER_TEST(f16_rounding_is_the_same_on_every_tier) {
  const ranvier::Isa saved = ranvier::active_isa();
  std::mt19937 rng(3);
  std::vector<float> xs = {0.0f, -0.0f, 65504.0f, 65519.996f, 65520.0f, -70000.0f, 5.9604645e-8f, 2.9802322e-8f,
                           1e-45f, INFINITY, -INFINITY, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048};
  for (int i = 0; i < 100000; ++i) {
    const std::uint32_t u = rng();
    float x;
    std::memcpy(&x, &u, 4);
    xs.push_back(x);
  }
  RANVIER_CHECK(ranvier::round_to_f16_scalar(65520.0f) == INFINITY, "65520 rounds to inf");
  RANVIER_CHECK(ranvier::round_to_f16_scalar(65519.996f) == 65504.0f, "65519.996 rounds to 65504");
  RANVIER_CHECK(ranvier::round_to_f16_scalar(2.9802322e-8f) == 0.0f, "2**-25 ties to 0");
  RANVIER_CHECK(ranvier::round_to_f16_scalar(1.0f + 3.0f / 2048) == 1.0f + 4.0f / 2048, "a tie to even");
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    int bad = 0;
    for (float x : xs) {
      const float a = ranvier::round_to_f16(x), b = ranvier::round_to_f16_scalar(x);
      bad += std::isnan(b) ? !std::isnan(a) : bits(a) != bits(b);
    }
    RANVIER_CHECK(bad == 0, "%s: %d values rounded differently from the scalar kernel", ranvier::isa_name(isa), bad);
  }
  ranvier::set_isa(saved);
}

RANVIER_TEST(hgemm_every_tier_against_the_rounded_reference) {
  std::mt19937 rng(7);
  const ranvier::Isa saved = ranvier::active_isa();
  struct Shape { int64_t m, n, k; bool ta, tb; };
  const Shape shapes[] = {{1, 1, 1, false, false}, {13, 37, 17, false, true}, {25, 65, 63, true, false},
                          {97, 70, 801, false, false}, {4, 33, 2, true, true}};
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    for (const Shape& s : shapes) {
      const int bad = rounded_gemm_errors(
          [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc) { ranvier::hgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc); },
          [](float x) { return ranvier::round_to_f16_scalar(x); }, s.m, s.n, s.k, s.ta, s.tb, rng);
      RANVIER_CHECK(bad == 0, "%s %lldx%lldx%lld ta=%d tb=%d: %d elements past the bound", ranvier::isa_name(isa),
                    static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k), s.ta,
                    s.tb, bad);
    }
  }
  ranvier::set_isa(saved);
}

RANVIER_TEST(loss_scaler_skips_halves_and_grows) {
  ranvier::LossScaler s(8.0, 3);
  std::vector<float> g = {8.0f, -16.0f, 4.0f};
  RANVIER_CHECK(s.pre_step(g.data(), 3) && g[0] == 1.0f && g[1] == -2.0f && g[2] == 0.5f, "unscaled");
  RANVIER_CHECK(s.step_counter() == 1 && s.scale() == 8.0f, "counted");
  g = {1.0f, NAN, 2.0f};
  RANVIER_CHECK(!s.pre_step(g.data(), 3), "a NaN skips the step");
  RANVIER_CHECK(s.step_counter() == 0 && s.scale() == 4.0f && s.skipped_steps() == 1, "halved and reset");
  for (int i = 0; i < 3; ++i) {
    g = {1.0f, 2.0f, 3.0f};
    RANVIER_CHECK(s.pre_step(g.data(), 3), "finite step %d", i);
  }
  RANVIER_CHECK(s.step_counter() == 0 && s.scale() == 8.0f, "doubled after 3 finite steps");
  g = {INFINITY};
  RANVIER_CHECK(!s.pre_step(g.data(), 1) && s.scale() == 4.0f, "inf skips too");
  bool threw = false;
  try {
    ranvier::LossScaler bad(0.0, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "initial_scale 0 is refused");
}
