#include <memory>
#include <string>

#include "bind.h"
#include "model/network.h"

namespace ranvier_py {

namespace {

// A NumPy view of `n` floats at `p` that keeps `owner` alive (no copy).
py::array_t<float> view(float* p, std::int64_t n, py::object owner) {
  return py::array_t<float>({n}, {static_cast<py::ssize_t>(sizeof(float))}, p, owner);
}

}  // namespace

void bind_model(py::module_& m) {
  using ranvier::Network;
  py::class_<Network, std::shared_ptr<Network>>(m, "Network")
      .def(py::init<>())
      .def("add", &Network::add)
      .def("finalize", &Network::finalize)
      .def_property_readonly("in_features", &Network::in_features)
      .def_property_readonly("out_features", &Network::out_features)
      .def("tensors", [](Network& n) {
        py::list out;
        for (const auto& t : n.tensors()) {
          py::dict d;
          d["layer"] = t.layer; d["index"] = t.index; d["name"] = t.name; d["shape"] = py::tuple(py::cast(t.shape));
          d["trainable"] = t.trainable; d["offset"] = t.offset; d["size"] = t.size;
          out.append(d);
        }
        return out;
      })
      .def("params", [](py::object self) {
        auto& n = self.cast<Network&>();
        return view(n.params().data(), n.params().size(), self);
      })
      .def("grads", [](py::object self) {
        auto& n = self.cast<Network&>();
        return view(n.grads().data(), n.grads().size(), self);
      })
      .def("state", [](py::object self) {
        auto& n = self.cast<Network&>();
        return view(n.state().data(), n.state().size(), self);
      })
      .def_readwrite("train_steps", &Network::train_steps)
      .def("predict", [](Network& n, farray x, std::int64_t batch_size) {
        const auto rows = x.shape(0);
        farray out({rows, static_cast<py::ssize_t>(n.out_features())});
        const float* px = x.data();
        float* po = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          n.predict(px, rows, po, batch_size);
        }
        return out;
      }, py::arg("x"), py::arg("batch_size"));

  m.def("all_finite", [](farray a) {
    const float* p = a.data();
    const auto n = a.size();
    py::gil_scoped_release nogil;
    return ranvier::all_finite(p, n);
  });
}

}  // namespace ranvier_py
