// The scalar row of the kernel table: one line per kernel family.
#include "kernels/kernel_table.h"

namespace ranvier {

void fill_gemm_scalar(GemmKernels& k);
void fill_vunary_scalar(VunaryKernels& k);
void fill_vloss_scalar(VlossKernels& k);
void fill_update_scalar(UpdateKernels& k);
void fill_vmerge_scalar(VmergeKernels& k);
void fill_f16round_scalar(F16RoundKernels& k);

void fill_kernels_scalar(KernelTable& t) {
  fill_gemm_scalar(t.gemm);
  fill_vunary_scalar(t.vunary);
  fill_vloss_scalar(t.vloss);
  fill_update_scalar(t.update);
  fill_vmerge_scalar(t.vmerge);
  fill_f16round_scalar(t.f16round);
}

}  // namespace ranvier
