#pragma once

namespace ranvier {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3, and the OS saves YMM state
  bool avx512f = false;   // AVX-512F, and the OS saves ZMM/opmask state
};

// cpuid + xgetbv, read once.
const CpuFeatures& cpu_features();

}  // namespace ranvier
