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
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const ranvier::Isa saved = ranvier::active_isa();
  struct Shape { int64_t m, n, k; bool ta, tb; };
  const Shape shapes[] = {{1, 1, 1, false, false}, {13, 37, 17, false, true}, {25, 65, 63, true, false},
                          {97, 70, 801, false, false}, {4, 33, 2, true, true}, {128, 256, 784, false, false}};
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    RANVIER_CHECK(ranvier::bgemm_native() == (isa == ranvier::Isa::avx512bf16), "native flag on %s",
                  ranvier::isa_name(isa));
    for (const Shape& s : shapes) {
      // strided operands (leading dimensions past the logical width, padding NaN: never read)
      const int64_t lda = (s.ta ? s.m : s.k) + 3, ldb = (s.tb ? s.k : s.n) + 5, ldc = s.n + 2;
      std::vector<float> a(static_cast<std::size_t>((s.ta ? s.k : s.m) * lda), NAN);
      std::vector<float> b(static_cast<std::size_t>((s.tb ? s.n : s.k) * ldb), NAN);
      for (int64_t r = 0; r < (s.ta ? s.k : s.m); ++r)
        for (int64_t q = 0; q < (s.ta ? s.m : s.k); ++q) a[r * lda + q] = nd(rng);
      for (int64_t r = 0; r < (s.tb ? s.n : s.k); ++r)
        for (int64_t q = 0; q < (s.tb ? s.k : s.n); ++q) b[r * ldb + q] = nd(rng);
      std::vector<float> c(static_cast<std::size_t>(s.m * ldc), -7.0f);
      ranvier::bgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), ldc);
      const double n3 = static_cast<double>(s.k + 3), u = std::ldexp(1.0, -24), gamma = n3 * u / (1 - n3 * u);
      int bad = 0;
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          double r = 0, mag = 0;
          for (int64_t p = 0; p < s.k; ++p) {
            const double x = ranvier::round_to_bf16(s.ta ? a[p * lda + i] : a[i * lda + p]);
            const double y = ranvier::round_to_bf16(s.tb ? b[j * ldb + p] : b[p * ldb + j]);
            r += x * y;
            mag += std::fabs(x * y);
          }
          bad += !(std::fabs(c[i * ldc + j] - r) <= gamma * mag + 1e-30);
        }
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = s.n; j < ldc; ++j) bad += c[i * ldc + j] != -7.0f;  // outside C: untouched
      RANVIER_CHECK(bad == 0, "%s %lldx%lldx%lld ta=%d tb=%d: %d elements past the bound", ranvier::isa_name(isa),
                    static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k), s.ta,
                    s.tb, bad);
    }
  }
  ranvier::set_isa(saved);
}
