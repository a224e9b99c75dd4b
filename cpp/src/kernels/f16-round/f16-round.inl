// f16 rounding with F16C, included by the avx2 and avx512 kernel files (which define
// RV_F16_FILL, the fill function's name, and RV_F16_NAME). Eight values at a time:
// vcvtps2ph (round to nearest even, exceptions suppressed) then vcvtph2ps; the tail
// through a zero-padded vector (the same instruction, so the same bits).
#include <immintrin.h>

#include <cstring>

#include "kernels/kernel_table.h"

namespace ranvier {

namespace {

inline __m256 round8(__m256 v) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

void round_f16_f16c(const float* src, std::int64_t ld, std::int64_t rows, std::int64_t cols, float* dst) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * ld;
    float* d = dst + r * cols;
    std::int64_t c = 0;
    for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(d + c, round8(_mm256_loadu_ps(s + c)));
    if (c < cols) {
      alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const std::size_t n = static_cast<std::size_t>(cols - c);
      std::memcpy(t, s + c, n * sizeof(float));
      _mm256_store_ps(t, round8(_mm256_load_ps(t)));
      std::memcpy(d + c, t, n * sizeof(float));
    }
  }
}

}  // namespace

void RV_F16_FILL(F16RoundKernels& k) {
  k.name = RV_F16_NAME;
  k.round = round_f16_f16c;
}

}  // namespace ranvier
