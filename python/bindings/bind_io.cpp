// Model-file I/O: the C++ safetensors validator (the one both the Python and the
// C++ loaders go through) and the strict JSON parser, for ranvier/saving.py.
#include <cstdint>
#include <string>

#include "bind.h"
#include "io/json.h"
#include "io/safetensors.h"

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

  m.def("io_json_normalize", [](py::bytes text) {
    std::string_view sv = text;
    return ranvier::json::dump(ranvier::json::parse(sv.data(), sv.size()));
  }, py::arg("text"), "Parses strict JSON and writes it back (tests of the C++ JSON module).");
}

}  // namespace ranvier_py
