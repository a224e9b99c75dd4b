#pragma once

namespace ranvier {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3, and the OS saves YMM state
  bool avx512f = false;   // AVX-512F, and the OS saves ZMM/opmask state
  bool avx512bf16 = false;  // avx512f + AVX512BW + AVX512_BF16 (vcvtne2ps2bf16, vdpbf16ps)
};

// cpuid + xgetbv, read once.
const CpuFeatures& cpu_features();

}  // namespace ranvier
