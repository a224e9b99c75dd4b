// Model-file I/O: the C++ safetensors validator (the one both the Python and the
// C++ loaders go through) and the strict JSON parser, for ranvier/saving.py.
#include <cstdint>
#include <string>
#include <utility>

#include "bind.h"
#include "io/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "ranvier/c_api.h"
#include "ranvier/model.hpp"

namespace ranvier_py {

namespace {

py::dict header_to_dict(const ranvier::io::Header& h) {
  py::dict d;
  d["header_len"] = h.header_len;
  d["data_start"] = h.data_start;
  d["data_len"] = h.data_len;
  py::list tensors;
  for (const auto& t : h.tensors) {
    py::dict e;
    e["name"] = t.name;
    e["dtype"] = t.dtype;
    e["shape"] = py::tuple(py::cast(t.shape));
    e["begin"] = t.begin;
    e["end"] = t.end;
    tensors.append(e);
  }
  d["tensors"] = tensors;
  py::dict meta;
  for (const auto& kv : h.metadata) meta[py::str(kv.first)] = py::str(kv.second);
  d["metadata"] = meta;
  return d;
}

}  // namespace

void bind_io(py::module_& m) {
  m.def("io_parse_header", [](py::bytes prefix, std::uint64_t file_size, bool ranvier_format) {
    std::string_view sv = prefix;  // the bytes object outlives the call
    ranvier::io::Header h;
    {
      py::gil_scoped_release nogil;
      h = ranvier::io::parse_header(reinterpret_cast<const std::uint8_t*>(sv.data()), sv.size(), file_size);
      if (ranvier_format) ranvier::io::check_ranvier(h);
    }
    return header_to_dict(h);
  }, py::arg("prefix"), py::arg("file_size"), py::arg("ranvier_format"),
  "Validates a safetensors header: prefix = the file's first 8 + N bytes (or fewer: the\n"
  "validator says what is missing), file_size = the whole file's size. Returns\n"
  "{header_len, data_start, data_len, tensors: [{name, dtype, shape, begin, end}], metadata}.\n"
  "Raises ValueError naming the problem.");

  // The C++ API's loader (what C++ and C applications run): (input_size, output_size).
  m.def("io_cpp_load_check", [](const std::string& path) {
    py::gil_scoped_release nogil;
    const ranvier::Model model = ranvier::Model::load(path);
    return std::make_pair(model.input_size(), model.output_size());
  }, py::arg("path"));

  // Predictions of the C++ API on a file (tests compare them with Python's).
  m.def("io_cpp_predict", [](const std::string& path, farray x, std::int64_t batch_size) {
    const ranvier::Model model = ranvier::Model::load(path);
    const auto rows = x.shape(0);
    farray out({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(model.output_size())});
    const float* px = x.data();
    float* po = out.mutable_data();
    {
      py::gil_scoped_release nogil;
      model.predict(px, rows, po, batch_size);
    }
    return out;
  }, py::arg("path"), py::arg("x"), py::arg("batch_size"));

  // Addresses of the C API functions, so tests can call them through ctypes (the real
  // C ABI) without a separate shared library.
  m.def("_c_api_addresses", [] {
    py::dict d;
    d["ranvier_model_load"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_load);
    d["ranvier_model_input_size"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_input_size);
    d["ranvier_model_output_size"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_output_size);
    d["ranvier_model_predict"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_predict);
    d["ranvier_model_free"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_free);
    d["ranvier_last_error"] = reinterpret_cast<std::uintptr_t>(&ranvier_last_error);
    d["ranvier_version"] = reinterpret_cast<std::uintptr_t>(&ranvier_version);
    return d;
  });

  // Bounds a saved architecture against the weight values its file holds (the Python
  // loader calls this before building any layer).
  m.def("io_check_architecture", [](const std::string& arch_json, std::uint64_t file_floats) {
    const auto arch = ranvier::io::parse_architecture(ranvier::json::parse(arch_json.data(), arch_json.size(), 64, 1000000));
    ranvier::io::check_weights_fit(arch, file_floats, true);
  }, py::arg("arch_json"), py::arg("file_floats"));

  // The C++ loader's whole structural validation of a model file (what ranvier::Model::load
  // and the C API refuse, the Python loader refuses too): metadata, architecture, layer
  // configs and widths, every weight's presence and exact shape. Custom (Python-only)
  // layer classes stop the check at the first one.
  m.def("io_check_model", [](py::bytes prefix, std::uint64_t file_size) {
    std::string_view sv = prefix;
    py::gil_scoped_release nogil;
    const auto h = ranvier::io::parse_header(reinterpret_cast<const std::uint8_t*>(sv.data()), sv.size(), file_size);
    ranvier::io::check_model(h, true);
  }, py::arg("prefix"), py::arg("file_size"));

  m.def("io_json_normalize", [](py::bytes text) {
    std::string_view sv = text;
    return ranvier::json::dump(ranvier::json::parse(sv.data(), sv.size()));
  }, py::arg("text"), "Parses strict JSON and writes it back (tests of the C++ JSON module).");
}

}  // namespace ranvier_py
