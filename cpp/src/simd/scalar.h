// SIMD vocabulary, portable baseline: one float per "register".
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ranvier {
namespace simd_scalar {

using vf = float;
using mask = bool;
constexpr int kW = 1;
constexpr const char* kIsaName = "scalar";

inline vf zero() { return 0.0f; }
inline vf set1(float x) { return x; }
inline vf load(const float* p) { return *p; }
inline void store(float* p, vf v) { *p = v; }
inline vf load_tail(const float* p, int n) { return n > 0 ? *p : 0.0f; }
inline void store_tail(float* p, vf v, int n) { if (n > 0) *p = v; }

inline vf add(vf a, vf b) { return a + b; }
inline vf sub(vf a, vf b) { return a - b; }
inline vf mul(vf a, vf b) { return a * b; }
inline vf div(vf a, vf b) { return a / b; }
inline vf fmadd(vf a, vf b, vf c) { return a * b + c; }
inline vf fnmadd(vf a, vf b, vf c) { return c - a * b; }
// NaN handling follows x86 maxps/minps: if either is NaN, the second operand is returned.
inline vf min(vf a, vf b) { return a < b ? a : b; }
inline vf max(vf a, vf b) { return a > b ? a : b; }
inline vf abs(vf a) { return std::fabs(a); }
inline vf neg(vf a) { return -a; }
inline vf sqrt(vf a) { return std::sqrt(a); }
inline vf floor(vf a) { return std::floor(a); }

inline mask lt(vf a, vf b) { return a < b; }
inline mask le(vf a, vf b) { return a <= b; }
inline mask gt(vf a, vf b) { return a > b; }
inline mask ge(vf a, vf b) { return a >= b; }
inline mask eq(vf a, vf b) { return a == b; }
inline mask isnan(vf a) { return a != a; }
inline mask mask_and(mask a, mask b) { return a && b; }
inline mask mask_or(mask a, mask b) { return a || b; }
inline vf select(mask m, vf a, vf b) { return m ? a : b; }
// Added for the vunary/vmath kernels: lanes [0, n) true; logical not of a mask.
inline mask mask_first(int n) { return n > 0; }
inline mask mask_not(mask a) { return !a; }
// Added for vmath: a*b + c with ONE rounding on every ISA (fmadd may round twice here).
inline vf fmadd_exact(vf a, vf b, vf c) { return std::fma(a, b, c); }

inline float reduce_add(vf a) { return a; }
inline float reduce_max(vf a) { return a; }

inline vf pow2n(vf n) {
  std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
inline vf exponent(vf x) {
  std::int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return static_cast<float>(((bits >> 23) & 0xff) - 127);
}
inline vf mantissa(vf x) {
  std::int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits = (bits & 0x007fffff) | 0x3f800000;
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}

}  // namespace simd_scalar
}  // namespace ranvier
