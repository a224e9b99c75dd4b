// The GEMM driver: BLIS-style blocking over the micro-kernels of the active ISA.
//
//   each thread t owns a rectangle of C: rows [m0, m1) x columns [n0, n1)
//   for jc in [n0, n1) step NC                    B block columns
//     for pc in [0, k) step ~KC                   k-blocks of equal depth <= KC (the
//                                                 reduction order; depends on k only)
//       pack B(pc:pc+kc, jc:jc+nc) * alpha        -> NR-wide panels (this thread's)
//       for ic in [m0, m1) step ~MC
//         pack A(ic:ic+mc, pc:pc+kc)              -> MR-tall panels (this thread's)
//         for jr in the block's NR panels
//           for ir in [0, mc) step MR
//             micro-kernel (beta on the first k-block, bias/act on the last)
//
// The micro-kernel (register tile) and blocking come from gemm_config.h: per CPU and shape,
// from measurement, all tiles of a tier with the tier's k-blocking (so the same bits).
//
// Transposes are packing choices: op(A) = A^T and op(B) = B^T only change how the
// packers read memory, never the kernels. alpha is folded into the B packing.
// Small problems skip packing: the kernels also read a row-major A, a transposed A (as
// column-major panels), and a row-major B when alpha == 1, in place (see the measured
// rule in sgemm), giving the same bits. A last tile of at most 4 rows runs a 4-row
// kernel, and k == 1 (an outer product) is written directly: the same bits again.
//
// Threads (ranvier's pool, runtime/pool.h; this file only, never in kernels): one job per
// call, problems under a measured FLOP threshold on one thread. C is split into a tm x tn
// grid of rectangles, the parts (contiguous MR-row and NR-column panel ranges, the grid
// chosen by a cost model of tiles plus the packing each part repeats), which the threads
// claim dynamically and run with no barrier: each part packs exactly the panels it uses.
// That costs some duplicated packing (B when rows are split, A when columns are: but a part
// with few columns reads A in place, see part_packs_a), and buys
// a call whose only synchronisation is waiting for the parts in progress: a thread that a
// busy machine has descheduled before it claimed a part delays nothing (the others take its
// part over), and the pool runs a size class on one thread when the team stops paying.
// Every C element is reduced by the same kernel over the same k-blocks in the same order
// whatever the split and whoever runs the part, so results are bitwise independent of the
// thread count.
//
// Buffers: each thread's packed A and B blocks are thread_local, 64-byte aligned, and
// grow only when a bigger problem arrives, so repeated calls (a training loop) never
// allocate.
#include "gemm/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "dispatch/dispatch.h"
#include "gemm/gemm_buffers.h"
#include "gemm/gemm_config.h"
#include "gemm/gemm_tuning.h"
#include "gemm/transpose_copy.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <xmmintrin.h>
#endif
#ifdef RANVIER_OPENMP
#include <omp.h>
#endif

namespace ranvier {

namespace gemm_detail {

// parallel_min_flops = 1e6 (2*m*n*k). Measured with `bench_gemm_cpp --threshold`
// (1 thread vs 2 threads forced, median of 5-7 repeats, speedup = t1/t2):
//
//   m x n x k      MFLOP   Xeon AVX-512  Xeon AVX2   Zen3 AVX2 (2 shared cores, noisy)
//   16x64x64        0.13       0.56        0.66         0.79
//   32x64x64        0.26       0.83        0.85         0.78
//   32x128x64       0.52       1.02        1.06         1.07
//   64x64x128       1.05       1.42        1.49         (0.40, other core busy)
//   128x128x128     4.19       1.57        1.08         2.10
//   256x512x256    67.1        1.53        1.39         1.23
//
// (Xeon: idle 16-core Intel Xeon with AVX-512F; Zen3: this project's 2-core machine,
// shared with other jobs, where 2 threads lose at every size whenever the other core is
// busy.) Two threads break even near 0.5 MFLOP and win clearly from 1 MFLOP; the
// threshold sits at 1 MFLOP so a 32x64x64 layer (0.26 MFLOP) and single-sample predict
// never pay a fork/join, and borderline sizes do not gamble on a free core.
GemmTuning gemm_default_tuning() {
  int ukernel = -1;
  const char* env = std::getenv("RANVIER_GEMM_UKERNEL");
  if (env && *env) {
    GemmTile t;
    if (!parse_gemm_tile(env, &t))
      throw std::invalid_argument(std::string("RANVIER_GEMM_UKERNEL='") + env +
                                  "' is not a GEMM micro-kernel name; expected one of scalar-4x8, avx2-6x16, "
                                  "avx512-12x32");
    ukernel = static_cast<int>(t);
  }
  return GemmTuning{1.0e6, PackMode::automatic, PackMode::automatic, 0, 0, 0, true, ukernel, -1};
}

GemmTuning& gemm_tuning() {
  static GemmTuning t = gemm_default_tuning();
  return t;
}

namespace {
std::atomic<long> g_buffer_allocations{0};
}
long gemm_buffer_allocations() { return g_buffer_allocations.load(std::memory_order_relaxed); }

}  // namespace gemm_detail

namespace {

using gemm_detail::PackMode;
using std::int64_t;

using gemm_detail::AlignedBuffer;
using gemm_detail::ceil_div;
using gemm_detail::min64;
using gemm_detail::split_point;
using gemm_detail::transpose_copy;

thread_local AlignedBuffer tl_a_buffer{&gemm_detail::g_buffer_allocations};  // packed A block of this thread
thread_local AlignedBuffer tl_b_buffer{&gemm_detail::g_buffer_allocations};  // packed B block of this thread
thread_local AlignedBuffer tl_s_buffer{&gemm_detail::g_buffer_allocations};  // the skinny kernel's sums (m x n)

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
  bool pack_a;
  bool pack_b;
  // Whether a part of the split with at most GemmKernels::a_in_place_max_cols columns may
  // read A in place although the whole problem packs it (see part_packs_a; the same bits).
  bool a_in_place_narrow;
  // The tier's block transpose for the packers (GemmKernels::transpose), or null.
  GemmTransposeFn transpose = nullptr;
  int transpose_block = 0;
};

// A is read in place, not packed, by a part of the split whose columns number at most
// GemmKernels::a_in_place_max_cols (a per-CPU value from gemm_config.cpp; 0 off), although
// the whole problem's rule packs it: the packed copy would serve too few B panels to repay
// itself. Each part packs its own A, so when threads split the columns of a short, wide
// product (W1's 128x256x784 on 2 threads: two parts of 128 columns) the copies disappear.
// The same bits either way (see sgemm).
inline bool part_packs_a(const Problem& P, int64_t cols, const GemmKernels& g) {
  return P.pack_a && !(P.a_in_place_narrow && cols <= g.a_in_place_max_cols);
}

// out[j] = scale * s[j] for j < N, N a constant: unrolled into SIMD moves by the compiler
// (the packers run this once per panel row; a loop over a runtime NR cost them ~1 cycle
// per float, 12% of a 128x256x784 product).
template <int N>
inline void scaled_copy(float* __restrict out, const float* __restrict s, float scale) {
  for (int j = 0; j < N; ++j) out[j] = scale * s[j];
}

// The NR-wide pieces of one row of B, scattered to their panels (see pack_b).
template <int N>
inline void pack_b_row(const float* src, float alpha, int64_t jc, int64_t jend, int64_t q0, int64_t q1,
                       int64_t panel_stride, float* out) {
  for (int64_t q = q0; q < q1; ++q, out += panel_stride) {
    const int64_t j0 = jc + q * N;
    const float* s = src + j0;
    if (j0 + N <= jend) {
      scaled_copy<N>(out, s, alpha);
    } else {
      const int nn = static_cast<int>(jend - j0);
      for (int j = 0; j < nn; ++j) out[j] = alpha * s[j];
      for (int j = nn; j < N; ++j) out[j] = 0.0f;
    }
  }
}

// The MR-wide pieces of one row of op(A)^T (a transposed A), scattered to their panels.
template <int N>
inline void pack_at_row(const float* src, int64_t mcb, int64_t npanels, int64_t panel_stride, float* out) {
  for (int64_t r = 0; r < npanels; ++r, out += panel_stride) {
    const float* s = src + r * N;
    if ((r + 1) * N <= mcb) {
      std::memcpy(out, s, sizeof(float) * N);  // a constant size: inlined moves
    } else {
      const int mm = static_cast<int>(mcb - r * N);
      for (int i = 0; i < mm; ++i) out[i] = s[i];
      for (int i = mm; i < N; ++i) out[i] = 0.0f;
    }
  }
}

// transpose_copy with the tier's block kernel for the whole blocks, when it has one.
void transpose_packed(const Problem& P, const float* src, int64_t ld, int rows, int64_t len, float scale, float* dst,
                      int dst_stride) {
  const int tb = P.transpose_block;
  if (!P.transpose || rows < tb || len < tb) {
    transpose_copy(src, ld, rows, len, scale, dst, dst_stride);
    return;
  }
  const int r_full = rows / tb * tb;
  const int64_t l_full = len / tb * tb;
  P.transpose(src, ld, r_full, l_full, scale, dst, dst_stride);
  if (l_full < len) transpose_copy(src + l_full, ld, r_full, len - l_full, scale, dst + l_full * dst_stride, dst_stride);
  if (r_full < rows) transpose_copy(src + r_full * ld, ld, rows - r_full, len, scale, dst + r_full, dst_stride);
}

// Packs NR-wide panels [q0, q1) of B(pc:pc+kcb, jc:jc+ncb) * alpha:
// panel q at dst + (q-q0)*kcb*NR, element (p, j) at [p*NR + j], columns past ncb zeroed.
void pack_b(const Problem& P, int NR, int64_t pc, int64_t kcb, int64_t jc, int64_t ncb, int64_t q0,
            int64_t q1, float* dst) {
  if (q1 <= q0) return;
  const float alpha = P.alpha;
  if (!P.tb) {
    // B(p, j) = b[p*ldb + j]: walk B row by row (one sequential stream the hardware
    // prefetcher follows), scattering NR-wide pieces to the panels' sequential streams.
    const int64_t jend = min64(jc + ncb, jc + q1 * NR);  // last column of this share
    for (int64_t p = 0; p < kcb; ++p) {
      const float* src = P.b + (pc + p) * P.ldb;
      float* out = dst + p * NR;
      switch (NR) {
        case 8: pack_b_row<8>(src, alpha, jc, jend, q0, q1, kcb * NR, out); break;
        case 16: pack_b_row<16>(src, alpha, jc, jend, q0, q1, kcb * NR, out); break;
        case 32: pack_b_row<32>(src, alpha, jc, jend, q0, q1, kcb * NR, out); break;
        default:
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t j0 = jc + q * NR;
            const int nn = static_cast<int>(min64(NR, jend - j0));
            float* o = out + (q - q0) * kcb * NR;
            for (int j = 0; j < nn; ++j) o[j] = alpha * src[j0 + j];
            for (int j = nn; j < NR; ++j) o[j] = 0.0f;
          }
      }
    }
    return;
  }
  for (int64_t q = q0; q < q1; ++q) {  // B(p, j) = b[j*ldb + p]: panel columns are contiguous
    const int64_t j0 = jc + q * NR;
    const int nn = static_cast<int>(min64(NR, jc + ncb - j0));
    float* out = dst + (q - q0) * kcb * NR;
    transpose_packed(P, P.b + j0 * P.ldb + pc, P.ldb, nn, kcb, alpha, out, NR);
    for (int j = nn; j < NR; ++j)
      for (int64_t p = 0; p < kcb; ++p) out[p * NR + j] = 0.0f;
  }
}

// Packs A(ic:ic+mcb, pc:pc+kcb) as MR-tall panels: panel r at dst + r*MR*kcb,
// element (i, p) at [p*MR + i], rows past mcb zeroed.
void pack_a(const Problem& P, int MR, int64_t ic, int64_t mcb, int64_t pc, int64_t kcb, float* dst) {
  const int64_t npanels = ceil_div(mcb, MR);
  if (P.ta) {
    // A(i, p) = a[p*lda + i]: walk op(A)^T row by row (sequential), MR-wide pieces out.
    for (int64_t p = 0; p < kcb; ++p) {
      const float* src = P.a + (pc + p) * P.lda + ic;
      float* out = dst + p * MR;
      switch (MR) {
        case 4: pack_at_row<4>(src, mcb, npanels, MR * kcb, out); break;
        case 6: pack_at_row<6>(src, mcb, npanels, MR * kcb, out); break;
        case 12: pack_at_row<12>(src, mcb, npanels, MR * kcb, out); break;
        default:
          for (int64_t r = 0; r < npanels; ++r) {
            const int mm = static_cast<int>(min64(MR, mcb - r * MR));
            float* o = out + r * MR * kcb;
            for (int i = 0; i < mm; ++i) o[i] = src[r * MR + i];
            for (int i = mm; i < MR; ++i) o[i] = 0.0f;
          }
      }
    }
    return;
  }
  for (int64_t r = 0; r < npanels; ++r) {  // A(i, p) = a[i*lda + p]: panel rows are contiguous
    const int64_t i0 = ic + r * MR;
    const int mm = static_cast<int>(min64(MR, ic + mcb - i0));
    float* out = dst + r * MR * kcb;
    transpose_packed(P, P.a + i0 * P.lda + pc, P.lda, mm, kcb, 1.0f, out, MR);
    if (mm < MR)
      for (int64_t p = 0; p < kcb; ++p)
        for (int i = mm; i < MR; ++i) out[p * MR + i] = 0.0f;
  }
}

// How the threads share the work: a tm x tn grid of rectangles of C, each a contiguous
// range of MR-row panels times a contiguous range of NR-column panels.
struct Split {
  int tm = 1, tn = 1;
  int64_t rows_max = 0, cols_max = 0;  // the largest rectangle (sizes the buffers)
};

// Chooses the grid that minimises the busiest thread's time: its tiles' FMAs plus the
// packing it does itself (every thread packs the B panels of its columns and the A
// rows of its rows, so splitting rows duplicates B packing and splitting columns
// duplicates A packing). Packing one float is weighted as 8 tile multiply-adds per
// (row, column, k) unit / 16 lanes, i.e. about half a cycle against 1/16 cycle.
Split choose_split(const Problem& P, const GemmKernels& g, int nt) {
  const int64_t mpan = ceil_div(P.m, g.mr), npan = ceil_div(P.n, g.nr);
  Split best;
  double best_cost = -1.0;
  for (int tm = 1; tm <= nt; ++tm) {
    if (nt % tm) continue;
    const int tn = nt / tm;
    const int64_t rows = ceil_div(mpan, tm) * g.mr, cols = ceil_div(npan, tn) * g.nr;
    const double kk = static_cast<double>(P.k);
    double cost = static_cast<double>(rows) * static_cast<double>(cols) * kk;
    if (P.pack_b) cost += 8.0 * kk * static_cast<double>(cols);
    if (part_packs_a(P, cols, g)) cost += 8.0 * kk * static_cast<double>(rows) * static_cast<double>(ceil_div(cols, g.nc));
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best.tm = tm;
      best.tn = tn;
      best.rows_max = rows;
      best.cols_max = cols;
    }
  }
  return best;
}

// The work of thread `tid` of a split (nt == 1: the whole problem): its rectangle of C,
// with its own packing buffers, and no synchronisation with the other threads (so a
// descheduled thread on a busy machine delays only the end of the call, once, instead
// of every k-block). Returns false when a packing buffer could not be allocated.
bool run(const Problem& P, const GemmKernels& g, const Split& sp, int tid) {
  const int MR = g.mr, NR = g.nr;
  const int64_t KC = g.kc, MC = g.mc, NC = g.nc;
  const int64_t mpan = ceil_div(P.m, MR), npan = ceil_div(P.n, NR);
  const int ti = tid / sp.tn, tj = tid % sp.tn;
  // This thread's rows [m0, m1) and columns [n0, n1), MR- and NR-aligned.
  const int64_t m0 = min64(P.m, split_point(mpan, sp.tm, ti) * MR);
  const int64_t m1 = min64(P.m, split_point(mpan, sp.tm, ti + 1) * MR);
  const int64_t n0 = min64(P.n, split_point(npan, sp.tn, tj) * NR);
  const int64_t n1 = min64(P.n, split_point(npan, sp.tn, tj + 1) * NR);
  if (m1 <= m0 || n1 <= n0) return true;  // more threads than tiles: nothing to do
  const bool packs_a = part_packs_a(P, n1 - n0, g);

  // Buffers sized from the largest rectangle of the split, so their size never depends
  // on which thread runs which rectangle (repeated calls then never reallocate).
  const int64_t kmax = min64(KC, P.k);
  // (B read in place needs room for one partial panel only.)
  const int64_t bcols = P.pack_b ? min64(NC, sp.cols_max) : NR;
  float* bpack = tl_b_buffer.get(static_cast<std::size_t>(kmax * bcols));
  // (A^T read in place needs room for one partial panel only.)
  // (Sized by the problem's rule, not this part's: which thread runs which part varies.)
  float* apack = P.pack_a ? tl_a_buffer.get(static_cast<std::size_t>(kmax * min64(MC, sp.rows_max)))
                 : P.ta   ? tl_a_buffer.get(static_cast<std::size_t>(kmax * MR))
                          : nullptr;
  if (!bpack || ((P.pack_a || P.ta) && !apack)) return false;

  // k-blocks of equal depth (784 = 4 x 196, not 3 x 256 + 16): no thin last block
  // paying a full pass over C. A function of k alone, so the same for every thread count.
  const int64_t kstep = ceil_div(P.k, ceil_div(P.k, KC));
  // Row blocks of this thread's range: about equal, whole MR panels, at most MC.
  const int64_t rpan = ceil_div(m1 - m0, MR);
  const int64_t mstep = ceil_div(rpan, ceil_div(rpan * MR, MC)) * MR;

  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t ncb = min64(NC, n1 - jc);
    const int64_t nq = ceil_div(ncb, NR);
    for (int64_t pc = 0; pc < P.k; pc += kstep) {
      const int64_t kcb = min64(kstep, P.k - pc);
      const bool first = pc == 0, last = pc + kcb == P.k;
      const float beta = first ? P.beta : 1.0f;
      const int act = last ? P.act : 0;

      if (P.pack_b)
        pack_b(P, NR, pc, kcb, jc, ncb, 0, nq, bpack);
      else if (ncb % NR != 0)  // B read in place; only a partial last panel is packed
        pack_b(P, NR, pc, kcb, jc, ncb, nq - 1, nq, bpack);

      for (int64_t ic = m0; ic < m1; ic += mstep) {
        const int64_t mcb = min64(mstep, m1 - ic);
        const float* ablock;
        int64_t a_stride;
        if (packs_a) {
          pack_a(P, MR, ic, mcb, pc, kcb, apack);
          ablock = apack;
          a_stride = 0;
        } else if (!P.ta) {  // row-major A read in place
          ablock = P.a + ic * P.lda + pc;
          a_stride = P.lda;
        } else {  // A^T read in place: column-major panels; a partial last one is packed
          ablock = P.a + pc * P.lda + ic;
          a_stride = -P.lda;
          const int64_t tail = mcb / MR * MR;
          if (tail < mcb && !(g.a_col_exact_tails >> (mcb - tail) & 1u))
            pack_a(P, MR, ic + tail, mcb - tail, pc, kcb, apack);
        }
        for (int64_t q = 0; q < nq; ++q) {
          const int64_t j = jc + q * NR;
          const int nn = static_cast<int>(min64(NR, jc + ncb - j));
          const bool b_in_place = !P.pack_b && nn == NR;
          const float* bpanel = b_in_place ? P.b + pc * P.ldb + j
                                : bpack + (P.pack_b ? q : 0) * kcb * NR;  // in place: 1 packed panel
          const int64_t b_stride = b_in_place ? P.ldb : NR;
          const float* bias = (last && P.bias) ? P.bias + j : nullptr;
          for (int64_t ir = 0; ir < mcb; ir += MR) {
            const int mm = static_cast<int>(min64(MR, mcb - ir));
            const float* apanel = packs_a ? ablock + ir * kcb : P.ta ? ablock + ir : ablock + ir * P.lda;
            int64_t astr = a_stride;
            if (a_stride < 0 && mm < MR && !(g.a_col_exact_tails >> mm & 1u)) {  // the packed partial panel of A^T
              apanel = apack;
              astr = 0;
            }
            g.ukernel(kcb, apanel, astr, bpanel, b_stride, P.c + (ic + ir) * P.ldc + j, P.ldc, mm, nn,
                      beta, bias, act);
          }
        }
      }
    }
  }
  return true;
}

// The few-rows path: columns [n0, n1) of all m <= skinny_max_m rows, k-block by k-block
// with the driver's blocking (so every element sees the same k-blocks, in the same
// order, as through the tiled path: the same bits).
bool run_skinny(const Problem& P, const GemmKernels& g, int64_t n0, int64_t n1) {
  if (n1 <= n0) return true;
  float* work = tl_s_buffer.get(static_cast<std::size_t>(P.m * (n1 - n0)));
  if (!work) return false;
  const int64_t kstep = ceil_div(P.k, ceil_div(P.k, g.kc));
  for (int64_t pc = 0; pc < P.k; pc += kstep) {
    const int64_t kcb = min64(kstep, P.k - pc);
    const bool first = pc == 0, last = pc + kcb == P.k;
    g.skinny(kcb, P.a + pc, P.lda, P.b + pc * P.ldb + n0, P.ldb, P.c + n0, P.ldc, static_cast<int>(P.m),
             n1 - n0, first ? P.beta : 1.0f, (last && P.bias) ? P.bias + n0 : nullptr, last ? P.act : 0, work);
  }
  return true;
}

// Runs part(0) .. part(parts - 1) on up to nt threads of ranvier's pool (runtime/pool.h:
// parts are claimed dynamically, so a descheduled thread's unstarted parts are taken over;
// the pool's workers run with flush-to-zero set). Returns false when any part did (a
// packing buffer could not be allocated).
template <typename Part>
bool run_parts(int parts, int nt, double flops, const Part& part) {
  if (parts <= 1 || nt <= 1) {
    bool ok = true;
    for (int t = 0; t < parts; ++t) ok = part(t) && ok;
    return ok;
  }
  std::atomic<bool> all_ok{true};
  parallel_chunks(parts, nt, PoolSite::gemm, flops, [&](std::int64_t t) {
    if (!part(static_cast<int>(t))) all_ok.store(false, std::memory_order_relaxed);
  });
  return all_ok.load();
}

// C = act(beta * C + bias) (k == 0 or alpha == 0: op(A) @ op(B) contributes nothing).
void epilogue_only(int64_t m, int64_t n, float beta, float* c, int64_t ldc, const GemmEpilogue& ep) {
  for (int64_t i = 0; i < m; ++i) {
    float* cr = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) {
      float v = beta == 0.0f ? 0.0f : beta * cr[j];
      if (ep.bias) v += ep.bias[j];
      if (ep.act == GemmAct::relu) v = 0.0f > v ? 0.0f : v;
      cr[j] = v;
    }
  }
}

// k == 1 (an outer product: the input gradient of a one-unit layer, dZ @ W^T): every
// element is one product, so it is written here directly with the micro-kernel's
// arithmetic: acc = fma(a, alpha*b, +0.0f) (a rounded product plus +0.0f, which turns
// -0.0f into +0.0f like the FMA does), fmadd(beta, C, acc), bias add, relu as max(0, x).
// The same bits as the tiled path, without packing 1 x n of B into NR-wide panels.
void outer_product(const Problem& P, float* brow, GemmOuterFn kernel) {
  const int64_t m = P.m, n = P.n;
  const float alpha = P.alpha, beta = P.beta;
  const float* bias = P.bias;
  const bool relu = P.act == 1;
  for (int64_t j = 0; j < n; ++j) brow[j] = alpha * (P.tb ? P.b[j * P.ldb] : P.b[j]);  // as packed
  if (kernel) {
    kernel(m, n, P.a, P.ta ? 1 : P.lda, brow, P.c, P.ldc, beta, bias, P.act);
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    const float ai = P.ta ? P.a[i] : P.a[i * P.lda];
    float* __restrict cr = P.c + i * P.ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < n; ++j) cr[j] = ai * brow[j] + 0.0f;
    } else {
      for (int64_t j = 0; j < n; ++j) cr[j] = __builtin_fmaf(beta, cr[j], ai * brow[j] + 0.0f);
    }
    if (bias)
      for (int64_t j = 0; j < n; ++j) cr[j] = cr[j] + bias[j];
    if (relu)
      for (int64_t j = 0; j < n; ++j) cr[j] = 0.0f > cr[j] ? 0.0f : cr[j];
  }
}

}  // namespace

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const GemmEpilogue& ep,
           int nthreads) {
  if (m <= 0 || n <= 0) return;
  FtzScope ftz;
  if (k <= 0 || alpha == 0.0f) {
    epilogue_only(m, n, beta, c, ldc, ep);
    return;
  }
  const gemm_detail::GemmTuning& tune = gemm_detail::gemm_tuning();
  // The tile for this shape on this CPU and tier (gemm_config.h: a function of the shape,
  // never of the thread count); a copy: tuning experiments may override the blocking.
  GemmKernels g = gemm_kernels_for(ta, tb, m, n, k);
  if (tune.kc > 0) g.kc = tune.kc;
  if (tune.mc > 0 && tune.mc % g.mr == 0) g.mc = tune.mc;
  if (tune.nc > 0) g.nc = static_cast<int>(ceil_div(tune.nc, g.nr) * g.nr);  // whole panels
  if (tune.a_in_place_max_cols >= 0) g.a_in_place_max_cols = tune.a_in_place_max_cols;

  Problem P{ta, tb, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc, ep.bias, static_cast<int>(ep.act), true, true,
            false};
  P.transpose = g.transpose;
  P.transpose_block = g.transpose_block;
  // Packing is a choice made from the shape alone (never the thread count), and reading
  // in place gives the same bits as packing (alpha is folded only when B is packed).
  // Measured on Zen3 (bench_gemm_cpp --pack-a/--pack-b, 1 thread, GFLOP/s):
  //   A in place wins while A is small (m*k <= 32K floats: 64x256x256 73 vs 68,
  //   32x64x64 51 vs 47) or reused by few B panels (n <= 4 NR: 128x64x64 70 vs 54); packing
  //   wins on big A (2048^3 72 vs 67, 512x2048x2048 67 vs 62).
  //   A transposed A read in place (column-major panels) wins only when few B panels reuse
  //   it (n <= 4 NR; 2026-11-28, best of 5, us in place / packed: 128x10x128 9.0 / 21.3,
  //   64x64x32 5.3 / 6.5, 256x64x128 51 / 66, 1024x64x512 1059 / 1094; but 64x256x64 42 / 32
  //   and 128x256x128 123 / 110 lose, even with a small A).
  //   B in place wins when each B panel serves few A panels (m <= 6 MR: 32x64x64 59 vs 51,
  //   16x64x64 57 vs 48 GFLOP/s; 128x64x64 62 vs 70 and 64x256x256 62 vs 73 lose) or when
  //   the panel is short (k <= 48, a few dozen cache lines that stay in L1: 64x64x32 4.1 /
  //   4.8 us, 512x64x32 29.9 / 30.5, 128x64x48 10.3 / 11.4; 128x64x64 13.9 / 14.1 is a tie);
  //   it needs B row-major and alpha == 1 (nothing to fold).
  //   Kernels that read row-major A slowly (the scalar one re-interleaves it on every
  //   call) always get a packed A.
  //   A few rows (m <= skinny_max_m) are always read in place: the skinny kernel takes them.
  const bool a_in_place_pays = ta ? n <= 4 * g.nr
                                  : g.fast_unpacked_a &&
                                        (n <= 4 * g.nr || m * k <= 32768 || (g.skinny && m <= g.skinny_max_m));
  switch (tune.pack_a) {
    case PackMode::always: P.pack_a = true; break;
    case PackMode::never: P.pack_a = false; break;
    case PackMode::automatic:
      P.pack_a = !a_in_place_pays;
      // A transposed A read in place walks k with a stride of lda floats: only while A stays
      // in L2 (half of the 1 MiB of the CPUs with a_in_place_max_cols set). Zen 4, 1 thread,
      // CPU time, GFLOP/s packed / in place: 784x128x128 A^T@B 102.4 / 106.6 (A 100K floats),
      // 2048x128x512 A^T@B 102.3 / 78.0 (A 1M floats).
      P.a_in_place_narrow = ta ? m * k <= 131072 : g.fast_unpacked_a;
      break;
  }
  const bool b_direct_ok = !tb && alpha == 1.0f;
  switch (tune.pack_b) {
    case PackMode::always: P.pack_b = true; break;
    case PackMode::never: P.pack_b = !b_direct_ok; break;
    case PackMode::automatic: P.pack_b = !(b_direct_ok && (ceil_div(m, g.mr) <= 6 || k <= 48)); break;
  }

  int nt = nthreads > 0 ? nthreads : get_num_threads();
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < tune.parallel_min_flops) nt = 1;
  const int64_t tiles = ceil_div(m, g.mr) * ceil_div(n, g.nr);
  if (nt > tiles) nt = static_cast<int>(tiles);
#ifdef RANVIER_OPENMP
  if (omp_in_parallel()) nt = 1;  // called from someone's parallel region: stay serial
#else
  nt = 1;
#endif

  if (k == 1 && nt <= 1 && g.column && tune.skinny) {  // (FMA kernels: their arithmetic)
    float* brow = tl_s_buffer.get(static_cast<std::size_t>(n));
    if (!brow) throw std::bad_alloc();
    outer_product(P, brow, g.outer);
    return;
  }

  // One column (a one-unit layer and its dW): the column of op(B) times alpha gathered
  // once (what the packer would hold), then one FMA chain per row, k-block by k-block
  // like the tiled path (the same bits). Large problems that pay threads stay tiled.
  if (n == 1 && g.column && tune.skinny && nt <= 1) {
    float* bcol = tl_s_buffer.get(static_cast<std::size_t>(k));
    if (!bcol) throw std::bad_alloc();
    for (int64_t p = 0; p < k; ++p) bcol[p] = alpha * (tb ? b[p] : b[p * ldb]);
    const int64_t kstep = ceil_div(k, ceil_div(k, g.kc));
    for (int64_t pc = 0; pc < k; pc += kstep) {
      const int64_t kcb = min64(kstep, k - pc);
      const bool first = pc == 0, last = pc + kcb == k;
      g.column(kcb, ta ? a + pc * lda : a + pc, lda, ta, bcol + pc, c, ldc, m, first ? beta : 1.0f,
               last ? ep.bias : nullptr, last ? static_cast<int>(ep.act) : 0);
    }
    return;
  }

  // Parts: a few per thread (a partition of C that the pool's threads claim dynamically);
  // the bits never depend on it (see the header comment).
  int parts = nt <= 1 ? 1 : nt * std::max(1, pool_detail::pool_tuning().gemm_chunks_per_thread);

  // A few rows with A and B both read in place (a single-sample predict): one pass over
  // B with no padding rows, columns split between the threads (each element is computed
  // by the same arithmetic wherever the split falls, so the bits do not change).
  if (g.skinny && tune.skinny && m <= g.skinny_max_m && !ta && !P.pack_a && !P.pack_b) {
    const int64_t chunks = ceil_div(n, 8 * static_cast<int64_t>(g.nr));
    if (parts > chunks) parts = static_cast<int>(chunks);
    const bool ok = run_parts(parts, nt, flops, [&](int t) {
      return run_skinny(P, g, min64(n, split_point(chunks, parts, t) * 8 * g.nr),
                        min64(n, split_point(chunks, parts, t + 1) * 8 * g.nr));
    });
    if (!ok) throw std::bad_alloc();
    return;
  }

  // A small product on one thread with A read in place, in one k-block and one column
  // block (W2's 32x64 products): B packed whole when it must be (dX = dZ @ W^T), then the
  // tiles called directly, as run() would call them for it, without the split and blocking
  // arithmetic (about 100 ns a call, 4% of W2's step).
  if (nt <= 1 && !P.pack_a && k <= g.kc && (P.pack_b ? n <= g.nc : n % g.nr == 0) &&
      (!ta || m % g.mr == 0 || (g.a_col_exact_tails >> (m % g.mr) & 1u))) {
    const int64_t nq = ceil_div(n, g.nr);
    float* bpack = nullptr;
    if (P.pack_b) {
      bpack = tl_b_buffer.get(static_cast<std::size_t>(k * nq * g.nr));
      if (!bpack) throw std::bad_alloc();
      pack_b(P, g.nr, 0, k, 0, n, 0, nq, bpack);
    }
    const int64_t a_row = ta ? 1 : lda, a_stride = ta ? -lda : lda;
    for (int64_t q = 0; q < nq; ++q) {
      const int64_t j = q * g.nr;
      const float* bpanel = bpack ? bpack + q * k * g.nr : b + j;
      const int64_t b_stride = bpack ? g.nr : ldb;
      const int nn = static_cast<int>(min64(g.nr, n - j));
      for (int64_t i = 0; i < m; i += g.mr)
        g.ukernel(k, a + i * a_row, a_stride, bpanel, b_stride, c + i * ldc + j, ldc,
                  static_cast<int>(min64(g.mr, m - i)), nn, beta, ep.bias ? ep.bias + j : nullptr,
                  static_cast<int>(ep.act));
    }
    return;
  }

  if (parts > tiles) parts = static_cast<int>(tiles);
  const Split sp = choose_split(P, g, parts);
  if (!run_parts(parts, nt, flops, [&](int t) { return run(P, g, sp, t); })) throw std::bad_alloc();
}

namespace {
thread_local AlignedBuffer tl_round_a;  // round(op(A)), as stored
thread_local AlignedBuffer tl_round_b;  // round(op(B))
}  // namespace

void sgemm_rounded(RoundBlockFn round, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                   const GemmEpilogue& ep, int nthreads) {
  FtzScope ftz;
  const int64_t ar = ta ? k : m, ac = ta ? m : k;
  const int64_t br = tb ? n : k, bc = tb ? k : n;
  auto* ra = static_cast<float*>(tl_round_a.words(static_cast<std::size_t>(ar * ac)));
  auto* rb = static_cast<float*>(tl_round_b.words(static_cast<std::size_t>(br * bc)));
  if (!ra || !rb) throw std::bad_alloc();
  round(a, lda, ar, ac, ra);
  round(b, ldb, br, bc, rb);
  sgemm(ta, tb, m, n, k, alpha, ra, ac, rb, bc, beta, c, ldc, ep, nthreads);
}

}  // namespace ranvier
