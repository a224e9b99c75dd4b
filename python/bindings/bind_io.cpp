// Model-file I/O: the C++ safetensors validator (the one both the Python and the
// C++ loaders go through) and the strict JSON parser, for the Python model files (ranvier/_model_io.py).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bind.h"
#include "config/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "ranvier/c_api.h"
#include "ranvier/model.hpp"

namespace ranvier_py {

namespace {

// The WriteOptions of a Python call: sync = a callable taking the file descriptor (the
// package passes os.fsync), called with the GIL held; None -> the C++ default (fsync).
ranvier::io::WriteOptions write_options(const py::object& sync) {
  ranvier::io::WriteOptions o;
  if (!sync.is_none()) {
    o.sync = [sync](int fd) {
      py::gil_scoped_acquire gil;
      sync(fd);
    };
  }
  return o;
}

std::vector<ranvier::io::TensorOut> tensors_out(const std::vector<std::pair<std::string, farray>>& tensors) {
  std::vector<ranvier::io::TensorOut> out;
  out.reserve(tensors.size());
  for (const auto& t : tensors) {
    ranvier::io::TensorOut o;
    o.name = t.first;
    for (py::ssize_t i = 0; i < t.second.ndim(); ++i) o.shape.push_back(static_cast<std::int64_t>(t.second.shape(i)));
    o.data = t.second.data();
    out.push_back(std::move(o));
  }
  return out;
}

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
  // ranvier::io::FileError -> OSError(errno, message): Python picks the subclass
  // (FileNotFoundError, PermissionError, IsADirectoryError, ...) from errno.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ranvier::io::FileError& e) {
      PyObject* exc = PyObject_CallFunction(PyExc_OSError, "is", e.error_code(), e.what());
      if (exc) {
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
        Py_DECREF(exc);
      }
    }
  });

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

  // The C++ API's load then save (tests: a file C++ rewrites loads in Python as before).
  m.def("io_cpp_resave", [](const std::string& src, const std::string& dst) {
    py::gil_scoped_release nogil;
    ranvier::Model::load(src).save(dst);
  }, py::arg("src"), py::arg("dst"));

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
    d["ranvier_model_encode_strings"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_encode_strings);
    d["ranvier_model_encode_ints"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_encode_ints);
    d["ranvier_last_error"] = reinterpret_cast<std::uintptr_t>(&ranvier_last_error);
    d["ranvier_version"] = reinterpret_cast<std::uintptr_t>(&ranvier_version);
    d["ranvier_model_num_inputs"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_num_inputs);
    d["ranvier_model_num_outputs"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_num_outputs);
    d["ranvier_model_input_name"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_input_name);
    d["ranvier_model_output_name"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_output_name);
    d["ranvier_model_input_width"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_input_width);
    d["ranvier_model_output_width"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_output_width);
    d["ranvier_model_input_dtype"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_input_dtype);
    d["ranvier_model_predict_multi"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_predict_multi);
    d["ranvier_model_encode_input_strings"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_encode_input_strings);
    d["ranvier_model_encode_input_ints"] = reinterpret_cast<std::uintptr_t>(&ranvier_model_encode_input_ints);
    return d;
  });

  // Every size in a model file's metadata against the weight values the file holds and the
  // load budget (the Python loader calls this before building anything).
  m.def("io_check_model_metadata", [](const std::vector<std::pair<std::string, std::string>>& metadata,
                                      std::uint64_t file_floats) {
    py::gil_scoped_release nogil;
    ranvier::io::check_model_metadata(metadata, file_floats, true);
  }, py::arg("metadata"), py::arg("file_floats"),
  "Checks a model file's metadata (architecture, build_configs, metric sizes) against the\n"
  "file's weight count and the load budget; ValueError naming what is too large.");

  // The one safetensors writer (ranvier::io::write_file): header from the tensors' names and
  // shapes, data written from the arrays' own memory (no copy), atomically.
  m.def("io_write_safetensors", [](const std::string& path, const std::vector<std::pair<std::string, farray>>& tensors,
                                   const std::vector<std::pair<std::string, std::string>>& metadata, py::object sync) {
    const auto out = tensors_out(tensors);
    const auto options = write_options(sync);
    py::gil_scoped_release nogil;
    ranvier::io::write_file(path, out, metadata, options);
  }, py::arg("path"), py::arg("tensors"), py::arg("metadata"), py::arg("sync") = py::none(),
  "Writes a safetensors file atomically (symlinks: the target is written; see io/safetensors.h).\n"
  "tensors: [(name, C-contiguous float32 array)], metadata: [(key, value)], sync: None or a\n"
  "callable(fd) that makes the temporary file durable. OSError on I/O failure.");

  m.def("io_serialize_safetensors", [](const std::vector<std::pair<std::string, farray>>& tensors,
                                       const std::vector<std::pair<std::string, std::string>>& metadata) {
    const auto bytes = ranvier::io::serialize(tensors_out(tensors), metadata);
    return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }, py::arg("tensors"), py::arg("metadata"), "The bytes io_write_safetensors would write.");

  // Atomic write of any buffers (bytes, memoryviews, arrays), in order, without copying them.
  m.def("io_atomic_write", [](const std::string& path, const std::vector<py::buffer>& chunks, py::object sync) {
    std::vector<py::buffer_info> views;
    views.reserve(chunks.size());
    std::vector<ranvier::io::Chunk> out;
    for (const auto& c : chunks) {
      views.push_back(c.request());
      const auto& v = views.back();
      std::size_t bytes = static_cast<std::size_t>(v.itemsize);
      for (auto d : v.shape) bytes *= static_cast<std::size_t>(d);
      py::ssize_t expect = v.itemsize;
      for (py::ssize_t i = v.ndim - 1; i >= 0; --i) {  // C-contiguous only: the bytes are written as they lie
        if (v.shape[static_cast<std::size_t>(i)] > 1 && v.strides[static_cast<std::size_t>(i)] != expect)
          throw std::invalid_argument("io_atomic_write: chunks must be C-contiguous buffers");
        expect *= v.shape[static_cast<std::size_t>(i)];
      }
      out.push_back(ranvier::io::Chunk{v.ptr, bytes});
    }
    const auto options = write_options(sync);
    py::gil_scoped_release nogil;
    ranvier::io::atomic_write(path, out, options);
  }, py::arg("path"), py::arg("chunks"), py::arg("sync") = py::none(),
  "Writes the buffers to path atomically (the rules of io_write_safetensors). OSError on failure.");

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

  m.def("io_json_normalize", [](py::bytes text, bool metadata_limits) {
    std::string_view sv = text;
    py::gil_scoped_release nogil;
    return metadata_limits ? ranvier::json::dump(ranvier::json::parse(sv.data(), sv.size(), 64,
                                                                      ranvier::io::metadata_value_limit(sv.size())))
                           : ranvier::json::dump(ranvier::json::parse(sv.data(), sv.size()));
  }, py::arg("text"), py::arg("metadata_limits") = false,
  "Parses strict JSON and writes it back (metadata_limits: the value limit of a model file's\n"
  "metadata entries, io::metadata_value_limit).");
}

}  // namespace ranvier_py
