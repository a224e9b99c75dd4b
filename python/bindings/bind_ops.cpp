// ops: matrix multiply. Glue only; the checks with user-facing messages are in
// ranvier/ops.py, which calls here first and falls back to its checking path when
// this returns None.
#include <cstdint>
#include <stdexcept>

#include "bind.h"
#include "gemm/bf16_gemm.h"
#include "gemm/f16_gemm.h"
#include "gemm/gemm.h"
#include "gemm/gemm_config.h"
#include "gemm/gemm_tuning.h"
#include "kernels/f16-round/f16-round.h"
#include "runtime/runtime.h"

namespace ranvier_py {

namespace {

// Problems under this many FLOPs keep the GIL: releasing and re-taking it costs more
// than it frees for a (32x64)@(64x64) layer.
constexpr double kReleaseGilFlops = 2.0e6;

// A float32 matrix the GEMM reads in place: `trans` says whether the stored matrix
// (leading dimension `ld`, row-major) is the transpose of the logical one.
struct MatView {
  const float* data;
  std::int64_t rows, cols;  // logical shape
  std::int64_t ld;
  bool trans;
};

// Reads `h` as a 2-D, non-empty, aligned, native float32 array whose rows or columns
// are contiguous (C order, F order, or a slice of either). Anything else: false, and
// the Python side checks, explains or converts.
bool as_view(py::handle h, MatView* v) {
  if (!py::isinstance<py::array_t<float>>(h)) return false;  // ndarray of native float32
  auto arr = py::reinterpret_borrow<py::array>(h);
  if (arr.ndim() != 2) return false;
  const std::int64_t r = arr.shape(0), c = arr.shape(1);
  const std::int64_t s0 = arr.strides(0), s1 = arr.strides(1);
  const auto addr = reinterpret_cast<std::uintptr_t>(arr.data());
  if (r <= 0 || c <= 0 || addr % sizeof(float) != 0) return false;
  constexpr std::int64_t f = sizeof(float);
  v->data = static_cast<const float*>(arr.data());
  v->rows = r;
  v->cols = c;
  if ((s1 == f || c == 1) && (r == 1 || (s0 % f == 0 && s0 >= c * f))) {  // rows contiguous
    v->ld = r == 1 ? c : s0 / f;
    v->trans = false;
    return true;
  }
  if ((s0 == f || r == 1) && (c == 1 || (s1 % f == 0 && s1 >= r * f))) {  // columns contiguous
    v->ld = c == 1 ? r : s1 / f;
    v->trans = true;
    return true;
  }
  return false;
}

}  // namespace

void bind_ops(py::module_& m) {
  // C = op(a) @ op(b) as a new float32 array, or None when an operand is not a matrix
  // the GEMM reads in place (wrong dtype/ndim/layout, empty, mismatched inner
  // dimensions): ranvier.ops.matmul then raises a clear error or converts.
  m.def(
      "matmul",
      [](py::handle a, py::handle b, bool ta, bool tb) -> py::object {
        MatView va, vb;
        if (!as_view(a, &va) || !as_view(b, &vb)) return py::none();
        const std::int64_t M = ta ? va.cols : va.rows, K = ta ? va.rows : va.cols;
        const std::int64_t Kb = tb ? vb.cols : vb.rows, N = tb ? vb.rows : vb.cols;
        if (K != Kb) return py::none();
        py::array_t<float> c({M, N});
        float* pc = c.mutable_data();
        const bool sa = ta != va.trans, sb = tb != vb.trans;  // transposes seen by sgemm
        if (2.0 * double(M) * double(N) * double(K) < kReleaseGilFlops) {
          ranvier::sgemm(sa, sb, M, N, K, 1.0f, va.data, va.ld, vb.data, vb.ld, 0.0f, pc, N);
        } else {
          py::gil_scoped_release nogil;
          ranvier::sgemm(sa, sb, M, N, K, 1.0f, va.data, va.ld, vb.data, vb.ld, 0.0f, pc, N);
        }
        return std::move(c);
      },
      py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false);

  // Test-only: the whole sgemm (or bgemm) contract in place,
  //   c = act(alpha * op(a) @ op(b) + beta * c + bias), act = relu if relu,
  // on checked operands (tests/test_gemm.py and test_bf16.py pass C-contiguous float32
  // arrays; c may be a row slice of a wider array, so ldc comes from its strides).
  using GemmFn = decltype(&ranvier::sgemm);
  const auto def_full = [&m](const char* name, GemmFn fn) {
    m.def(
        name,
        [fn, name](farray a, farray b, py::array_t<float> c, bool ta, bool tb, float alpha, float beta,
           py::object bias, bool relu, int nthreads) {
          if (c.ndim() != 2 || c.strides(1) != sizeof(float) || a.ndim() != 2 || b.ndim() != 2)
            throw std::invalid_argument(std::string(name) + ": a, b, c must be 2-D with contiguous rows");
          const std::int64_t M = ta ? a.shape(1) : a.shape(0), K = ta ? a.shape(0) : a.shape(1);
          const std::int64_t Kb = tb ? b.shape(1) : b.shape(0), N = tb ? b.shape(0) : b.shape(1);
          if (K != Kb || c.shape(0) != M || c.shape(1) != N)
            throw std::invalid_argument(std::string(name) + ": shapes do not match");
          ranvier::GemmEpilogue ep;
          farray bias_arr;
          if (!bias.is_none()) {
            bias_arr = bias.cast<farray>();
            if (bias_arr.ndim() != 1 || bias_arr.shape(0) != N)
              throw std::invalid_argument(std::string(name) + ": bias must have shape (n,)");
            ep.bias = bias_arr.data();
          }
          if (relu) ep.act = ranvier::GemmAct::relu;
          const float* pa = a.data();
          const float* pb = b.data();
          float* pc = c.mutable_data();
          const std::int64_t ldc = c.strides(0) / static_cast<std::int64_t>(sizeof(float));
          py::gil_scoped_release nogil;
          fn(ta, tb, M, N, K, alpha, pa, a.shape(1), pb, b.shape(1), beta, pc, ldc, ep, nthreads);
        },
        py::arg("a"), py::arg("b"), py::arg("c"), py::arg("transpose_a") = false, py::arg("transpose_b") = false,
        py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("bias") = py::none(), py::arg("relu") = false,
        py::arg("nthreads") = 0);
  };
  def_full("_sgemm_full", &ranvier::sgemm);
  def_full("_bgemm_full", &ranvier::bgemm);
  def_full("_hgemm_full", &ranvier::hgemm);

  // Test-only: the rounding bgemm applies to its inputs, and whether it runs natively.
  m.def("_round_bf16", [](farray x) {
    py::array_t<float> out(x.request().shape);
    const float* src = x.data();
    float* dst = out.mutable_data();
    for (py::ssize_t i = 0; i < x.size(); ++i) dst[i] = ranvier::round_to_bf16(src[i]);
    return out;
  }, py::arg("x"));
  m.def("_bgemm_native", &ranvier::bgemm_native);
  // Test-only: the rounding hgemm applies (the active tier's kernel), and the scalar one.
  m.def("_round_f16", [](farray x, bool scalar) {
    py::array_t<float> out(x.request().shape);
    const float* src = x.data();
    float* dst = out.mutable_data();
    if (scalar) {
      for (py::ssize_t i = 0; i < x.size(); ++i) dst[i] = ranvier::round_to_f16_scalar(src[i]);
    } else {
      ranvier::FtzScope ftz;  // as inside hgemm
      for (py::ssize_t i = 0; i < x.size(); ++i) dst[i] = ranvier::round_to_f16(src[i]);
    }
    return out;
  }, py::arg("x"), py::arg("scalar") = false);

  // Test-only: read and optionally change the driver's tuning (see gemm/gemm_tuning.h).
  // pack_a, pack_b: 0 automatic, 1 always, 2 never; a negative value leaves it; so does a
  // negative parallel_min_flops, kc, mc or nc (0: the kernel table's blocking; they apply
  // to sgemm and bgemm alike). ukernel: a float32 micro-kernel name to force
  // (gemm/gemm_config.h), "config" for the per-CPU table's choice, "" leaves it.
  // reset=True restores the measured defaults first (RANVIER_GEMM_UKERNEL included).
  m.def(
      "_gemm_tuning",
      [](double parallel_min_flops, int pack_a, int pack_b, bool reset, int kc, int mc, int nc,
         const std::string& ukernel) {
        auto& t = ranvier::gemm_detail::gemm_tuning();
        if (pack_a > 2 || pack_b > 2) throw std::invalid_argument("_gemm_tuning: pack_a/pack_b must be 0, 1 or 2");
        ranvier::GemmTile tile = ranvier::GemmTile::scalar_4x8;
        if (!ukernel.empty() && ukernel != "config" && !ranvier::parse_gemm_tile(ukernel, &tile))
          throw std::invalid_argument("_gemm_tuning: ukernel='" + ukernel +
                                      "' is not one of scalar-4x8, avx2-6x16, avx512-12x32, config");
        if (reset) t = ranvier::gemm_detail::gemm_default_tuning();
        if (ukernel == "config") t.ukernel = -1;
        else if (!ukernel.empty()) t.ukernel = static_cast<int>(tile);
        if (parallel_min_flops >= 0) t.parallel_min_flops = parallel_min_flops;
        if (pack_a >= 0) t.pack_a = static_cast<ranvier::gemm_detail::PackMode>(pack_a);
        if (pack_b >= 0) t.pack_b = static_cast<ranvier::gemm_detail::PackMode>(pack_b);
        if (kc >= 0) t.kc = kc;
        if (mc >= 0) t.mc = mc;
        if (nc >= 0) t.nc = nc;
        py::dict d;
        d["parallel_min_flops"] = t.parallel_min_flops;
        d["pack_a"] = static_cast<int>(t.pack_a);
        d["pack_b"] = static_cast<int>(t.pack_b);
        d["buffer_allocations"] = ranvier::gemm_detail::gemm_buffer_allocations();
        d["kc"] = t.kc;
        d["mc"] = t.mc;
        d["nc"] = t.nc;
        d["ukernel"] = t.ukernel < 0 ? std::string("config")
                                     : std::string(ranvier::gemm_tile_name(static_cast<ranvier::GemmTile>(t.ukernel)));
        d["config"] = ranvier::gemm_config_name();
        return d;
      },
      py::arg("parallel_min_flops") = -1.0, py::arg("pack_a") = -1, py::arg("pack_b") = -1,
      py::arg("reset") = false, py::arg("kc") = -1, py::arg("mc") = -1, py::arg("nc") = -1,
      py::arg("ukernel") = "");
  // Test-only: the float32 micro-kernel sgemm runs for op(A) (m x k) @ op(B) (k x n) now
  // (the forced one, capped to the tier, or the per-CPU table's choice), with its blocking;
  // and the tiles the active tier may run.
  m.def(
      "_gemm_ukernel_for",
      [](std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb) {
        const auto g = ranvier::gemm_kernels_for(ta, tb, m, n, k);
        py::dict d;
        d["name"] = g.name;
        d["mr"] = g.mr; d["nr"] = g.nr; d["kc"] = g.kc; d["mc"] = g.mc; d["nc"] = g.nc;
        return d;
      },
      py::arg("m"), py::arg("n"), py::arg("k"), py::arg("transpose_a") = false, py::arg("transpose_b") = false);
  m.def("_gemm_ukernels", [] {
    std::vector<std::string> v;
    for (int i = 0; i < ranvier::kGemmTileCount; ++i)
      if (ranvier::gemm_tile_available(static_cast<ranvier::GemmTile>(i)))
        v.emplace_back(ranvier::gemm_tile_name(static_cast<ranvier::GemmTile>(i)));
    return v;
  });
}

}  // namespace ranvier_py
