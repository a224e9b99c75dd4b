// f32 elementwise kernels (activations and their derivatives): the kernel-table entry.
#pragma once

#include <cstdint>

namespace ranvier {

struct VunaryKernels {
  const char* name = nullptr;
};

}  // namespace ranvier
