// gemm/transpose_copy: the transposing copy both GEMM packers need when a packed panel's
// short side is strided in memory (B^T for dX = dZ @ W^T, a row-major A):
//   dst[p*dst_stride + r] = scale * src[r*ld + p]   for r < rows, p < len.
// The x86-64 baseline's 4x4 SSE blocks; the tiers' wider block kernels
// (GemmKernels::transpose) take the whole blocks before it where they exist.
#pragma once

#include <cstdint>

namespace ranvier {
namespace gemm_detail {

void transpose_copy(const float* src, std::int64_t ld, int rows, std::int64_t len, float scale, float* dst,
                    int dst_stride);

}  // namespace gemm_detail
}  // namespace ranvier
