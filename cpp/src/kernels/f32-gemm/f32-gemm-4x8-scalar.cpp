// f32-gemm-4x8-scalar: portable micro-kernel, 4 rows x 8 columns, plain C++ loops.
//
// Contract (the same as the SIMD kernels, see f32-gemm-ukernel.inl, with MR = 4, NR = 8):
//   acc[i][j] = sum_{p<kc} A(i,p) * B(p,j)   p ascending from 0.0f (acc += a*b; the
//                                            baseline has no FMA, so mul then add)
//   C[i][j]   = acc[i][j] + beta * C[i][j]   beta == 0 never reads C
//   C[i][j]   = act(C[i][j] + bias[j])       bias may be nullptr; act 1 = relu (NaN kept)
// for rows i < m <= 4 and columns j < n <= 8 only.
//   A: a_stride == 0 -> packed, A(i,p) = a[p*4 + i] (all 4 rows readable);
//      a_stride  > 0 -> row-major, A(i,p) = a[i*a_stride + p], rows >= m never read;
//      a_stride  < 0 -> column-major, A(i,p) = a[p*(-a_stride) + i] (all 4 rows readable).
//   B: B(p,j) = b[p*b_stride + j], all 8 columns readable.
// The loops have constant trip counts over a 4x8 accumulator block, so the compiler
// keeps it in registers and vectorizes the j loop with the baseline's SIMD (SSE2 on
// x86-64: 8 xmm accumulators; NEON on aarch64).
#include <cstdint>

#include "kernels/f32-gemm/gemm-ukernel.h"

namespace ranvier {
namespace gemm_scalar {

constexpr int MR = 4, NR = 8;

// acc += A_panel(MR x kc, A(i,p) = a[p*a_pstride + i]; packed: a_pstride == MR) @ B_panel(kc x NR).
inline void accumulate(float (&acc)[MR][NR], std::int64_t kc, const float* __restrict a,
                       std::int64_t a_pstride, const float* __restrict b, std::int64_t b_stride) {
  for (std::int64_t p = 0; p < kc; ++p) {
    const float* ap = a + p * a_pstride;
    const float* bp = b + p * b_stride;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += ap[i] * bp[j];
  }
}

void ukernel(std::int64_t kc, const float* a, std::int64_t a_stride, const float* b,
             std::int64_t b_stride, float* c, std::int64_t ldc, int m, int n, float beta,
             const float* bias, int act) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  if (a_stride == 0) {
    accumulate(acc, kc, a, MR, b, b_stride);
  } else if (a_stride < 0) {
    accumulate(acc, kc, a, -a_stride, b, b_stride);
  } else {
    // Row-major A: interleave it chunk by chunk into a small stack buffer and run the
    // packed loop (same products in the same order, so the same bits). Reading the rows
    // directly makes GCC vectorize along k instead, 4x slower. Rows >= m repeat row m-1.
    // Still slower than a packed A (redone for every B panel): fast_unpacked_a = false.
    constexpr std::int64_t kChunk = 64;
    float buf[kChunk * MR];
    for (std::int64_t p0 = 0; p0 < kc; p0 += kChunk) {
      const std::int64_t len = kc - p0 < kChunk ? kc - p0 : kChunk;
      for (int i = 0; i < MR; ++i) {
        const float* row = a + (i < m ? i : m - 1) * a_stride + p0;
        for (std::int64_t p = 0; p < len; ++p) buf[p * MR + i] = row[p];
      }
      accumulate(acc, len, buf, MR, b + p0 * b_stride, b_stride);
    }
  }
  for (int i = 0; i < m; ++i) {
    float* cr = c + i * ldc;
    for (int j = 0; j < n; ++j) {
      float v = acc[i][j];
      if (beta != 0.0f) v = beta * cr[j] + v;
      if (bias) v += bias[j];
      if (act == 1) v = 0.0f > v ? 0.0f : v;  // NaN propagates
      cr[j] = v;
    }
  }
}

}  // namespace gemm_scalar

// Block sizes (portable; tuned for nothing in particular):
//   kc * NR * 4 B = 256 * 8 * 4 = 8 KB B micro-panel in L1; mc * kc * 4 B = 128 KB A block in L2.
void fill_gemm_scalar(GemmKernels& k) {
  k.name = "f32-gemm-4x8-scalar";
  k.mr = gemm_scalar::MR;
  k.nr = gemm_scalar::NR;
  k.kc = 256;
  k.mc = 128;
  k.nc = 4096;
  k.ukernel = gemm_scalar::ukernel;
  k.fast_unpacked_a = false;
}

}  // namespace ranvier
