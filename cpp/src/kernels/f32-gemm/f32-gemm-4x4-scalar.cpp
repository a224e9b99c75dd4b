// f32-gemm-4x4-scalar: portable micro-kernel (placeholder body; see contract in gemm-ukernel.h).
#include "kernels/f32-gemm/gemm-ukernel.h"

namespace ranvier {
namespace {

constexpr int MR = 4, NR = 4;

void ukernel(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc, int m, int n,
             float beta, const float* bias, int act) {
  float acc[MR][NR] = {};
  for (std::int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[p * MR + i] * b[p * NR + j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float v = acc[i][j];
      if (beta != 0.0f) v += beta * c[i * ldc + j];
      if (bias) v += bias[j];
      if (act == 1 && !(v > 0.0f)) v = (v != v) ? v : 0.0f;
      c[i * ldc + j] = v;
    }
}

}  // namespace

void fill_gemm_scalar(GemmKernels& k) {
  k.name = "f32-gemm-4x4-scalar";
  k.mr = MR; k.nr = NR; k.kc = 256; k.mc = 64; k.nc = 1024;
  k.ukernel = ukernel;
}

}  // namespace ranvier
