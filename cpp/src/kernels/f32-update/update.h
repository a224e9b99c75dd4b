// f32 fused optimizer updates over the flat parameter buffer: the kernel-table entry.
#pragma once

#include <cstdint>

namespace ranvier {

struct UpdateKernels {
  const char* name = nullptr;
};

}  // namespace ranvier
