// The avx2 row of the kernel table: one line per kernel family.
#include "kernels/kernel_table.h"

namespace ranvier {

void fill_gemm_avx2(GemmKernels& k);
void fill_gemv_avx2(GemvKernels& k);
void fill_vunary_avx2(VunaryKernels& k);
void fill_vloss_avx2(VlossKernels& k);
void fill_update_avx2(UpdateKernels& k);
void fill_vmerge_avx2(VmergeKernels& k);
void fill_f16round_avx2(F16RoundKernels& k);

void fill_kernels_avx2(KernelTable& t) {
  fill_gemm_avx2(t.gemm);
  fill_gemv_avx2(t.gemv);
  fill_vunary_avx2(t.vunary);
  fill_vloss_avx2(t.vloss);
  fill_update_avx2(t.update);
  fill_vmerge_avx2(t.vmerge);
  fill_f16round_avx2(t.f16round);
}

}  // namespace ranvier
