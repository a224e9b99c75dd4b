#include <stdexcept>
#include <string>

#include "bind.h"
#include "dispatch/dispatch.h"
#include "runtime/alloc.h"
#include "runtime/pool.h"
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
    d["vloss"] = t.vloss.name ? t.vloss.name : "";
    d["update"] = t.update.name ? t.update.name : "";
    d["vmerge"] = t.vmerge.name ? t.vmerge.name : "";
    d["f16_round"] = t.f16round.name ? t.f16round.name : "";
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

  // Test/benchmark-only: read and optionally change the worker pool's knobs (see
  // runtime/pool.h). Negative values leave a knob; adaptive: -1 leaves it, 0 off, 1 on.
  // reset=True restores the defaults, the statistics and what the adaptive rule learned.
  m.def(
      "_pool_tuning",
      [](int chunks_per_thread, int gemm_chunks_per_thread, int adaptive, int spin_us, int test_jitter_us,
         double min_gain, bool reset) {
        namespace pd = ranvier::pool_detail;
        auto& t = pd::pool_tuning();
        if (reset) {
          t = pd::pool_default_tuning();
          pd::reset_pool_stats();
          pd::reset_pool_adaptation();
        }
        if (chunks_per_thread > 0) t.chunks_per_thread = chunks_per_thread;
        if (gemm_chunks_per_thread > 0) t.gemm_chunks_per_thread = gemm_chunks_per_thread;
        if (adaptive >= 0) t.adaptive = adaptive != 0;
        if (spin_us >= 0) t.spin_us = spin_us;
        if (test_jitter_us >= 0) t.test_jitter_us = test_jitter_us;
        if (min_gain > 0) t.min_gain = min_gain;
        const auto st = pd::pool_stats();
        py::dict d;
        d["chunks_per_thread"] = t.chunks_per_thread;
        d["gemm_chunks_per_thread"] = t.gemm_chunks_per_thread;
        d["adaptive"] = t.adaptive;
        d["spin_us"] = t.spin_us;
        d["test_jitter_us"] = t.test_jitter_us;
        d["min_gain"] = t.min_gain;
        d["workers"] = pd::pool_workers();
        d["jobs_parallel"] = st.jobs_parallel;
        d["jobs_serial"] = st.jobs_serial;
        d["chunks_by_workers"] = st.chunks_by_workers;
        d["chunks_by_caller"] = st.chunks_by_caller;
        d["backoffs"] = st.backoffs;
        d["stalls"] = st.stalls;
        return d;
      },
      py::arg("chunks_per_thread") = -1, py::arg("gemm_chunks_per_thread") = -1, py::arg("adaptive") = -1,
      py::arg("spin_us") = -1, py::arg("test_jitter_us") = -1, py::arg("min_gain") = -1.0,
      py::arg("reset") = false);
}

}  // namespace ranvier_py
