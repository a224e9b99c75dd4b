// Placeholder until the optimizer kernels land.
#include "kernels/f32-update/update.h"

namespace ranvier {
void fill_update_avx2(UpdateKernels& k) { k.name = "f32-update-avx2"; }
}  // namespace ranvier
