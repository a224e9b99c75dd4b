// Placeholder driver (packing + micro-kernel, single thread) until the tuned one lands.
#include "gemm/gemm.h"

#include <algorithm>
#include <vector>

#include "dispatch/dispatch.h"

namespace ranvier {

void sgemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
           std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
           const GemmEpilogue& ep, int) {
  const GemmKernels& g = kernels().gemm;
  const int MR = g.mr, NR = g.nr;
  auto A = [&](std::int64_t i, std::int64_t p) { return ta ? a[p * lda + i] : a[i * lda + p]; };
  auto B = [&](std::int64_t p, std::int64_t j) { return tb ? b[j * ldb + p] : b[p * ldb + j]; };
  if (k == 0) {
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        float v = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        if (ep.bias) v += ep.bias[j];
        if (ep.act == GemmAct::relu && v < 0) v = 0;
        c[i * ldc + j] = v;
      }
    return;
  }
  std::vector<float> ap(static_cast<size_t>(MR * k)), bp(static_cast<size_t>(NR * k));
  for (std::int64_t j0 = 0; j0 < n; j0 += NR) {
    int nn = static_cast<int>(std::min<std::int64_t>(NR, n - j0));
    for (std::int64_t p = 0; p < k; ++p)
      for (int j = 0; j < NR; ++j) bp[p * NR + j] = j < nn ? B(p, j0 + j) : 0.0f;
    for (std::int64_t i0 = 0; i0 < m; i0 += MR) {
      int mm = static_cast<int>(std::min<std::int64_t>(MR, m - i0));
      for (std::int64_t p = 0; p < k; ++p)
        for (int i = 0; i < MR; ++i) ap[p * MR + i] = i < mm ? alpha * A(i0 + i, p) : 0.0f;
      g.ukernel(k, ap.data(), bp.data(), c + i0 * ldc + j0, ldc, mm, nn, beta,
                ep.bias ? ep.bias + j0 : nullptr, static_cast<int>(ep.act));
    }
  }
}

}  // namespace ranvier
