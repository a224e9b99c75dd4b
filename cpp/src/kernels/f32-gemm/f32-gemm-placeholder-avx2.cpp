#include "kernels/f32-gemm/gemm-ukernel.h"
namespace ranvier {
void fill_gemm_avx2(GemmKernels&) {}  // placeholder: keeps the scalar kernel
}  // namespace ranvier
