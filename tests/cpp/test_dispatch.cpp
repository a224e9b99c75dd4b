#include "dispatch/dispatch.h"
#include "testing.h"

RANVIER_TEST(dispatch_supported_includes_scalar) {
  auto sup = ranvier::supported_isas();
  RANVIER_CHECK(!sup.empty() && sup.front() == ranvier::Isa::scalar, "scalar must always be supported");
  for (auto isa : sup) {
    ranvier::set_isa(isa);
    RANVIER_CHECK(ranvier::active_isa() == isa, "set_isa(%s) did not take", ranvier::isa_name(isa));
    RANVIER_CHECK(ranvier::kernels().gemm.ukernel != nullptr, "no gemm kernel for %s", ranvier::isa_name(isa));
  }
}
