// f16 rounding family: float32 values rounded to IEEE half precision (binary16) and held
// in float32, the inputs of the mixed_float16 GEMM (gemm/f16_gemm.h).
//
// The rounding is IEEE's conversion to binary16: round to nearest, ties to even; values
// from 65520 up (the midpoint past the largest half, 65504) become infinity; half
// subnormals (multiples of 2**-24 below 2**-14) are kept, smaller values round to a
// signed zero; NaN stays NaN; +-inf stay. Every half value is exact in float32 (half
// subnormals are float32 normals), so holding them in float32 loses nothing, and
// flush-to-zero never touches them. The scalar kernel does it in integer arithmetic;
// the avx2 and avx512 ones with F16C (vcvtps2ph with round-to-nearest, then vcvtph2ps):
// the same bits (tests/test_mixed_float16.py).
#pragma once

#include <cstdint>

namespace ranvier {

// dst[r*cols + c] = f16(src[r*ld + c]) for r < rows, c < cols (dst packed tight; dst == src
// with ld == cols rounds in place).
using F16RoundFn = void (*)(const float* src, std::int64_t ld, std::int64_t rows, std::int64_t cols, float* dst);

struct F16RoundKernels {
  const char* name = nullptr;
  F16RoundFn round = nullptr;  // every tier has one (the scalar kernel below avx2)
};

// The rounding of one value, in integer arithmetic (the scalar kernel's).
float round_to_f16_scalar(float x);

}  // namespace ranvier
