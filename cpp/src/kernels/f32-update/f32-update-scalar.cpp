// Placeholder until the optimizer kernels land.
#include "kernels/f32-update/update.h"

namespace ranvier {
void fill_update_scalar(UpdateKernels& k) { k.name = "f32-update-scalar"; }
}  // namespace ranvier
