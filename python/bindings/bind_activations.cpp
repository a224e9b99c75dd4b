// Activations and the vectorized math functions: glue only (checks happen in
// python/ranvier/activations.py). Arrays are C-contiguous float32 of any rank >= 1;
// softmax/log_softmax work along the last axis (rows = product of the other axes).
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind.h"
#include "ops/activations.h"
#include "ops/vmath.h"

namespace ranvier_py {

namespace {

const char* const kVmathNames[] = {"exp", "expm1", "log", "log1p", "tanh", "erf", "erfc", "sigmoid", "normcdf",
                                   "softplus"};
static_assert(sizeof(kVmathNames) / sizeof(kVmathNames[0]) == ranvier::kVmathCount, "vmath names");

ranvier::ActKind act_kind(int kind) {
  if (kind < 0 || kind >= ranvier::kActKindCount)
    throw std::invalid_argument("activation kind " + std::to_string(kind) + " is out of range");
  return static_cast<ranvier::ActKind>(kind);
}

ranvier::ActParams act_params(float negative_slope, float max_value, float threshold, float alpha) {
  ranvier::ActParams p;
  p.negative_slope = negative_slope;
  p.max_value = max_value;
  p.threshold = threshold;
  p.alpha = alpha;
  return p;
}

std::vector<py::ssize_t> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

// rows x cols view of an array: cols = last axis (1 for a 0-d array).
void rows_cols(const py::array& a, std::int64_t* rows, std::int64_t* cols) {
  *cols = a.ndim() > 0 ? a.shape(a.ndim() - 1) : 1;
  *rows = *cols > 0 ? a.size() / *cols : 0;
}

farray out_like(const farray& x, py::object out, const char* name) {
  if (out.is_none()) return farray(shape_of(x));
  farray o = out.cast<farray>();
  if (shape_of(o) != shape_of(x))
    throw std::invalid_argument(std::string(name) + " has a different shape than the input");
  return o;
}

}  // namespace

void bind_activations(py::module_& m) {
  m.def("activation_kind_names", [] {
    std::vector<std::string> v;
    for (int k = 0; k < ranvier::kActKindCount; ++k) v.emplace_back(ranvier::activation_info(static_cast<ranvier::ActKind>(k)).name);
    return v;
  }, "Names of ranvier::ActKind values, indexed by kind.");

  m.def("activation_table", [] {
    py::list rows;
    for (int k = 0; k < ranvier::kActKindCount; ++k) {
      const auto kind = static_cast<ranvier::ActKind>(k);
      const ranvier::ActInfo& info = ranvier::activation_info(kind);
      py::dict params, row;
      for (const auto& kv : ranvier::activation_param_defaults(kind)) params[py::str(kv.first)] = kv.second;
      py::list aliases;
      for (const auto& a : ranvier::activation_aliases())
        if (a.second == kind) aliases.append(a.first);
      row["name"] = info.name;
      row["kind"] = k;
      row["rowwise"] = info.rowwise;
      row["cost"] = info.cheap ? "cheap" : "transcendental";
      row["reads"] = py::make_tuple(info.reads.input, info.reads.output);
      row["params"] = params;
      row["aliases"] = aliases;
      rows.append(row);
    }
    return rows;
  }, "The rows of activations.def in kind order: {name, kind, rowwise, cost, reads, params "
     "(name -> default), aliases}.");

  m.def("activation_forward",
        [](int kind, farray x, float negative_slope, float max_value, float threshold, float alpha, py::object out) {
          const auto k = act_kind(kind);
          const auto p = act_params(negative_slope, max_value, threshold, alpha);
          farray y = out_like(x, out, "out");
          std::int64_t rows, cols;
          rows_cols(x, &rows, &cols);
          const float* px = x.data();
          float* py_ = y.mutable_data();
          {
            py::gil_scoped_release nogil;
            ranvier::activation_forward(k, p, px, py_, rows, cols);
          }
          return y;
        },
        py::arg("kind"), py::arg("x"), py::arg("negative_slope") = 0.0f, py::arg("max_value") = INFINITY,
        py::arg("threshold") = 0.0f, py::arg("alpha") = 1.0f, py::arg("out") = py::none(),
        "y = f(x) (softmax kinds along the last axis). `out` may be x (in place).");

  m.def("activation_backward",
        [](int kind, py::object x, py::object y, farray dy, float negative_slope, float max_value, float threshold,
           float alpha, py::object out) {
          const auto k = act_kind(kind);
          const auto p = act_params(negative_slope, max_value, threshold, alpha);
          farray xa, ya;
          const float* px = nullptr;
          const float* pyv = nullptr;
          if (!x.is_none()) {
            xa = x.cast<farray>();
            if (shape_of(xa) != shape_of(dy)) throw std::invalid_argument("x and dy have different shapes");
            px = xa.data();
          }
          if (!y.is_none()) {
            ya = y.cast<farray>();
            if (shape_of(ya) != shape_of(dy)) throw std::invalid_argument("y and dy have different shapes");
            pyv = ya.data();
          }
          farray dx = out_like(dy, out, "out");
          std::int64_t rows, cols;
          rows_cols(dy, &rows, &cols);
          const float* pdy = dy.data();
          float* pdx = dx.mutable_data();
          {
            py::gil_scoped_release nogil;
            ranvier::activation_backward(k, p, px, pyv, pdy, pdx, rows, cols);
          }
          return dx;
        },
        py::arg("kind"), py::arg("x"), py::arg("y"), py::arg("dy"), py::arg("negative_slope") = 0.0f,
        py::arg("max_value") = INFINITY, py::arg("threshold") = 0.0f, py::arg("alpha") = 1.0f,
        py::arg("out") = py::none(),
        "dx = dL/dx from dy = dL/dy and the forward pass's x and/or y (None where not needed, "
        "see activation_backward_needs). `out` may be dy (in place).");

  m.def("activation_backward_needs",
        [](int kind, float negative_slope, float max_value, float threshold, float alpha) {
          const auto n = ranvier::activation_backward_needs(act_kind(kind),
                                                            act_params(negative_slope, max_value, threshold, alpha));
          return py::make_tuple(n.input, n.output);
        },
        py::arg("kind"), py::arg("negative_slope") = 0.0f, py::arg("max_value") = INFINITY,
        py::arg("threshold") = 0.0f, py::arg("alpha") = 1.0f,
        "(needs_input, needs_output) of activation_backward.");

  m.def("vmath_names", [] {
    std::vector<std::string> v(std::begin(kVmathNames), std::end(kVmathNames));
    return v;
  });
  m.def("vmath",
        [](const std::string& name, farray x) {
          int op = -1;
          for (int i = 0; i < ranvier::kVmathCount; ++i)
            if (name == kVmathNames[i]) op = i;
          if (op < 0) throw std::invalid_argument("vmath: unknown function '" + name + "'");
          farray y(shape_of(x));
          const float* px = x.data();
          float* pyv = y.mutable_data();
          const std::int64_t n = x.size();
          {
            py::gil_scoped_release nogil;
            ranvier::vmath_apply(static_cast<ranvier::VmathOp>(op), px, pyv, n);
          }
          return y;
        },
        py::arg("name"), py::arg("x"), "The vectorized math function `name` of the active ISA, elementwise.");
}

}  // namespace ranvier_py
