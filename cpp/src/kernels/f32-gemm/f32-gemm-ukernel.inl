// f32 GEMM micro-kernel body, written once against the SIMD vocabulary and included
// by f32-gemm-6x16-avx2.cpp and f32-gemm-12x32-avx512.cpp. The including file has
// already opened its own per-ISA namespace, aliased `simd` to its ISA's vocabulary and
// defined `constexpr int MR` (rows of the register tile). No std:: templates here
// (this code is compiled with ISA flags; see the note in DESIGN/common.md).
//
// ---------------------------------------------------------------------------------
// Micro-kernel contract (the same for every ISA; NR = 2 * simd::kW)
//
//   ukernel(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act)
//
// computes one register tile of C, 1 <= m <= MR rows and 1 <= n <= NR columns:
//
//   acc[i][j] = sum_{p=0}^{kc-1} A(i,p) * B(p,j)   one FMA per p, p ascending, from 0.0f
//   C[i][j]   = acc[i][j] + beta * C[i][j]          as fmadd(beta, C, acc); beta == 0 never
//                                                   reads C (NaN/Inf in C do not propagate)
//   C[i][j]   = act(C[i][j] + bias[j])              only when bias != nullptr / act == relu
//
// The order of the FMAs for one C element depends only on kc (never on m, n, the
// A layout or the thread that runs it), which is what makes the driver's results
// independent of the thread count.
//
// Packed layouts:
//   A, a_stride == 0: packed micro-panel, A(i,p) = a[p*MR + i]. All MR rows are read
//                     (the packer zero-fills rows >= m; their results are dropped).
//   A, a_stride  > 0: unpacked row-major, A(i,p) = a[i*a_stride + p]. Only rows < m
//                     are read: rows >= m reuse row m-1 (computed, never stored).
//   A, a_stride  < 0: unpacked column-major (a transposed A read in place),
//                     A(i,p) = a[p*(-a_stride) + i]; like a packed panel, all MR rows
//                     must be readable (the driver packs a partial last panel instead).
//   B:                B(p,j) = b[p*b_stride + j] for 0 <= j < NR, all NR readable
//                     (b_stride == NR for a packed panel; columns >= n are padding).
// Edge tiles: only rows i < m and columns j < n of C are read or written; partial
// column vectors use masked loads/stores (load_tail/store_tail), so the kernel
// never touches C, or bias, past column n.
// relu is max(0, x) with NaN propagated (x86 max returns its second operand on NaN).
// Preconditions (the driver guarantees them): kc >= 1, 1 <= m <= MR, 1 <= n <= NR,
// a, b, c non-null, a_stride >= 0; act is 0 (none) or 1 (relu).
// ---------------------------------------------------------------------------------

constexpr int kVecs = 2;                 // column vectors per tile row
constexpr int NR = kVecs * simd::kW;     // columns of the register tile

// kAMode: 0 packed, 1 row-major, 2 column-major (the three A layouts above).
// kRows: rows of the tile computed (MR, or fewer for a short last tile: with m <= 4 the
// 4-row tile keeps 8 FMA chains in flight, enough for the FMA latency, and skips the
// work of the padding rows; each element's FMA chain is unchanged, so are its bits).
template <int kAMode, int kRows>
inline void ukernel_tile(std::int64_t kc, const float* a, std::int64_t a_stride, const float* b,
                         std::int64_t b_stride, float* c, std::int64_t ldc, int m, int n, float beta,
                         const float* bias, int act) {
  // Prefetch the C tile (for writing) while the k loop runs: C rows are ldc apart, so
  // each is its own cache line pair, usually not in L1, and its misses would otherwise
  // stall the epilogue of every tile.
#pragma GCC unroll 32
  for (int i = 0; i < kRows; ++i) {
    if (i >= m) break;
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
  }
  simd::vf acc[kRows][kVecs];
#pragma GCC unroll 32
  for (int i = 0; i < kRows; ++i) {
    acc[i][0] = simd::zero();
    acc[i][1] = simd::zero();
  }

  if (kAMode != 1) {
    const std::int64_t a_pstride = kAMode == 0 ? MR : -a_stride;  // a constant when packed
#pragma GCC unroll 2
    for (std::int64_t p = 0; p < kc; ++p) {
      const simd::vf b0 = simd::load(b);
      const simd::vf b1 = simd::load(b + simd::kW);
#pragma GCC unroll 32
      for (int i = 0; i < kRows; ++i) {
        const simd::vf ai = simd::set1(a[i]);
        acc[i][0] = simd::fmadd(ai, b0, acc[i][0]);
        acc[i][1] = simd::fmadd(ai, b1, acc[i][1]);
      }
      a += a_pstride;
      b += b_stride;
    }
  } else {
    const float* ar[kRows];
#pragma GCC unroll 32
    for (int i = 0; i < kRows; ++i) ar[i] = a + (i < m ? i : m - 1) * a_stride;
#pragma GCC unroll 2
    for (std::int64_t p = 0; p < kc; ++p) {
      const simd::vf b0 = simd::load(b);
      const simd::vf b1 = simd::load(b + simd::kW);
#pragma GCC unroll 32
      for (int i = 0; i < kRows; ++i) {
        const simd::vf ai = simd::set1(ar[i][p]);
        acc[i][0] = simd::fmadd(ai, b0, acc[i][0]);
        acc[i][1] = simd::fmadd(ai, b1, acc[i][1]);
      }
      b += b_stride;
    }
  }

  // Epilogue and store: rows < m, columns < n only.
  const simd::vf vbeta = simd::set1(beta);
  const bool read_c = beta != 0.0f;
  const bool relu = act == 1;
#pragma GCC unroll 32
  for (int i = 0; i < kRows; ++i) {
    if (i >= m) break;
    float* cr = c + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < kVecs; ++v) {
      const int nv = n - v * simd::kW;  // columns of this vector still inside the tile
      if (nv <= 0) break;
      simd::vf r = acc[i][v];
      float* cv = cr + v * simd::kW;
      if (nv >= simd::kW) {
        if (read_c) r = simd::fmadd(vbeta, simd::load(cv), r);
        if (bias) r = simd::add(r, simd::load(bias + v * simd::kW));
        if (relu) r = simd::max(simd::zero(), r);
        simd::store(cv, r);
      } else {
        if (read_c) r = simd::fmadd(vbeta, simd::load_tail(cv, nv), r);
        if (bias) r = simd::add(r, simd::load_tail(bias + v * simd::kW, nv));
        if (relu) r = simd::max(simd::zero(), r);
        simd::store_tail(cv, r, nv);
      }
    }
  }
}

void ukernel(std::int64_t kc, const float* a, std::int64_t a_stride, const float* b,
             std::int64_t b_stride, float* c, std::int64_t ldc, int m, int n, float beta,
             const float* bias, int act) {
  static_assert(MR > 4, "the short tile has 4 rows");
  if constexpr (MR > 8) {
    // An 8-row tile for a last tile of 5-8 rows (a batch of 32 is 12 + 12 + 8 rows): it
    // computes no padding rows (12 would waste a third of that tile), and 16 chains still
    // hide the FMA latency.
    if (m > 4 && m <= 8) {
      if (a_stride == 0)
        ukernel_tile<0, 8>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
      else if (a_stride > 0)
        ukernel_tile<1, 8>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
      else
        ukernel_tile<2, 8>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
      return;
    }
  }
  if (m > 4) {
    if (a_stride == 0)
      ukernel_tile<0, MR>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
    else if (a_stride > 0)
      ukernel_tile<1, MR>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
    else
      ukernel_tile<2, MR>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
  } else {
    if (a_stride == 0)
      ukernel_tile<0, 4>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
    else if (a_stride > 0)
      ukernel_tile<1, 4>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
    else
      ukernel_tile<2, 4>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
  }
}

// ---------------------------------------------------------------------------------
// Skinny kernel (contract in gemm-ukernel.h, GemmSkinnyFn): m <= 4 rows of C over all n
// columns, A and B read in place. The sums live in `work` (m x n floats, L1-resident for
// the usual widths), and B is read kP rows at a time, each row front to back: kP
// sequential streams the hardware prefetcher follows (a register-resident tile would walk
// B down its columns, one page per row). Per element the arithmetic is the micro-kernel's:
// FMAs from 0.0f with p ascending, then the same epilogue, so the same bits.

constexpr int kSkinnyMaxM = 4;
constexpr int kP = 8;  // rows of B per pass: 8 FMAs per load and store of a sum

// sums[j] (+)= sum_{t < P} x[t] * B(t, j) for the columns of one row of C;
// first: the sums start from 0.0f.
template <int P>
inline void skinny_pass(const float* x, const float* b, std::int64_t ldb, float* sums, std::int64_t n,
                        bool first) {
  simd::vf xv[P];
#pragma GCC unroll 8
  for (int t = 0; t < P; ++t) xv[t] = simd::set1(x[t]);
  std::int64_t j = 0;
  for (; j + simd::kW <= n; j += simd::kW) {
    simd::vf acc = first ? simd::zero() : simd::load(sums + j);
#pragma GCC unroll 8
    for (int t = 0; t < P; ++t) acc = simd::fmadd(xv[t], simd::load(b + t * ldb + j), acc);
    simd::store(sums + j, acc);
  }
  if (j < n) {
    const int nv = static_cast<int>(n - j);
    simd::vf acc = first ? simd::zero() : simd::load_tail(sums + j, nv);
#pragma GCC unroll 8
    for (int t = 0; t < P; ++t) acc = simd::fmadd(xv[t], simd::load_tail(b + t * ldb + j, nv), acc);
    simd::store_tail(sums + j, acc, nv);
  }
}

void skinny(std::int64_t kc, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
            std::int64_t ldc, int m, std::int64_t n, float beta, const float* bias, int act, float* work) {
  std::int64_t p = 0;
  for (; p + kP <= kc; p += kP)  // a block of B rows, then every row of C through it (L1)
    for (int i = 0; i < m; ++i) skinny_pass<kP>(a + i * lda + p, b + p * ldb, ldb, work + i * n, n, p == 0);
  for (; p < kc; ++p)
    for (int i = 0; i < m; ++i) skinny_pass<1>(a + i * lda + p, b + p * ldb, ldb, work + i * n, n, p == 0);

  // Epilogue: exactly ukernel's store.
  const simd::vf vbeta = simd::set1(beta);
  const bool read_c = beta != 0.0f;
  const bool relu = act == 1;
  for (int i = 0; i < m; ++i) {
    const float* sums = work + i * n;
    float* cr = c + i * ldc;
    for (std::int64_t j = 0; j < n; j += simd::kW) {
      const int nv = n - j < simd::kW ? static_cast<int>(n - j) : simd::kW;
      simd::vf r;
      if (nv == simd::kW) {
        r = simd::load(sums + j);
        if (read_c) r = simd::fmadd(vbeta, simd::load(cr + j), r);
        if (bias) r = simd::add(r, simd::load(bias + j));
        if (relu) r = simd::max(simd::zero(), r);
        simd::store(cr + j, r);
      } else {
        r = simd::load_tail(sums + j, nv);
        if (read_c) r = simd::fmadd(vbeta, simd::load_tail(cr + j, nv), r);
        if (bias) r = simd::add(r, simd::load_tail(bias + j, nv));
        if (relu) r = simd::max(simd::zero(), r);
        simd::store_tail(cr + j, r, nv);
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// One-column kernel (contract in gemm-ukernel.h, GemmColumnFn): C(i, 0) for rows i < m,
// each with the micro-kernel's arithmetic (FMAs from 0.0f, p ascending; fmadd(beta, C,
// acc); bias add; relu as max(0, x) keeping NaN), so the same bits as through ukernel.
// A dense layer with one unit (a regression head) and its dW otherwise run 16-wide tiles
// for one useful column.

inline float column_epilogue(float r, float* c, float beta, const float* bias, int act) {
  if (beta != 0.0f) r = __builtin_fmaf(beta, *c, r);
  if (bias) r = r + *bias;
  if (act == 1) r = 0.0f > r ? 0.0f : r;  // NaN and -0.0 kept, as max(0, x) in ukernel
  return r;
}

// kB x kW rows of a row-major A times the column b (see column): kB independent chains.
constexpr int kColumnBlocks = 32 / simd::kW;
template <int kB>
void column_rows(std::int64_t kc, const float* a, std::int64_t lda, const float* b, float* c, std::int64_t ldc,
                 float beta, const float* bias, int act) {
  simd::vf acc[kB];
#pragma GCC unroll 4
  for (int bb = 0; bb < kB; ++bb) acc[bb] = simd::zero();
  std::int64_t p = 0;
  for (; p + simd::kW <= kc; p += simd::kW) {
#pragma GCC unroll 4
    for (int bb = 0; bb < kB; ++bb) {
      simd::vf col[simd::kW];
      simd::transpose_square(a + bb * simd::kW * lda + p, lda, col);
#pragma GCC unroll 16
      for (int q = 0; q < simd::kW; ++q) acc[bb] = simd::fmadd(col[q], simd::set1(b[p + q]), acc[bb]);
    }
  }
  float out[kB * simd::kW];
#pragma GCC unroll 4
  for (int bb = 0; bb < kB; ++bb) simd::store(out + bb * simd::kW, acc[bb]);
  for (; p < kc; ++p)
    for (int r = 0; r < kB * simd::kW; ++r) out[r] = __builtin_fmaf(a[r * lda + p], b[p], out[r]);
  for (int r = 0; r < kB * simd::kW; ++r) c[r * ldc] = column_epilogue(out[r], c + r * ldc, beta, bias, act);
}

void column(std::int64_t kc, const float* a, std::int64_t lda, bool ta, const float* b, float* c,
            std::int64_t ldc, std::int64_t m, float beta, const float* bias, int act) {
  if (ta) {  // A(i, p) = a[p*lda + i]: rows are contiguous for each p, kW rows per vector
    constexpr int kV = 4;
    std::int64_t i = 0;
    for (; i + kV * simd::kW <= m; i += kV * simd::kW) {
      simd::vf acc[kV];
#pragma GCC unroll 4
      for (int v = 0; v < kV; ++v) acc[v] = simd::zero();
      for (std::int64_t p = 0; p < kc; ++p) {
        const simd::vf bp = simd::set1(b[p]);
#pragma GCC unroll 4
        for (int v = 0; v < kV; ++v) acc[v] = simd::fmadd(simd::load(a + p * lda + i + v * simd::kW), bp, acc[v]);
      }
      float out[kV * simd::kW];
#pragma GCC unroll 4
      for (int v = 0; v < kV; ++v) simd::store(out + v * simd::kW, acc[v]);
      for (int r = 0; r < kV * simd::kW; ++r) c[(i + r) * ldc] = column_epilogue(out[r], c + (i + r) * ldc, beta, bias, act);
    }
    for (; i < m; i += simd::kW) {
      const int nv = m - i < simd::kW ? static_cast<int>(m - i) : simd::kW;
      simd::vf acc = simd::zero();
      for (std::int64_t p = 0; p < kc; ++p)
        acc = simd::fmadd(simd::load_tail(a + p * lda + i, nv), simd::set1(b[p]), acc);
      float out[simd::kW];
      simd::store(out, acc);
      for (int r = 0; r < nv; ++r) c[(i + r) * ldc] = column_epilogue(out[r], c + (i + r) * ldc, beta, bias, act);
    }
    return;
  }
  // A(i, p) = a[i*lda + p]: one FMA chain per row. kW rows in the lanes of a vector: each
  // kW x kW block of A transposed in registers (simd::transpose_square), then kW vector
  // FMAs with p ascending, the last p < kW one row at a time; each row's chain is the
  // scalar one below (the same bits). Up to 32 rows per pass: independent chains.
  std::int64_t i0 = 0;
  for (; i0 + simd::kW <= m;) {
    const std::int64_t blocks = (m - i0) / simd::kW;
    if (blocks >= kColumnBlocks) {
      column_rows<kColumnBlocks>(kc, a + i0 * lda, lda, b, c + i0 * ldc, ldc, beta, bias, act);
      i0 += kColumnBlocks * simd::kW;
    } else {
      column_rows<1>(kc, a + i0 * lda, lda, b, c + i0 * ldc, ldc, beta, bias, act);
      i0 += simd::kW;
    }
  }
  // The last rows: 8 interleaved scalar chains.
  constexpr int kRows = 8;
  for (; i0 < m; i0 += kRows) {
    const int rows = m - i0 < kRows ? static_cast<int>(m - i0) : kRows;
    float acc[kRows] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const float* ar = a + i0 * lda;
    if (rows == kRows) {
      for (std::int64_t p = 0; p < kc; ++p) {
        const float bp = b[p];
#pragma GCC unroll 8
        for (int r = 0; r < kRows; ++r) acc[r] = __builtin_fmaf(ar[r * lda + p], bp, acc[r]);
      }
    } else {
      for (std::int64_t p = 0; p < kc; ++p)
        for (int r = 0; r < rows; ++r) acc[r] = __builtin_fmaf(ar[r * lda + p], b[p], acc[r]);
    }
    for (int r = 0; r < rows; ++r) c[(i0 + r) * ldc] = column_epilogue(acc[r], c + (i0 + r) * ldc, beta, bias, act);
  }
}

// GemmOuterFn (contract in gemm-ukernel.h): one row of C per a[i], vectors over j.
void outer(std::int64_t m, std::int64_t n, const float* a, std::int64_t a_step, const float* b, float* c,
           std::int64_t ldc, float beta, const float* bias, int act) {
  const simd::vf vbeta = simd::set1(beta);
  const bool read_c = beta != 0.0f, relu = act == 1;
  for (std::int64_t i = 0; i < m; ++i) {
    const simd::vf ai = simd::set1(a[i * a_step]);
    float* cr = c + i * ldc;
    for (std::int64_t j = 0; j < n; j += simd::kW) {
      const int nv = n - j < simd::kW ? static_cast<int>(n - j) : simd::kW;
      const bool full = nv == simd::kW;
      simd::vf r = simd::add(simd::mul(ai, full ? simd::load(b + j) : simd::load_tail(b + j, nv)), simd::zero());
      if (read_c) r = simd::fmadd(vbeta, full ? simd::load(cr + j) : simd::load_tail(cr + j, nv), r);
      if (bias) r = simd::add(r, full ? simd::load(bias + j) : simd::load_tail(bias + j, nv));
      if (relu) r = simd::max(simd::zero(), r);
      if (full)
        simd::store(cr + j, r);
      else
        simd::store_tail(cr + j, r, nv);
    }
  }
}
