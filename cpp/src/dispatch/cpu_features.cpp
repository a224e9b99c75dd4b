#include "dispatch/cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define RANVIER_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

#include <cstdint>
#include <cstring>

namespace ranvier {

#ifdef RANVIER_X86
namespace {

void cpuid(unsigned leaf, unsigned sub, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  __cpuid_count(leaf, sub, regs[0], regs[1], regs[2], regs[3]);
#endif
}

std::uint64_t xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  // xgetbv with ecx=0 (XCR0); encoded as bytes so no -mxsave is needed.
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  std::memcpy(f.vendor, &r[1], 4);  // EBX, EDX, ECX spell the vendor string
  std::memcpy(f.vendor + 4, &r[3], 4);
  std::memcpy(f.vendor + 8, &r[2], 4);
  f.vendor[12] = '\0';
  if (max_leaf < 1) return f;
  cpuid(1, 0, r);
  {
    const int base_family = static_cast<int>((r[0] >> 8) & 0xF), base_model = static_cast<int>((r[0] >> 4) & 0xF);
    const int ext_family = static_cast<int>((r[0] >> 20) & 0xFF), ext_model = static_cast<int>((r[0] >> 16) & 0xF);
    f.family = base_family == 0xF ? base_family + ext_family : base_family;
    f.model = (base_family == 0xF || base_family == 0x6) ? (ext_model << 4) + base_model : base_model;
  }
  if (max_leaf < 7) return f;
  const bool osxsave = (r[2] >> 27) & 1;
  const bool avx = (r[2] >> 28) & 1;
  const bool fma = (r[2] >> 12) & 1;
  const bool f16c = (r[2] >> 29) & 1;  // every AVX2 CPU has it; the avx2 tier's half conversions
  if (!osxsave || !avx) return f;
  const std::uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  cpuid(7, 0, r);
  const bool avx2 = (r[1] >> 5) & 1;
  const bool avx512f = (r[1] >> 16) & 1;
  const bool avx512bw = (r[1] >> 30) & 1;
  const unsigned max_sub7 = r[0];
  f.avx2_fma = avx2 && fma && f16c && os_ymm;
  f.avx512f = f.avx2_fma && avx512f && os_zmm;
  if (max_sub7 >= 1) {
    cpuid(7, 1, r);
    const bool bf16 = (r[0] >> 5) & 1;  // CPUID.(EAX=7,ECX=1):EAX[5] AVX512_BF16
    f.avx512bf16 = f.avx512f && avx512bw && bf16;
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}
#else
const CpuFeatures& cpu_features() {
  static const CpuFeatures f{};
  return f;
}
#endif

}  // namespace ranvier
