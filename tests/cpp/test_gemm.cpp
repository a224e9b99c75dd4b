// GEMM: every compiled micro-kernel this CPU supports, and the driver over it, against
// naive double-precision loops.
//
// Tolerance: |C - ref| <= 1e-5 * (K + 1) * (sum_p |A_ip| |B_pj| * |alpha| + |beta C| + |bias| + 1),
// a bound of the float32 rounding error of a K-term dot product (each term's rounding is
// at most 2^-24 ~ 6e-8 relative; the bound keeps a ~100x margin and scales with K).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <random>
#include <vector>

#include "dispatch/dispatch.h"
#include "gemm/gemm.h"
#include "gemm/gemm_config.h"
#include "gemm/gemm_tuning.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

using ranvier::GemmAct;
using ranvier::GemmEpilogue;
using std::int64_t;

std::vector<float> random_vec(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  bool bias, relu;
  int64_t pad;  // extra leading-dimension padding
};

// Runs one case through sgemm and compares with naive loops; returns the number of bad elements.
int check_case(const Case& t, std::mt19937& rng, int nthreads, const char* what) {
  const int64_t lda = (t.ta ? t.m : t.k) + t.pad, ldb = (t.tb ? t.k : t.n) + t.pad, ldc = t.n + t.pad;
  const int64_t arows = t.ta ? t.k : t.m, brows = t.tb ? t.n : t.k;
  auto A = random_vec(static_cast<std::size_t>(arows * lda), rng);
  auto B = random_vec(static_cast<std::size_t>(brows * ldb), rng);
  auto C = random_vec(static_cast<std::size_t>(t.m * ldc), rng);
  auto bias = random_vec(static_cast<std::size_t>(t.n), rng);
  if (t.beta == 0.0f)
    for (auto& x : C) x = std::numeric_limits<float>::quiet_NaN();  // must not be read
  const std::vector<float> C0 = C;
  GemmEpilogue ep;
  if (t.bias) ep.bias = bias.data();
  if (t.relu) ep.act = GemmAct::relu;
  ranvier::sgemm(t.ta, t.tb, t.m, t.n, t.k, t.alpha, A.data(), lda, B.data(), ldb, t.beta, C.data(), ldc,
                 ep, nthreads);
  int bad = 0;
  for (int64_t i = 0; i < t.m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float got = C[static_cast<std::size_t>(i * ldc + j)];
      const float old = C0[static_cast<std::size_t>(i * ldc + j)];
      if (j >= t.n) {  // padding must be untouched
        if (!(got == old || (std::isnan(got) && std::isnan(old)))) ++bad;
        continue;
      }
      double s = 0.0, sa = 0.0;
      for (int64_t p = 0; p < t.k; ++p) {
        const double av = t.ta ? A[static_cast<std::size_t>(p * lda + i)] : A[static_cast<std::size_t>(i * lda + p)];
        const double bv = t.tb ? B[static_cast<std::size_t>(j * ldb + p)] : B[static_cast<std::size_t>(p * ldb + j)];
        s += av * bv;
        sa += std::fabs(av * bv);
      }
      double ref = t.alpha * s, mag = std::fabs(t.alpha) * sa + 1.0;
      if (t.beta != 0.0f) {
        ref += t.beta * static_cast<double>(old);
        mag += std::fabs(t.beta * old);
      }
      if (t.bias) {
        ref += bias[static_cast<std::size_t>(j)];
        mag += std::fabs(bias[static_cast<std::size_t>(j)]);
      }
      if (t.relu && ref < 0.0) ref = 0.0;
      const double tol = 1e-5 * static_cast<double>(t.k + 1) * mag;
      if (!(std::fabs(got - ref) <= tol)) {
        if (bad < 3)
          std::printf("    %s %s ta=%d tb=%d m=%lld n=%lld k=%lld: C[%lld,%lld]=%g ref=%g\n", what,
                      ranvier::isa_name(ranvier::active_isa()), t.ta, t.tb, (long long)t.m, (long long)t.n,
                      (long long)t.k, (long long)i, (long long)j, got, ref);
        ++bad;
      }
    }
  }
  return bad;
}

// Every ISA this CPU supports, so each compiled kernel is tested where it can run. The
// driver runs the tier's widest tile (the one kernels().gemm describes, whose sizes these
// tests use): the widest tile forced, capped to the tier. gemm_every_tile_every_shape_class
// tests the per-CPU table's choices and every other tile.
template <typename F>
void for_each_isa(F f) {
  const ranvier::Isa saved = ranvier::active_isa();
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const int saved_ukernel = tune.ukernel;
  tune.ukernel = static_cast<int>(ranvier::GemmTile::avx512_12x32);
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    f(isa);
  }
  tune.ukernel = saved_ukernel;
  ranvier::set_isa(saved);
}

}  // namespace

RANVIER_TEST(gemm_ukernel_edges_against_naive) {
  // The micro-kernel alone: every m <= MR, n <= NR, packed and row-major A, beta 0
  // with NaN in C, beta 0.5, bias + relu, and C outside the tile untouched.
  std::mt19937 rng(7);
  for_each_isa([&](ranvier::Isa isa) {
    const auto& g = ranvier::kernels().gemm;
    const int MR = g.mr, NR = g.nr;
    for (int64_t kc : {1, 3, 17}) {
      const int64_t lda = kc + 3, ldc = NR + 5;
      auto A = random_vec(static_cast<std::size_t>(MR * lda), rng);
      auto B = random_vec(static_cast<std::size_t>(kc * NR), rng);
      auto bias = random_vec(static_cast<std::size_t>(NR), rng);
      std::vector<float> Ap(static_cast<std::size_t>(kc * MR));
      for (int64_t p = 0; p < kc; ++p)
        for (int i = 0; i < MR; ++i) Ap[static_cast<std::size_t>(p * MR + i)] = A[static_cast<std::size_t>(i * lda + p)];
      for (int m = 1; m <= MR; ++m)
        for (int n = 1; n <= NR; ++n)
          for (int variant = 0; variant < 4; ++variant) {
            const bool packed = variant & 1, epi = variant & 2;
            const float beta = epi ? 0.5f : 0.0f;
            auto C = random_vec(static_cast<std::size_t>((MR + 1) * ldc), rng);
            if (beta == 0.0f)
              for (auto& x : C) x = std::numeric_limits<float>::quiet_NaN();
            const auto C0 = C;
            g.ukernel(kc, packed ? Ap.data() : A.data(), packed ? 0 : lda, B.data(), NR, C.data(), ldc, m, n,
                      beta, epi ? bias.data() : nullptr, epi ? 1 : 0);
            int bad = 0;
            for (int i = 0; i <= MR; ++i)
              for (int j = 0; j < ldc; ++j) {
                const std::size_t idx = static_cast<std::size_t>(i * ldc + j);
                if (i >= m || j >= n) {
                  if (!(C[idx] == C0[idx] || (std::isnan(C[idx]) && std::isnan(C0[idx])))) ++bad;
                  continue;
                }
                double s = 0.0, sa = 1.0;
                for (int64_t p = 0; p < kc; ++p) {
                  const double t = double(A[static_cast<std::size_t>(i * lda + p)]) * B[static_cast<std::size_t>(p * NR + j)];
                  s += t;
                  sa += std::fabs(t);
                }
                if (beta != 0.0f) s += double(beta) * C0[idx];
                if (epi) {
                  s += bias[static_cast<std::size_t>(j)];
                  if (s < 0.0) s = 0.0;
                }
                if (!(std::fabs(C[idx] - s) <= 1e-5 * double(kc + 1) * (sa + 2.0))) ++bad;
              }
            RANVIER_CHECK(bad == 0, "%s ukernel kc=%lld m=%d n=%d packed=%d epilogue=%d: %d bad elements",
                          ranvier::isa_name(isa), (long long)kc, m, n, (int)packed, (int)epi, bad);
          }
    }
  });
}

RANVIER_TEST(gemm_driver_against_naive) {
  std::mt19937 rng(11);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  for_each_isa([&](ranvier::Isa isa) {
    const auto& g = ranvier::kernels().gemm;
    const int64_t MR = g.mr, NR = g.nr, KC = g.kc;
    const int64_t ms[] = {1, MR - 1, MR, MR + 1, 2 * MR + 1, 37};
    const int64_t ns[] = {1, NR - 1, NR, NR + 1, 3 * NR + 5};
    const int64_t ks[] = {1, 7, KC, KC + 1, 2 * KC + 3};
    int cases = 0, failed = 0;
    for (int pack = 0; pack < 9; ++pack) {  // pack_a x pack_b: automatic, always, never
      tune.pack_a = static_cast<ranvier::gemm_detail::PackMode>(pack % 3);
      tune.pack_b = static_cast<ranvier::gemm_detail::PackMode>(pack / 3);
      for (int64_t m : ms)
        for (int64_t n : ns)
          for (int64_t k : ks) {
            const int tr = static_cast<int>((m + n + k + pack) % 4);
            Case c{(tr & 1) != 0, (tr & 2) != 0, m, n, k, 1.0f, 0.0f, false, false, (m + k) % 3};
            if ((m * n + k + pack) % 3 == 0) { c.alpha = -0.75f; c.beta = 0.5f; }
            if ((m + n * k) % 4 == 1) { c.bias = true; c.relu = true; }
            ++cases;
            if (check_case(c, rng, 1, "driver")) ++failed;
          }
    }
    RANVIER_CHECK(failed == 0, "%s: %d of %d driver cases failed", ranvier::isa_name(isa), failed, cases);
  });
  tune = saved;
}

RANVIER_TEST(gemm_all_transposes_alpha_beta_epilogue) {
  std::mt19937 rng(13);
  for_each_isa([&](ranvier::Isa isa) {
    int failed = 0;
    for (int tr = 0; tr < 4; ++tr)
      for (float beta : {0.0f, 1.0f, -2.0f})
        for (int epi = 0; epi < 3; ++epi) {
          Case c{(tr & 1) != 0, (tr & 2) != 0, 29, 43, 301, 1.5f, beta, epi >= 1, epi == 2, 2};
          if (check_case(c, rng, 1, "transpose")) ++failed;
        }
    RANVIER_CHECK(failed == 0, "%s: %d transpose/alpha/beta/epilogue cases failed", ranvier::isa_name(isa), failed);
  });
}

RANVIER_TEST(gemm_k_zero_and_alpha_zero_apply_epilogue_only) {
  std::vector<float> C(6, std::numeric_limits<float>::quiet_NaN()), bias{1.0f, -2.0f, 3.0f};
  GemmEpilogue ep{bias.data(), GemmAct::relu};
  ranvier::sgemm(false, false, 2, 3, 0, 1.0f, nullptr, 1, nullptr, 3, 0.0f, C.data(), 3, ep);
  const float want[6] = {1, 0, 3, 1, 0, 3};
  for (int i = 0; i < 6; ++i) RANVIER_CHECK(C[i] == want[i], "k=0: C[%d]=%g want %g", i, C[i], want[i]);
}

RANVIER_TEST(gemm_threads_bitwise_independent) {
  // The same problem at 1, 2 and 3 threads (threshold forced to 0 so small problems are
  // split too) must give bitwise equal results: every element is reduced in one order.
  std::mt19937 rng(17);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  tune.parallel_min_flops = 0.0;
  for_each_isa([&](ranvier::Isa isa) {
    struct S { bool ta, tb; int64_t m, n, k; } shapes[] = {
        {false, false, 97, 131, 700}, {true, false, 64, 300, 257}, {false, true, 5, 200, 33},
        {true, true, 300, 17, 520}, {false, false, 2, 1000, 64}, {false, false, 64, 300, 500},
        {true, false, 25, 70, 40}};
    for (const auto& s : shapes) {
      const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
      auto A = random_vec(static_cast<std::size_t>(s.m * s.k), rng);
      auto B = random_vec(static_cast<std::size_t>(s.k * s.n), rng);
      auto bias = random_vec(static_cast<std::size_t>(s.n), rng);
      std::vector<float> C1(static_cast<std::size_t>(s.m * s.n), 1.0f), C2 = C1, C3 = C1;
      GemmEpilogue ep{bias.data(), GemmAct::relu};
      ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C1.data(), s.n, ep, 1);
      ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C2.data(), s.n, ep, 2);
      ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C3.data(), s.n, ep, 3);
      RANVIER_CHECK(C1 == C2 && C1 == C3, "%s m=%lld n=%lld k=%lld: results differ between 1, 2, 3 threads",
                    ranvier::isa_name(isa), (long long)s.m, (long long)s.n, (long long)s.k);
      // More threads than this machine has cores, and than there are row panels: some
      // threads own no tiles at all (a 16-core machine runs 16 by default).
      for (int nt : {7, 16}) {
        std::vector<float> Cn(C1.size(), 1.0f);
        ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, Cn.data(), s.n, ep, nt);
        RANVIER_CHECK(C1 == Cn, "%s m=%lld n=%lld k=%lld: %d threads differ from 1", ranvier::isa_name(isa),
                      (long long)s.m, (long long)s.n, (long long)s.k, nt);
      }
    }
  });
  tune = saved;
}

RANVIER_TEST(gemm_repeated_calls_do_not_allocate) {
  std::mt19937 rng(19);
  const int64_t m = 64, n = 300, k = 500;
  auto A = random_vec(static_cast<std::size_t>(m * k), rng);
  auto B = random_vec(static_cast<std::size_t>(k * n), rng);
  std::vector<float> C(static_cast<std::size_t>(m * n));
  auto call = [&](int64_t mm) {
    ranvier::sgemm(false, false, mm, n, k, 1.0f, A.data(), k, B.data(), n, 0.0f, C.data(), n, GemmEpilogue{}, 0);
  };
  call(m);  // warm-up: the first call of each shape may grow the buffers
  call(m / 2);
  call(m);
  call(m / 2);
  const long before = ranvier::gemm_detail::gemm_buffer_allocations();
  for (int r = 0; r < 5; ++r) {
    call(m);
    call(m / 2);
  }
  RANVIER_CHECK(ranvier::gemm_detail::gemm_buffer_allocations() == before,
                "packing buffers were reallocated by repeated calls (%ld -> %ld)", before,
                ranvier::gemm_detail::gemm_buffer_allocations());
}

RANVIER_TEST(gemm_small_blocking_exercises_every_loop) {
  // Tiny KC/MC/NC so that every loop of the driver runs several times (several jc
  // blocks, k-blocks and row blocks, with partial ones), at 1 and 2 threads.
  std::mt19937 rng(23);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  for_each_isa([&](ranvier::Isa isa) {
    const auto& g = ranvier::kernels().gemm;
    tune.kc = 7;
    tune.mc = 2 * g.mr;
    tune.nc = 3 * g.nr + 5;  // rounded up to 4 panels
    tune.parallel_min_flops = 0.0;
    int failed = 0, cases = 0;
    for (int pack = 0; pack < 3; ++pack) {
      tune.pack_a = tune.pack_b = static_cast<ranvier::gemm_detail::PackMode>(pack);
      for (int tr = 0; tr < 4; ++tr)
        for (int nt : {1, 2}) {
          Case c{(tr & 1) != 0, (tr & 2) != 0, 5 * g.mr + 3, 9 * g.nr + 7, 30, 1.0f, 0.5f, true, tr == 2, 1};
          ++cases;
          if (check_case(c, rng, nt, "small-blocking")) ++failed;
        }
    }
    RANVIER_CHECK(failed == 0, "%s: %d of %d small-blocking cases failed", ranvier::isa_name(isa), failed, cases);
  });
  tune = saved;
}

// Runs case t once with the small-problem kernels allowed (tune.skinny) and once through
// the tiled micro-kernel: the two must agree bit for bit (padding included: neither path
// may write it), and both with naive loops (check_case). Returns 1 on failure.
int small_path_case(const Case& t, std::mt19937& rng, ranvier::Isa isa, const char* what) {
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const int64_t lda = (t.ta ? t.m : t.k) + t.pad, ldb = (t.tb ? t.k : t.n) + t.pad, ldc = t.n + t.pad;
  auto A = random_vec(static_cast<std::size_t>((t.ta ? t.k : t.m) * lda), rng);
  auto B = random_vec(static_cast<std::size_t>((t.tb ? t.n : t.k) * ldb), rng);
  auto bv = random_vec(static_cast<std::size_t>(t.n), rng);
  auto C0 = random_vec(static_cast<std::size_t>(t.m * ldc), rng);
  GemmEpilogue ep{t.bias ? bv.data() : nullptr, t.relu ? GemmAct::relu : GemmAct::none};
  std::vector<float> Cs = C0, Ct = C0;
  tune.skinny = true;
  ranvier::sgemm(t.ta, t.tb, t.m, t.n, t.k, t.alpha, A.data(), lda, B.data(), ldb, t.beta, Cs.data(), ldc, ep, 1);
  tune.skinny = false;
  ranvier::sgemm(t.ta, t.tb, t.m, t.n, t.k, t.alpha, A.data(), lda, B.data(), ldb, t.beta, Ct.data(), ldc, ep, 1);
  tune.skinny = true;
  int bad = 0;
  if (Cs != Ct) {
    bad = 1;
    std::printf("  %s %s ta=%d tb=%d m=%lld n=%lld k=%lld differs from the tiled kernel\n", ranvier::isa_name(isa),
                what, t.ta, t.tb, (long long)t.m, (long long)t.n, (long long)t.k);
  }
  if (check_case(t, rng, 1, what)) bad = 1;
  return bad;
}

// small_path_case over every transpose pair, the given sizes and three epilogue variants
// (plain; alpha and bias; beta, bias and relu, with padded leading dimensions). Returns the
// number of failed cases; *cases counts them all.
int small_path_grid(std::mt19937& rng, ranvier::Isa isa, const char* what, std::initializer_list<int64_t> ms,
                    std::initializer_list<int64_t> ns, std::initializer_list<int64_t> ks, int* cases) {
  int failed = 0;
  for (int tr = 0; tr < 4; ++tr)
    for (int64_t m : ms)
      for (int64_t n : ns)
        for (int64_t k : ks)
          for (int variant = 0; variant < 3; ++variant) {
            Case c{(tr & 1) != 0, (tr & 2) != 0, m, n, k, variant == 1 ? 0.75f : 1.0f, variant == 2 ? 0.5f : 0.0f,
                   variant != 0, variant == 2, variant};
            ++*cases;
            failed += small_path_case(c, rng, isa, what);
          }
  return failed;
}

RANVIER_TEST(gemm_skinny_rows_match_the_tiled_kernel_bitwise) {
  // m <= skinny_max_m with A and B read in place goes through the few-rows kernel. Each
  // row must get exactly the bits the tiled micro-kernel gives it (predictions do not
  // depend on the batch size), over column tails, several k-blocks (k > kc), beta and
  // the epilogue; and agree with naive loops (check_case's tolerance).
  std::mt19937 rng(29);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  for_each_isa([&](ranvier::Isa isa) {
    const auto& g = ranvier::kernels().gemm;
    if (!g.skinny) return;  // this ISA has no few-rows kernel: nothing to compare
    int failed = 0, cases = 0;
    for (int64_t m = 1; m <= g.skinny_max_m; ++m)
      for (int64_t n : {int64_t{1}, int64_t{g.nr - 1}, int64_t{3 * g.nr + 5}, int64_t{8 * g.nr}, int64_t{17 * g.nr + 3}})
        for (int64_t k : {int64_t{1}, int64_t{37}, int64_t{2 * g.kc + 9}})
          for (int variant = 0; variant < 3; ++variant) {
            // variant: plain; beta and bias; bias and relu (with padded leading dimensions)
            Case c{false, false, m, n, k, 1.0f, variant == 1 ? 0.5f : 0.0f, variant != 0, variant == 2, variant};
            ++cases;
            failed += small_path_case(c, rng, isa, "skinny");
          }
    // split between threads (threshold forced to 0): the same bits
    tune.parallel_min_flops = 0.0;
    const int64_t m = 1, n = 20 * g.nr + 3, k = 300;
    auto A = random_vec(static_cast<std::size_t>(m * k), rng);
    auto B = random_vec(static_cast<std::size_t>(k * n), rng);
    std::vector<float> C1(static_cast<std::size_t>(n)), C2 = C1;
    ranvier::sgemm(false, false, m, n, k, 1.0f, A.data(), k, B.data(), n, 0.0f, C1.data(), n, GemmEpilogue{}, 1);
    ranvier::sgemm(false, false, m, n, k, 1.0f, A.data(), k, B.data(), n, 0.0f, C2.data(), n, GemmEpilogue{}, 2);
    RANVIER_CHECK(C1 == C2, "%s skinny: 1 and 2 threads differ", ranvier::isa_name(isa));
    RANVIER_CHECK(failed == 0, "%s: %d of %d skinny cases failed", ranvier::isa_name(isa), failed, cases);
    tune.parallel_min_flops = saved.parallel_min_flops;
  });
  tune = saved;
}

RANVIER_TEST(gemm_outer_product_matches_the_tiled_kernel_bitwise) {
  // k == 1 (the input gradient of a one-unit layer) is written directly in the driver for
  // the FMA kernels: the same bits as the tiled micro-kernel for every transpose, alpha,
  // beta, bias, relu and tails, and within check_case's tolerance of naive loops. A
  // product of -0.0f is +0.0f there, as the kernel's FMA onto +0.0f gives.
  std::mt19937 rng(37);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  for_each_isa([&](ranvier::Isa isa) {
    const auto& g = ranvier::kernels().gemm;
    if (!g.column) return;  // only the FMA kernels take this path
    int cases = 0;
    const int failed = small_path_grid(rng, isa, "outer product", {1, 7, 33}, {2, g.nr - 1, 4 * g.nr + 3}, {1}, &cases);
    RANVIER_CHECK(failed == 0, "%s: %d of %d outer-product cases failed", ranvier::isa_name(isa), failed, cases);
    const float a[2] = {-0.0f, 2.0f}, b[3] = {1.0f, -0.0f, -1.0f};
    float c[6];
    ranvier::sgemm(false, false, 2, 3, 1, 1.0f, a, 1, b, 3, 0.0f, c, 3, GemmEpilogue{}, 1);
    RANVIER_CHECK(!std::signbit(c[0]) && !std::signbit(c[1]) && !std::signbit(c[4]) && c[5] == -2.0f,
                  "%s outer product: signed zeros or values wrong", ranvier::isa_name(isa));
  });
  tune = saved;
}

RANVIER_TEST(gemm_one_column_matches_the_tiled_kernel_bitwise) {
  // n == 1 (a one-unit layer, its dW and the product feeding it) goes through the
  // one-column kernel: the same bits as the tiled micro-kernel for every transpose, alpha
  // (folded into B as the packer does), beta, bias, relu, several k-blocks and row tails;
  // and within check_case's tolerance of naive loops.
  std::mt19937 rng(31);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  for_each_isa([&](ranvier::Isa isa) {
    const auto& g = ranvier::kernels().gemm;
    if (!g.column) return;  // this ISA has no one-column kernel: nothing to compare
    int cases = 0;
    const int failed = small_path_grid(rng, isa, "column", {1, 7, 33, 4 * 16 + 5, 200}, {1}, {1, 37, 2 * g.kc + 9}, &cases);
    RANVIER_CHECK(failed == 0, "%s: %d of %d one-column cases failed", ranvier::isa_name(isa), failed, cases);
  });
  tune = saved;
}

RANVIER_TEST(gemm_every_tile_every_shape_class) {
  // Each tile a tier may run, forced, on one shape of each class of the per-CPU table
  // (gemm_config.cpp), against the naive loops, and bitwise equal at 1, 2 and 3 threads;
  // the table's own choice is always a tile the tier may run.
  std::mt19937 rng(23);
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  const auto saved = tune;
  tune.parallel_min_flops = 0.0;
  const ranvier::Isa saved_isa = ranvier::active_isa();
  struct S { bool ta, tb; int64_t m, n, k; } shapes[] = {
      {false, false, 64, 256, 392}, {true, false, 392, 128, 64}, {false, true, 64, 392, 128},
      {false, false, 64, 10, 128},  {true, false, 128, 10, 64},  {false, true, 64, 128, 10},
      {true, false, 256, 512, 300}, {false, false, 3, 130, 100}};
  for (auto isa : ranvier::supported_isas()) {
    ranvier::set_isa(isa);
    for (int t = 0; t < ranvier::kGemmTileCount; ++t) {
      const auto tile = static_cast<ranvier::GemmTile>(t);
      const ranvier::Isa needs = tile == ranvier::GemmTile::avx512_12x32 ? ranvier::Isa::avx512
                                 : tile == ranvier::GemmTile::avx2_6x16  ? ranvier::Isa::avx2
                                                                         : ranvier::Isa::scalar;
      RANVIER_CHECK(ranvier::gemm_tile_available(tile) == (isa >= needs), "%s: tile %s available: %d",
                    ranvier::isa_name(isa), ranvier::gemm_tile_name(tile), (int)ranvier::gemm_tile_available(tile));
      if (!ranvier::gemm_tile_available(tile)) continue;
      tune.ukernel = t;
      for (const auto& s : shapes) {
        const auto g = ranvier::gemm_kernels_for(s.ta, s.tb, s.m, s.n, s.k);
        RANVIER_CHECK(g.ukernel == ranvier::gemm_tile_kernels(tile).ukernel, "%s: forced %s not used",
                      ranvier::isa_name(isa), ranvier::gemm_tile_name(tile));
        Case c{s.ta, s.tb, s.m, s.n, s.k, 0.5f, 0.25f, true, true, 1};
        RANVIER_CHECK(!check_case(c, rng, 1, ranvier::gemm_tile_name(tile)), "%s %s m=%lld n=%lld k=%lld",
                      ranvier::isa_name(isa), ranvier::gemm_tile_name(tile), (long long)s.m, (long long)s.n,
                      (long long)s.k);
        const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
        auto A = random_vec(static_cast<std::size_t>(s.m * s.k), rng);
        auto B = random_vec(static_cast<std::size_t>(s.k * s.n), rng);
        auto bias = random_vec(static_cast<std::size_t>(s.n), rng);
        std::vector<float> C1(static_cast<std::size_t>(s.m * s.n), 1.0f), C2 = C1, C3 = C1;
        GemmEpilogue ep{bias.data(), GemmAct::relu};
        ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C1.data(), s.n, ep, 1);
        ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C2.data(), s.n, ep, 2);
        ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C3.data(), s.n, ep, 3);
        RANVIER_CHECK(C1 == C2 && C1 == C3, "%s %s m=%lld n=%lld k=%lld: results differ between 1, 2, 3 threads",
                      ranvier::isa_name(isa), ranvier::gemm_tile_name(tile), (long long)s.m, (long long)s.n,
                      (long long)s.k);
      }
    }
    tune.ukernel = -1;
    for (const auto& s : shapes) {
      const auto g = ranvier::gemm_kernels_for(s.ta, s.tb, s.m, s.n, s.k);
      bool ok = false;
      for (int t = 0; t < ranvier::kGemmTileCount; ++t)
        ok |= ranvier::gemm_tile_available(static_cast<ranvier::GemmTile>(t)) &&
              g.ukernel == ranvier::gemm_tile_kernels(static_cast<ranvier::GemmTile>(t)).ukernel;
      RANVIER_CHECK(ok, "%s: the table chose %s, which the tier may not run", ranvier::isa_name(isa), g.name);
    }
  }
  ranvier::set_isa(saved_isa);
  tune = saved;
}
