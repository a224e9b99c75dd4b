#include "bind.h"
#include "gemm/gemm.h"

namespace ranvier_py {

void bind_ops(py::module_& m) {
  // C = op(A) @ op(B); shapes were checked by ranvier.ops.matmul.
  m.def("matmul", [](farray a, farray b, bool ta, bool tb) {
    const auto ar = a.shape(0), ac = a.shape(1), br = b.shape(0), bc = b.shape(1);
    const auto M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
    farray c({M, N});
    const float* pa = a.data();
    const float* pb = b.data();
    float* pc = c.mutable_data();
    {
      py::gil_scoped_release nogil;
      ranvier::sgemm(ta, tb, M, N, K, 1.0f, pa, ac, pb, bc, 0.0f, pc, N);
    }
    return c;
  }, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false);
}

}  // namespace ranvier_py
