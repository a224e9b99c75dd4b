// Bindings: pybind11 glue only. Each area has one bind_<area>.cpp; logic lives in
// cpp/src (C++) or python/ranvier (Python), never here.
//
// Conventions:
// - arrays arrive as py::array_t<float, py::array::c_style> WITHOUT forcecast: the
//   Python facade has already checked dtype/shape and named the argument in any error;
//   a wrong array that still reaches here is a TypeError from pybind11, never a silent copy.
// - the GIL is released around compute (py::gil_scoped_release).
// - C++ exceptions map to Python: std::invalid_argument -> ValueError,
//   std::out_of_range -> IndexError, std::bad_alloc -> MemoryError, others -> RuntimeError.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace ranvier_py {

namespace py = pybind11;
using farray = py::array_t<float, py::array::c_style>;

void bind_runtime(py::module_& m);
void bind_ops(py::module_& m);
void bind_activations(py::module_& m);
void bind_losses(py::module_& m);
void bind_optimizers(py::module_& m);
void bind_layers(py::module_& m);
void bind_lookup(py::module_& m);
void bind_metrics(py::module_& m);
// Throws std::runtime_error (Python RuntimeError) when called from inside a Python metric's
// update (bind_metrics.cpp): the trainer holds the model while it calls the metric, so
// running the model there would wait on itself.
void refuse_inside_python_metric(const char* what);
void bind_model(py::module_& m);
void bind_io(py::module_& m);

}  // namespace ranvier_py
