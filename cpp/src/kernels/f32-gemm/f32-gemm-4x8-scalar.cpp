// f32-gemm-4x8-scalar: portable micro-kernel, 4 rows x 8 columns, plain C++ loops.
//
// Contract (the same as the SIMD kernels, see f32-gemm-ukernel.inl, with MR = 4, NR = 8):
//   acc[i][j] = sum_{p<kc} A(i,p) * B(p,j)   p ascending from 0.0f (acc += a*b; the
//                                            baseline has no FMA, so mul then add)
//   C[i][j]   = acc[i][j] + beta * C[i][j]   beta == 0 never reads C
//   C[i][j]   = act(C[i][j] + bias[j])       bias may be nullptr; act 1 = relu (NaN kept)
// for rows i < m <= 4 and columns j < n <= 8 only.
//   A: a_stride == 0 -> packed, A(i,p) = a[p*4 + i] (all 4 rows readable);
//      a_stride  > 0 -> row-major, A(i,p) = a[i*a_stride + p], rows >= m never read.
//   B: B(p,j) = b[p*b_stride + j], all 8 columns readable.
// The loops have constant trip counts over a 4x8 accumulator block, so the compiler
// keeps it in registers and vectorizes the j loop with the baseline's SIMD (SSE2 on
// x86-64: 8 xmm accumulators; NEON on aarch64).
#include <cstdint>

#include "kernels/f32-gemm/gemm-ukernel.h"

namespace ranvier {
namespace gemm_scalar {

constexpr int MR = 4, NR = 8;

template <bool kPackedA>
inline void ukernel_tile(std::int64_t kc, const float* __restrict a, std::int64_t a_stride,
                         const float* __restrict b, std::int64_t b_stride, float* __restrict c,
                         std::int64_t ldc, int m, int n, float beta, const float* __restrict bias,
                         int act) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  const float* ar[MR];
  for (int i = 0; i < MR; ++i) ar[i] = a + (i < m ? i : m - 1) * a_stride;
  for (std::int64_t p = 0; p < kc; ++p) {
    float ap[MR];
    for (int i = 0; i < MR; ++i) ap[i] = kPackedA ? a[p * MR + i] : ar[i][p];
    const float* bp = b + p * b_stride;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += ap[i] * bp[j];
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

void ukernel(std::int64_t kc, const float* a, std::int64_t a_stride, const float* b,
             std::int64_t b_stride, float* c, std::int64_t ldc, int m, int n, float beta,
             const float* bias, int act) {
  if (a_stride == 0)
    ukernel_tile<true>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
  else
    ukernel_tile<false>(kc, a, a_stride, b, b_stride, c, ldc, m, n, beta, bias, act);
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
}

}  // namespace ranvier
