// f16 rounding, portable integer arithmetic (contract in f16-round.h).
#include <cstring>

#include "kernels/kernel_table.h"

namespace ranvier {

float round_to_f16_scalar(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  const std::uint32_t sign = u & 0x80000000u;
  std::uint32_t a = u ^ sign;  // |x|
  if (a >= 0x7F800000u) return x;                 // inf, NaN
  if (a >= 0x477FF000u) {                         // >= 65520: past the last midpoint
    a = 0x7F800000u;
  } else if (a >= 0x38800000u) {                  // >= 2**-14: a normal half, 10 mantissa bits
    a = (a + 0xFFFu + ((a >> 13) & 1u)) & 0xFFFFE000u;
  } else if (a < 0x33000000u) {                   // < 2**-25 (half of 2**-24): zero
    a = 0u;
  } else {                                        // a half subnormal: a multiple of 2**-24
    // |x| = m * 2**(e - 150), m the 24-bit significand, e the biased exponent (102 .. 112);
    // the quantum 2**-24 is 2**shift units of m's last place, shift = 126 - e (14 .. 24).
    const std::uint32_t e = a >> 23;
    const std::uint32_t m = (a & 0x007FFFFFu) | 0x00800000u;
    const std::uint32_t shift = 126u - e;
    std::uint32_t q = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    // q * 2**-24 as a float32 (q <= 1024: exact)
    float y = static_cast<float>(q) * 5.9604644775390625e-8f;
    std::memcpy(&a, &y, 4);
  }
  a |= sign;
  float y;
  std::memcpy(&y, &a, 4);
  return y;
}

namespace {

void round_f16_scalar(const float* src, std::int64_t ld, std::int64_t rows, std::int64_t cols, float* dst) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * ld;
    float* d = dst + r * cols;
    for (std::int64_t c = 0; c < cols; ++c) d[c] = round_to_f16_scalar(s[c]);
  }
}

}  // namespace

void fill_f16round_scalar(F16RoundKernels& k) {
  k.name = "f16-round-scalar";
  k.round = round_f16_scalar;
}

}  // namespace ranvier
