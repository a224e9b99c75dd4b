// The mixed_bfloat16 GEMM driver (contract in bf16_gemm.h).
//
// Native (avx512bf16 tier): BLIS-style blocking like sgemm's driver, over bfloat16 pairs.
//   each thread t owns a rectangle of C (the same tm x tn grid rule as sgemm)
//   for jc step NC, for pc step kstep (even, a function of k only: the reduction order)
//     pack_b: B(pc:pc+kc, jc:jc+nc) -> NR-wide panels of pairs (rounding to bf16 here)
//     for ic step ~MC
//       pack_a: A(ic:ic+mc, pc:pc+kc) -> pairs (row-major, or column-major when ta)
//       micro-kernel per MR x NR tile (beta on the first k-block, bias/act on the last)
// A few rows (m <= 4, A and B row-major: a single-sample predict) skip packing B: the
// skinny kernel converts two rows of B at a time in registers (same pairs, same bits).
// Every C element is reduced over the same k-blocks, pairs in the same order, whatever
// the thread split: results are bitwise independent of the thread count.
//
// Emulated (every other tier): op(A) and op(B) are rounded to bfloat16 values held in
// float32 (thread-local grow-only copies), then sgemm multiplies them. The products are
// the same exact float32 numbers as vdpbf16ps's; only the order of the float32 sums
// differs, so both paths meet the same error bound against the exactly summed product
// of the rounded inputs (tests/test_bf16.py).
#include "gemm/bf16_gemm.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "dispatch/dispatch.h"
#include "gemm/gemm_buffers.h"
#include "gemm/gemm_tuning.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"

#ifdef RANVIER_OPENMP
#include <omp.h>
#endif

namespace ranvier {

namespace {

using std::int64_t;

using gemm_detail::AlignedBuffer;
using gemm_detail::ceil_div;
using gemm_detail::min64;
using gemm_detail::split_point;

thread_local AlignedBuffer tl_bf_a;  // packed pairs of A
thread_local AlignedBuffer tl_bf_b;  // packed pairs of B

inline std::uint32_t round_bits(std::uint32_t u) {
  const std::uint32_t exp = u & 0x7F800000u;
  const std::uint32_t rne = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  const std::uint32_t special = (u & 0x007FFFFFu) ? ((u | 0x00400000u) & 0xFFFF0000u) : u;  // NaN quiet / Inf
  return exp == 0x7F800000u ? special : exp == 0 ? (u & 0x80000000u) : rne;
}

// dst[r*cols + c] = bf16(src[r*ld + c]) for r < rows, c < cols (plain loop: vectorized).
void round_block(const float* src, int64_t ld, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * ld;
    float* d = dst + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      std::uint32_t u;
      std::memcpy(&u, s + c, 4);
      u = round_bits(u);
      std::memcpy(d + c, &u, 4);
    }
  }
}

struct Problem {
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  const float* bias;
  int act;
};

struct Split {
  int tm = 1, tn = 1;
  int64_t rows_max = 0, cols_max = 0;
};

// The busiest thread's tiles plus the packing it repeats (rows split: every thread packs
// B; columns split: every thread packs A), as in sgemm's driver.
Split choose_split(const Problem& P, const Bf16GemmKernels& g, int nt) {
  const int64_t mpan = ceil_div(P.m, g.mr), npan = ceil_div(P.n, g.nr);
  Split best;
  double best_cost = -1.0;
  for (int tm = 1; tm <= nt; ++tm) {
    if (nt % tm) continue;
    const int tn = nt / tm;
    const int64_t rows = ceil_div(mpan, tm) * g.mr, cols = ceil_div(npan, tn) * g.nr;
    const double kk = static_cast<double>(P.k);
    double cost = static_cast<double>(rows) * static_cast<double>(cols) * kk * 0.5;  // 2 products per lane op
    cost += 8.0 * kk * static_cast<double>(cols);
    cost += 8.0 * kk * static_cast<double>(rows) * static_cast<double>(ceil_div(cols, g.nc));
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = Split{tm, tn, rows, cols};
    }
  }
  return best;
}

// k-blocks of equal, even depth (a function of k only).
inline int64_t k_step(int64_t k, int64_t kc) {
  int64_t s = ceil_div(k, ceil_div(k, kc));
  return s + (s & 1);
}

bool run_native(const Problem& P, const Bf16GemmKernels& g, const Split& sp, int tid) {
  const int MR = g.mr, NR = g.nr;
  const int64_t mpan = ceil_div(P.m, MR), npan = ceil_div(P.n, NR);
  const int ti = tid / sp.tn, tj = tid % sp.tn;
  const int64_t m0 = min64(P.m, split_point(mpan, sp.tm, ti) * MR);
  const int64_t m1 = min64(P.m, split_point(mpan, sp.tm, ti + 1) * MR);
  const int64_t n0 = min64(P.n, split_point(npan, sp.tn, tj) * NR);
  const int64_t n1 = min64(P.n, split_point(npan, sp.tn, tj + 1) * NR);
  if (m1 <= m0 || n1 <= n0) return true;

  const int64_t kstep = k_step(P.k, g.kc);
  const int64_t kp_max = min64(kstep, P.k + (P.k & 1)) / 2;
  const int64_t rpan = ceil_div(m1 - m0, MR);
  const int64_t mstep = ceil_div(rpan, ceil_div(rpan * MR, g.mc)) * MR;
  // Sized from the split's largest rectangle: repeated calls never reallocate.
  const int64_t bcols = ceil_div(min64(g.nc, sp.cols_max), NR) * NR;
  const int64_t arows = min64(sp.rows_max, g.mc + MR);  // >= every row block (mstep)
  auto* bpack = static_cast<std::uint32_t*>(tl_bf_b.words(static_cast<std::size_t>(kp_max * bcols)));
  auto* apack = static_cast<std::uint32_t*>(tl_bf_a.words(static_cast<std::size_t>(kp_max * arows)));
  if (!bpack || !apack) return false;

  for (int64_t jc = n0; jc < n1; jc += g.nc) {
    const int64_t ncb = min64(g.nc, n1 - jc);
    const int64_t nq = ceil_div(ncb, NR);
    for (int64_t pc = 0; pc < P.k; pc += kstep) {
      const int64_t kcb = min64(kstep, P.k - pc);
      const int64_t kp = (kcb + 1) / 2;
      const bool first = pc == 0, last = pc + kcb == P.k;
      const float beta = first ? P.beta : 1.0f;
      const int act = last ? P.act : 0;
      g.pack_b(P.tb, P.tb ? P.b + jc * P.ldb + pc : P.b + pc * P.ldb + jc, P.ldb, kcb, ncb, bpack);
      for (int64_t ic = m0; ic < m1; ic += mstep) {
        const int64_t mcb = min64(mstep, m1 - ic);
        const int64_t rows_pad = ceil_div(mcb, MR) * MR;
        g.pack_a(P.ta, P.ta ? P.a + pc * P.lda + ic : P.a + ic * P.lda + pc, P.lda, mcb, kcb, rows_pad, apack);
        for (int64_t q = 0; q < nq; ++q) {
          const int64_t j = jc + q * NR;
          const int nn = static_cast<int>(min64(NR, jc + ncb - j));
          const float* bias = (last && P.bias) ? P.bias + j : nullptr;
          const std::uint32_t* bpanel = bpack + q * kp * NR;
          for (int64_t ir = 0; ir < mcb; ir += MR) {
            const int mm = static_cast<int>(min64(MR, mcb - ir));
            const std::uint32_t* apanel = P.ta ? apack + ir : apack + ir * kp;
            const int64_t astr = P.ta ? -rows_pad : kp;
            g.ukernel(kp, apanel, astr, bpanel, P.c + (ic + ir) * P.ldc + j, P.ldc, mm, nn, P.alpha, beta, bias, act);
          }
        }
      }
    }
  }
  return true;
}

// Parts 0 .. nt - 1 on ranvier's pool (runtime/pool.h): claimed dynamically, so a part a
// descheduled thread has not started is taken over; the bits never depend on who runs it.
template <typename Part>
bool run_parts(int nt, double flops, const Part& part) {
  if (nt <= 1) return part(0);
  std::atomic<int> failures{0};
  parallel_chunks(nt, nt, PoolSite::gemm, flops, [&](std::int64_t t) {
    if (!part(static_cast<int>(t))) failures.fetch_add(1, std::memory_order_relaxed);
  });
  return failures.load() == 0;
}

}  // namespace

float round_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  u = round_bits(u);
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

bool bgemm_native() { return kernels().bf16gemm.ukernel != nullptr; }

void bgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const GemmEpilogue& ep, int nthreads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {  // nothing to round: sgemm writes the epilogue alone
    sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, nthreads);
    return;
  }
  Bf16GemmKernels g = kernels().bf16gemm;  // a copy: tuning experiments may override the blocking
  if (!g.ukernel) {  // emulated: the rounded copies through sgemm
    sgemm_rounded(round_block, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, nthreads);
    return;
  }
  FtzScope ftz;

  const gemm_detail::GemmTuning& tune = gemm_detail::gemm_tuning();
  if (tune.kc > 0) g.kc = tune.kc + (tune.kc & 1);
  if (tune.mc > 0 && tune.mc % g.mr == 0) g.mc = tune.mc;
  if (tune.nc > 0) g.nc = static_cast<int>(ceil_div(tune.nc, g.nr) * g.nr);
  Problem P{ta, tb, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc, ep.bias, static_cast<int>(ep.act)};
  int nt = nthreads > 0 ? nthreads : get_num_threads();
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < tune.parallel_min_flops) nt = 1;
  const int64_t tiles = ceil_div(m, g.mr) * ceil_div(n, g.nr);
  if (nt > tiles) nt = static_cast<int>(tiles);
#ifdef RANVIER_OPENMP
  if (omp_in_parallel()) nt = 1;
#else
  nt = 1;
#endif
  // A few rows with A and B row-major (a single-sample predict): B is read in place, two
  // rows at a time, with no packed copy; columns split between the threads. Per element
  // the same arithmetic over the same k-blocks as the tiled path: the same bits.
  if (g.skinny && tune.skinny && m <= g.skinny_max_m && !ta && !tb) {
    const int64_t chunk = 8 * static_cast<int64_t>(g.nr), chunks = ceil_div(n, chunk);
    if (nt > chunks) nt = static_cast<int>(chunks);
    const int64_t kstep = k_step(k, g.kc);
    const bool ok = run_parts(nt, flops, [&](int t) {
      const int64_t n0 = min64(n, split_point(chunks, nt, t) * chunk);
      const int64_t n1 = min64(n, split_point(chunks, nt, t + 1) * chunk);
      if (n1 <= n0) return true;
      auto* work = static_cast<std::uint32_t*>(tl_bf_a.words(static_cast<std::size_t>(m * (kstep / 2 + 1))));
      if (!work) return false;
      for (int64_t pc = 0; pc < k; pc += kstep) {
        const int64_t kcb = min64(kstep, k - pc);
        const bool first = pc == 0, last = pc + kcb == k;
        g.skinny(kcb, a + pc, lda, b + pc * ldb + n0, ldb, c + n0, ldc, static_cast<int>(m), n1 - n0, alpha,
                 first ? beta : 1.0f, (last && ep.bias) ? ep.bias + n0 : nullptr, last ? static_cast<int>(ep.act) : 0,
                 work);
      }
      return true;
    });
    if (!ok) throw std::bad_alloc();
    return;
  }

  const Split sp = choose_split(P, g, nt);
  if (!run_parts(nt, flops, [&](int t) { return run_native(P, g, sp, t); })) throw std::bad_alloc();
}

}  // namespace ranvier
