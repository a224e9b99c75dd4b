#pragma once

namespace ranvier {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3 + F16C, and the OS saves YMM state
  bool avx512f = false;   // AVX-512F, and the OS saves ZMM/opmask state
  bool avx512bf16 = false;  // avx512f + AVX512BW + AVX512_BF16 (vcvtne2ps2bf16, vdpbf16ps)
  // The microarchitecture, for the per-CPU tuning tables (gemm/gemm_config.cpp): the CPUID
  // vendor string ("AuthenticAMD", "GenuineIntel"; empty off x86) and the display family and
  // model (leaf 1, with the extended fields folded in as the vendors' manuals define them:
  // family 0x19 model 0x10-0x1F and 0x60-0x7F, 0xA0-0xAF are AMD Zen 4).
  char vendor[13] = {0};
  int family = 0;
  int model = 0;
};

// cpuid + xgetbv, read once.
const CpuFeatures& cpu_features();

}  // namespace ranvier
