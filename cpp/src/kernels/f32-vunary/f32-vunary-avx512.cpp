// Placeholder until the activation kernels land.
#include "kernels/f32-vunary/vunary.h"

namespace ranvier {
void fill_vunary_avx512(VunaryKernels& k) { k.name = "f32-vunary-avx512"; }
}  // namespace ranvier
