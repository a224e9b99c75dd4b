// The avx512bf16 row of the kernel table: the avx512 row plus the bf16 GEMM kernels.
#include "kernels/kernel_table.h"

namespace ranvier {

void fill_bf16gemm_avx512bf16(Bf16GemmKernels& k);

void fill_kernels_avx512bf16(KernelTable& t) { fill_bf16gemm_avx512bf16(t.bf16gemm); }

}  // namespace ranvier
