// The worker pool (runtime/pool.h): every chunk runs exactly once whoever claims it,
// errors come back to the caller, nested and concurrent calls never deadlock, and the
// dynamic splitting (chunks taken over from threads that are late, as on a busy machine)
// never changes a bit of a GEMM or an optimizer update.
#include <atomic>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "dispatch/dispatch.h"
#include "gemm/bf16_gemm.h"
#include "gemm/gemm.h"
#include "gemm/gemm_tuning.h"
#include "optimizers/optimizer.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

using ranvier::PoolSite;
namespace pd = ranvier::pool_detail;

// Restores the pool's tuning when a test ends.
struct TuningGuard {
  pd::PoolTuning saved = pd::pool_tuning();
  ~TuningGuard() {
    pd::pool_tuning() = saved;
    pd::reset_pool_adaptation();
  }
};

std::vector<float> random_floats(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace

RANVIER_TEST(pool_runs_every_chunk_exactly_once) {
  TuningGuard guard;
  pd::pool_tuning().adaptive = false;
  for (int jitter : {0, 30}) {
    pd::pool_tuning().test_jitter_us = jitter;
    for (int threads : {1, 2, 3, 5}) {
      for (std::int64_t chunks : {1, 2, 3, 7, 64, 257}) {
        std::vector<std::atomic<int>> hits(static_cast<std::size_t>(chunks));
        for (auto& h : hits) h.store(0);
        for (int rep = 0; rep < 3; ++rep)
          ranvier::parallel_chunks(chunks, threads, PoolSite::other, 1e9,
                                   [&](std::int64_t c) { hits[static_cast<std::size_t>(c)].fetch_add(1); });
        bool ok = true;
        for (auto& h : hits) ok = ok && h.load() == 3;
        RANVIER_CHECK(ok, "threads=%d chunks=%lld jitter=%d: a chunk ran other than once per call", threads,
                      (long long)chunks, jitter);
      }
    }
  }
}

RANVIER_TEST(pool_rethrows_a_chunks_exception_and_stays_usable) {
  TuningGuard guard;
  pd::pool_tuning().adaptive = false;
  std::atomic<int> ran{0};
  bool thrown = false;
  try {
    ranvier::parallel_chunks(16, 2, PoolSite::other, 1e9, [&](std::int64_t c) {
      ran.fetch_add(1);
      if (c == 11) throw std::runtime_error("chunk 11");
    });
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  RANVIER_CHECK(thrown, "the chunk's exception did not reach the caller");
  RANVIER_CHECK(ran.load() == 16, "every chunk should still run once (ran %d)", ran.load());
  std::atomic<int> after{0};
  ranvier::parallel_chunks(9, 2, PoolSite::other, 1e9, [&](std::int64_t) { after.fetch_add(1); });
  RANVIER_CHECK(after.load() == 9, "the pool is not usable after an exception (%d of 9)", after.load());
}

RANVIER_TEST(pool_nested_and_concurrent_calls_complete) {
  TuningGuard guard;
  pd::pool_tuning().adaptive = false;
  pd::pool_tuning().test_jitter_us = 10;
  // A parallel call inside a chunk runs on that chunk's thread alone.
  std::atomic<int> inner{0};
  ranvier::parallel_chunks(6, 3, PoolSite::other, 1e9, [&](std::int64_t) {
    ranvier::parallel_chunks(5, 3, PoolSite::other, 1e9, [&](std::int64_t) { inner.fetch_add(1); });
  });
  RANVIER_CHECK(inner.load() == 30, "nested chunks: %d of 30 ran", inner.load());
  // Several threads calling at once: one holds the pool, the others run on their own.
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep)
        ranvier::parallel_chunks(8, 2, PoolSite::other, 1e9, [&](std::int64_t) { total.fetch_add(1); });
    });
  for (auto& th : callers) th.join();
  RANVIER_CHECK(total.load() == 4 * 20 * 8, "concurrent callers: %d of %d chunks ran", total.load(), 4 * 20 * 8);
}

RANVIER_TEST(pool_adaptive_rule_runs_everything_either_way) {
  // With the rule on and a gain no team can reach, classes fall back to one thread: every
  // chunk still runs exactly once, and the statistics say a fallback happened.
  TuningGuard guard;
  pd::pool_tuning().adaptive = true;
  pd::pool_tuning().min_gain = 1000.0;
  pd::reset_pool_adaptation();
  const auto before = pd::pool_stats();
  std::atomic<long> sum{0};
  for (int rep = 0; rep < 100; ++rep)
    ranvier::parallel_chunks(8, 2, PoolSite::other, 4096.0, [&](std::int64_t c) {
      volatile double x = 0;  // a few microseconds of work, so the caller claims some chunks itself
      for (int i = 0; i < 2000; ++i) x = x + 1.0;
      sum.fetch_add(c + 1);
    });
  RANVIER_CHECK(sum.load() == 100 * 36, "sum %ld, expected %d", sum.load(), 100 * 36);
  const auto after = pd::pool_stats();
  RANVIER_CHECK(after.backoffs > before.backoffs && after.jobs_serial > before.jobs_serial,
                "the rule never put the class on one thread (backoffs %lld, serial jobs %lld)",
                after.backoffs - before.backoffs, after.jobs_serial - before.jobs_serial);
}

RANVIER_TEST(gemm_bitwise_under_dynamic_splitting) {
  // The same products with 1 thread, and with 2-4 threads cut into 1-5 parts per thread
  // that late workers (random sleeps before each claim) leave to the caller: equal bits.
  TuningGuard guard;
  auto& gt = ranvier::gemm_detail::gemm_tuning();
  const auto gsaved = gt;
  gt.parallel_min_flops = 0.0;
  pd::pool_tuning().adaptive = false;
  std::mt19937 rng(5);
  struct S { bool ta, tb; std::int64_t m, n, k; } shapes[] = {
      {false, false, 128, 256, 784}, {true, false, 784, 256, 128}, {false, true, 128, 784, 256},
      {false, false, 3, 500, 64}, {true, true, 77, 45, 300}, {false, false, 200, 100, 64}};
  for (const auto& s : shapes) {
    const std::int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
    auto A = random_floats(static_cast<std::size_t>(s.m * s.k), rng);
    auto B = random_floats(static_cast<std::size_t>(s.k * s.n), rng);
    auto bias = random_floats(static_cast<std::size_t>(s.n), rng);
    ranvier::GemmEpilogue ep{bias.data(), ranvier::GemmAct::relu};
    std::vector<float> ref(static_cast<std::size_t>(s.m * s.n), 0.5f);
    ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, A.data(), lda, B.data(), ldb, 0.5f, ref.data(), s.n, ep, 1);
    for (int jitter : {0, 40})
      for (int parts : {1, 2, 5})
        for (int nt : {2, 3, 4}) {
          pd::pool_tuning().test_jitter_us = jitter;
          pd::pool_tuning().gemm_chunks_per_thread = parts;
          std::vector<float> c(ref.size(), 0.5f);
          ranvier::sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, A.data(), lda, B.data(), ldb, 0.5f, c.data(), s.n, ep, nt);
          RANVIER_CHECK(c == ref, "m=%lld n=%lld k=%lld ta=%d tb=%d: %d threads x %d parts (jitter %d us) differ",
                        (long long)s.m, (long long)s.n, (long long)s.k, s.ta, s.tb, nt, parts, jitter);
        }
  }
  gt = gsaved;
}

RANVIER_TEST(update_triad_bitwise_under_dynamic_splitting) {
  TuningGuard guard;
  pd::pool_tuning().adaptive = false;
  std::mt19937 rng(9);
  const std::int64_t n = 100003;
  auto a0 = random_floats(static_cast<std::size_t>(n), rng);
  auto b = random_floats(static_cast<std::size_t>(n), rng);
  auto c = random_floats(static_cast<std::size_t>(n), rng);
  auto ref = a0;
  ranvier::update_triad(ref.data(), b.data(), c.data(), 0.37f, n, 1);
  for (int jitter : {0, 25})
    for (int cpt : {1, 3, 8})
      for (int nt : {2, 3}) {
        pd::pool_tuning().test_jitter_us = jitter;
        pd::pool_tuning().chunks_per_thread = cpt;
        auto a = a0;
        ranvier::update_triad(a.data(), b.data(), c.data(), 0.37f, n, nt);
        RANVIER_CHECK(a == ref, "%d threads x %d chunks (jitter %d us) differ from 1 thread", nt, cpt, jitter);
      }
}

RANVIER_TEST(bf16_gemm_bitwise_under_dynamic_splitting) {
  // The bfloat16 driver's parts on the pool, with late workers: the same bits as 1 thread
  // (native on CPUs with AVX512_BF16, emulated elsewhere).
  TuningGuard guard;
  auto& gt = ranvier::gemm_detail::gemm_tuning();
  const auto gsaved = gt;
  gt.parallel_min_flops = 0.0;
  pd::pool_tuning().adaptive = false;
  std::mt19937 rng(11);
  struct S { bool ta, tb; std::int64_t m, n, k; } shapes[] = {
      {false, false, 128, 256, 784}, {true, false, 300, 64, 128}, {false, false, 2, 700, 96}};
  for (const auto& s : shapes) {
    const std::int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
    auto A = random_floats(static_cast<std::size_t>(s.m * s.k), rng);
    auto B = random_floats(static_cast<std::size_t>(s.k * s.n), rng);
    std::vector<float> ref(static_cast<std::size_t>(s.m * s.n), 0.0f);
    ranvier::bgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, ref.data(), s.n,
                   ranvier::GemmEpilogue{}, 1);
    for (int jitter : {0, 40})
      for (int nt : {2, 3}) {
        pd::pool_tuning().test_jitter_us = jitter;
        std::vector<float> c(ref.size(), 0.0f);
        ranvier::bgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, c.data(), s.n,
                       ranvier::GemmEpilogue{}, nt);
        RANVIER_CHECK(c == ref, "bf16 m=%lld n=%lld k=%lld: %d threads (jitter %d us) differ from 1",
                      (long long)s.m, (long long)s.n, (long long)s.k, nt, jitter);
      }
  }
  gt = gsaved;
}
