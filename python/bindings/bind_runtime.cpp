#include <stdexcept>
#include <string>

#include "bind.h"
#include "dispatch/dispatch.h"
#include "runtime/alloc.h"
#include "runtime/runtime.h"

namespace ranvier_py {

void bind_runtime(py::module_& m) {
  m.def("isa", [] { return std::string(ranvier::isa_name(ranvier::active_isa())); });
  m.def("supported_isas", [] {
    std::vector<std::string> v;
    for (auto i : ranvier::supported_isas()) v.emplace_back(ranvier::isa_name(i));
    return v;
  });
  m.def("compiled_isas", [] {
    std::vector<std::string> v;
    for (auto i : ranvier::compiled_isas()) v.emplace_back(ranvier::isa_name(i));
    return v;
  });
  m.def("set_isa", [](const std::string& name) {
    ranvier::Isa isa;
    if (!ranvier::parse_isa(name, &isa))
      throw std::invalid_argument("isa='" + name + "' is not an ISA name; expected one of scalar, avx2, avx512, avx512bf16");
    ranvier::set_isa(isa);
  });
  m.def("kernel_names", [] {
    const auto& t = ranvier::kernels();
    py::dict d;
    d["gemm"] = t.gemm.name ? t.gemm.name : "";
    d["bf16_gemm"] = t.bf16gemm.name ? t.bf16gemm.name : "emulated";
    d["vunary"] = t.vunary.name ? t.vunary.name : "";
    d["update"] = t.update.name ? t.update.name : "";
    return d;
  });
  m.def("gemm_blocking", [] {
    const auto& g = ranvier::kernels().gemm;
    py::dict d;
    d["mr"] = g.mr; d["nr"] = g.nr; d["kc"] = g.kc; d["mc"] = g.mc; d["nc"] = g.nc;
    return d;
  });
  m.def("build_info", [] {
    const auto b = ranvier::build_info();
    py::dict d;
    d["version"] = b.version;
    d["compiler"] = b.compiler;
    d["cxx_flags"] = b.cxx_flags;
    d["openmp"] = b.openmp;
    d["isas_compiled"] = b.isas_compiled;
    return d;
  });
  m.def("get_num_threads", &ranvier::get_num_threads);
  m.def("set_num_threads", &ranvier::set_num_threads);
  m.def("max_num_threads", &ranvier::max_num_threads);
  // Test-only allocation-failure injection (runtime/alloc.h): inert unless armed.
  m.def("_alloc_fault_arm", &ranvier::alloc_fault_arm, py::arg("nth"));
  m.def("_alloc_fault_count_only", &ranvier::alloc_fault_count_only, py::arg("on"));
  m.def("_alloc_fault_calls", &ranvier::alloc_fault_calls);
  m.def("_alloc_fault_fired", &ranvier::alloc_fault_fired);
}

}  // namespace ranvier_py
