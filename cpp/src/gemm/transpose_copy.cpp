// gemm/transpose_copy: the packers' transposing copy (see transpose_copy.h).
#include "gemm/transpose_copy.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace ranvier {
namespace gemm_detail {

// The transposing copy both packers need when the packed panel's short side is strided
// in memory:  dst[p*dst_stride + r] = scale * src[r*ld + p]  for r < rows, p < len.
// 4x4 blocks go through SSE registers (the x86-64 baseline, no ISA flags needed);
// edges, and other architectures, take the scalar loop.
void transpose_copy(const float* src, std::int64_t ld, int rows, std::int64_t len, float scale, float* dst,
                    int dst_stride) {
  int r0 = 0;
#if defined(__SSE2__) || defined(_M_X64)
  const __m128 vs = _mm_set1_ps(scale);
  for (; r0 + 4 <= rows; r0 += 4) {
    const float* s0 = src + r0 * ld;
    const float* s1 = s0 + ld;
    const float* s2 = s1 + ld;
    const float* s3 = s2 + ld;
    std::int64_t p = 0;
    for (; p + 4 <= len; p += 4) {
      __m128 x0 = _mm_loadu_ps(s0 + p), x1 = _mm_loadu_ps(s1 + p);
      __m128 x2 = _mm_loadu_ps(s2 + p), x3 = _mm_loadu_ps(s3 + p);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      float* d = dst + p * dst_stride + r0;
      _mm_storeu_ps(d, _mm_mul_ps(vs, x0));
      _mm_storeu_ps(d + dst_stride, _mm_mul_ps(vs, x1));
      _mm_storeu_ps(d + 2 * dst_stride, _mm_mul_ps(vs, x2));
      _mm_storeu_ps(d + 3 * dst_stride, _mm_mul_ps(vs, x3));
    }
    for (; p < len; ++p) {
      float* d = dst + p * dst_stride + r0;
      d[0] = scale * s0[p];
      d[1] = scale * s1[p];
      d[2] = scale * s2[p];
      d[3] = scale * s3[p];
    }
  }
  for (; r0 + 2 <= rows; r0 += 2) {  // two rows: interleave pairs (a 6-row panel's last two)
    const float* s0 = src + r0 * ld;
    const float* s1 = s0 + ld;
    std::int64_t p = 0;
    for (; p + 4 <= len; p += 4) {
      const __m128 x0 = _mm_mul_ps(vs, _mm_loadu_ps(s0 + p)), x1 = _mm_mul_ps(vs, _mm_loadu_ps(s1 + p));
      const __m128 lo = _mm_unpacklo_ps(x0, x1), hi = _mm_unpackhi_ps(x0, x1);
      float* d = dst + p * dst_stride + r0;
      _mm_storel_pi(reinterpret_cast<__m64*>(d), lo);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + dst_stride), lo);
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 2 * dst_stride), hi);
      _mm_storeh_pi(reinterpret_cast<__m64*>(d + 3 * dst_stride), hi);
    }
    for (; p < len; ++p) {
      float* d = dst + p * dst_stride + r0;
      d[0] = scale * s0[p];
      d[1] = scale * s1[p];
    }
  }
#endif
  for (int r = r0; r < rows; ++r) {
    const float* sr = src + r * ld;
    for (std::int64_t p = 0; p < len; ++p) dst[p * dst_stride + r] = scale * sr[p];
  }
}

}  // namespace gemm_detail
}  // namespace ranvier
