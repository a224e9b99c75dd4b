// f32 GEMM micro-kernel family: the entry in the kernel table.
// (The contract of each micro-kernel is written at the top of its file.)
#pragma once

#include <cstdint>

namespace ranvier {

// Activation fused into the GEMM store (the epilogue).
enum class GemmAct : int { none = 0, relu = 1 };

// C[0:m, 0:n] (+)= A_panel(MR x kc) * B_panel(kc x NR), then on the last
// k-block the epilogue. See f32-gemm-*.cpp for the exact contract.
using GemmUkernelFn = void (*)(std::int64_t kc, const float* a_packed, const float* b_packed,
                               float* c, std::int64_t ldc, int m, int n, float beta,
                               const float* bias, int act);

struct GemmKernels {
  const char* name = nullptr;
  int mr = 0, nr = 0;        // register tile
  int kc = 0, mc = 0, nc = 0;  // cache blocking
  GemmUkernelFn ukernel = nullptr;
};

}  // namespace ranvier
