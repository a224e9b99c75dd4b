#include "bind.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "ranvier's compiled core (C++/SIMD/OpenMP). Use the `ranvier` package, not this module.";
  ranvier_py::bind_runtime(m);
  ranvier_py::bind_ops(m);
  ranvier_py::bind_activations(m);
  ranvier_py::bind_losses(m);
  ranvier_py::bind_optimizers(m);
  ranvier_py::bind_layers(m);
  ranvier_py::bind_lookup(m);
  ranvier_py::bind_metrics(m);
  ranvier_py::bind_model(m);
  ranvier_py::bind_io(m);
}
