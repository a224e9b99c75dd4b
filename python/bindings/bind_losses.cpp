#include "bind.h"

namespace ranvier_py {
void bind_losses(py::module_&) {}  // placeholder until this area lands
}  // namespace ranvier_py
