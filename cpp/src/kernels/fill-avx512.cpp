// The avx512 row of the kernel table: one line per kernel family.
#include "kernels/kernel_table.h"

namespace ranvier {

void fill_gemm_avx512(GemmKernels& k);
void fill_gemv_avx512(GemvKernels& k);
void fill_vunary_avx512(VunaryKernels& k);
void fill_vloss_avx512(VlossKernels& k);
void fill_update_avx512(UpdateKernels& k);
void fill_vmerge_avx512(VmergeKernels& k);

void fill_kernels_avx512(KernelTable& t) {
  fill_gemm_avx512(t.gemm);
  fill_gemv_avx512(t.gemv);
  fill_vunary_avx512(t.vunary);
  fill_vloss_avx512(t.vloss);
  fill_update_avx512(t.update);
  fill_vmerge_avx512(t.vmerge);
}

}  // namespace ranvier
