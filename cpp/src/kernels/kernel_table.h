// One table of kernel pointers, one sub-table per family. Each family declares
// its sub-table in its own header; each ISA fills it from its kernel files.
// Only plain structs of function pointers and sizes live here (no inline code),
// so including it from a kernel file compiled with ISA flags is safe.
#pragma once

#include "kernels/bf16-gemm/bf16-gemm-ukernel.h"
#include "kernels/f16-round/f16-round.h"
#include "kernels/f32-gemm/gemm-ukernel.h"
#include "kernels/f32-gemv/gemv.h"
#include "kernels/f32-vloss/vloss.h"
#include "kernels/f32-vmerge/vmerge.h"
#include "kernels/f32-vunary/vunary.h"
#include "kernels/f32-update/update.h"

namespace ranvier {

struct KernelTable {
  int isa = 0;  // an Isa, as int
  GemmKernels gemm;
  GemvKernels gemv;          // empty (gemv == nullptr) on the scalar tier
  Bf16GemmKernels bf16gemm;  // empty (ukernel == nullptr) below the avx512bf16 tier
  F16RoundKernels f16round;  // mixed_float16: the rounding of the GEMM inputs to half
  VunaryKernels vunary;
  VlossKernels vloss;
  UpdateKernels update;
  VmergeKernels vmerge;      // the merge layers (layers/merge.cpp)
};

// Filled by the kernel files of each ISA (declared here, defined there).
void fill_kernels_scalar(KernelTable& table);
void fill_kernels_avx2(KernelTable& table);
void fill_kernels_avx512(KernelTable& table);
void fill_kernels_avx512bf16(KernelTable& table);

}  // namespace ranvier
