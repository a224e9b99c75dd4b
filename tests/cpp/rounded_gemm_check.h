// The reference check both reduced-precision GEMM tests share (test_bf16.cpp: bgemm,
// test_f16.cpp: hgemm): C = op(A) @ op(B) on strided operands (leading dimensions past the
// logical widths, padding NaN: never read) against the float64 sum of round(x) * round(y),
// within gamma_{k+3} * sum |round(x) round(y)| (products of rounded inputs are exact in
// float32; only the float32 sums round), and C's padding columns left untouched.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

// Elements of C past the bound or written outside C. gemm(ta, tb, m, n, k, a, lda, b, ldb,
// c, ldc) computes C = op(A) @ op(B); round(x) is its input rounding.
template <class Gemm, class Round>
int rounded_gemm_errors(Gemm gemm, Round round, std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb,
                        std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const std::int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
  std::vector<float> a(static_cast<std::size_t>((ta ? k : m) * lda), NAN);
  std::vector<float> b(static_cast<std::size_t>((tb ? n : k) * ldb), NAN);
  for (std::int64_t r = 0; r < (ta ? k : m); ++r)
    for (std::int64_t q = 0; q < (ta ? m : k); ++q) a[static_cast<std::size_t>(r * lda + q)] = nd(rng);
  for (std::int64_t r = 0; r < (tb ? n : k); ++r)
    for (std::int64_t q = 0; q < (tb ? k : n); ++q) b[static_cast<std::size_t>(r * ldb + q)] = nd(rng);
  std::vector<float> c(static_cast<std::size_t>(m * ldc), -7.0f);
  gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc);
  const double n3 = static_cast<double>(k + 3), u = std::ldexp(1.0, -24), gamma = n3 * u / (1 - n3 * u);
  int bad = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double r = 0, mag = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double x = round(ta ? a[static_cast<std::size_t>(p * lda + i)] : a[static_cast<std::size_t>(i * lda + p)]);
        const double y = round(tb ? b[static_cast<std::size_t>(j * ldb + p)] : b[static_cast<std::size_t>(p * ldb + j)]);
        r += x * y;
        mag += std::fabs(x * y);
      }
      bad += !(std::fabs(c[static_cast<std::size_t>(i * ldc + j)] - r) <= gamma * mag + 1e-30);
    }
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = n; j < ldc; ++j) bad += c[static_cast<std::size_t>(i * ldc + j)] != -7.0f;  // outside C
  return bad;
}
