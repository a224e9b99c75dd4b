// Placeholder until the activation kernels land.
#include "kernels/f32-vunary/vunary.h"

namespace ranvier {
void fill_vunary_scalar(VunaryKernels& k) { k.name = "f32-vunary-scalar"; }
}  // namespace ranvier
