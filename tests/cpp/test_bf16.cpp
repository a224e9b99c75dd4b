// bgemm (the mixed_bfloat16 GEMM) on every tier: native vdpbf16ps kernels on avx512bf16,
// the emulation below, against a double reference on the bfloat16-rounded inputs, with
// the float32 summation bound gamma_{k+3} * sum |a||b| (see tests/test_bf16.py).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "dispatch/dispatch.h"
#include "gemm/bf16_gemm.h"
#include "rounded_gemm_check.h"
#include "testing.h"

namespace {

using std::int64_t;

float bf16_by_definition(float x) {  // nearest of the two bfloat16 neighbours, ties to even
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  if (std::isnan(x) || std::isinf(x)) return x;
  if ((u & 0x7F800000u) == 0) return std::copysign(0.0f, x);
  const std::uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;
  float flo, fhi;
  std::memcpy(&flo, &lo, 4);
  std::memcpy(&fhi, &hi, 4);
  const double dlo = std::fabs(static_cast<double>(x) - flo);
  const double dhi = std::isinf(fhi) ? std::ldexp(1.0, 128) - std::fabs(static_cast<double>(x))
                                     : std::fabs(static_cast<double>(fhi) - x);
  if (dlo < dhi || (dlo == dhi && ((lo >> 16) & 1u) == 0)) return flo;
  return fhi;
}

}  // namespace

RANVIER_TEST(bf16_rounding_matches_the_definition) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t u = rng();
    float x;
    std::memcpy(&x, &u, 4);
    if (std::isnan(x)) {
      RANVIER_CHECK(std::isnan(ranvier::round_to_bf16(x)), "NaN %08x must stay NaN", u);
      continue;
    }
    const float got = ranvier::round_to_bf16(x), want = bf16_by_definition(x);
    RANVIER_CHECK(std::memcmp(&got, &want, 4) == 0, "x=%08x: %a vs %a", u, got, want);
  }
}

RANVIER_TEST(bgemm_every_tier_against_the_rounded_reference) {
  std::mt19937 rng(5);
  const ranvier::Isa saved = ranvier::active_isa();
  struct Shape { int64_t m, n, k; bool ta, tb; };
  const Shape shapes[] = {{1, 1, 1, false, false}, {13, 37, 17, false, true}, {25, 65, 63, true, false},
                          {97, 70, 801, false, false}, {4, 33, 2, true, true}, {128, 256, 784, false, false}};
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    RANVIER_CHECK(ranvier::bgemm_native() == (isa == ranvier::Isa::avx512bf16), "native flag on %s",
                  ranvier::isa_name(isa));
    for (const Shape& s : shapes) {
      const int bad = rounded_gemm_errors(
          [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc) { ranvier::bgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc); },
          [](float x) { return ranvier::round_to_bf16(x); }, s.m, s.n, s.k, s.ta, s.tb, rng);
      RANVIER_CHECK(bad == 0, "%s %lldx%lldx%lld ta=%d tb=%d: %d elements past the bound", ranvier::isa_name(isa),
                    static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k), s.ta,
                    s.tb, bad);
    }
  }
  ranvier::set_isa(saved);
}
