// Lookup layers: encode a column of raw keys (a 1-D NumPy array of str / bytes / object,
// or int64) to indices with the layer's C++ encode (layers/lookup.h). The keys' bytes are
// gathered with the GIL held (object arrays: the UTF-8 of each str, kept alive by a
// reference), then the lookups run with the GIL released.
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bind.h"
#include "layers/lookup.h"

namespace ranvier_py {

namespace {

using ranvier::IndexLookup;

std::shared_ptr<IndexLookup> lookup_of(const std::shared_ptr<ranvier::Layer>& layer) {
  auto l = std::dynamic_pointer_cast<IndexLookup>(layer);
  if (!l) throw std::invalid_argument("lookup_encode: the layer is not an IntegerLookup or StringLookup");
  return l;
}

template <class K>
void run(const IndexLookup& l, const K* k, std::int64_t n, float* o) { l.encode(k, n, o); }
template <class K>
void run(const IndexLookup& l, const K* k, std::int64_t n, std::int64_t* o) { l.encode_indices(k, n, o); }

void append_utf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Runs encode on string keys into an array of T (float32 or int64).
template <class T>
py::array_t<T> encode_strings(const IndexLookup& l, py::array keys) {
  const std::int64_t n = keys.ndim() == 1 ? keys.shape(0) : -1;
  if (n < 0) throw std::invalid_argument("lookup_encode: keys must be a 1-D array");
  py::array_t<T> out(static_cast<py::ssize_t>(n));
  T* po = out.mutable_data();
  std::vector<std::string_view> views(static_cast<std::size_t>(n));
  const char kind = keys.dtype().kind();
  if (kind == 'O') {
    std::vector<py::object> held;  // keeps every key alive while the GIL is released
    held.reserve(static_cast<std::size_t>(n));
    auto a = py::reinterpret_borrow<py::array>(keys);
    const auto* items = static_cast<PyObject* const*>(a.data());
    if (!(a.flags() & py::array::c_style)) throw std::invalid_argument("lookup_encode: keys must be C-contiguous");
    for (std::int64_t i = 0; i < n; ++i) {
      PyObject* o = items[i];
      const char* p = nullptr;
      Py_ssize_t len = 0;
      if (o && PyUnicode_Check(o)) {
        p = PyUnicode_AsUTF8AndSize(o, &len);
        if (!p) {
          PyErr_Clear();
          throw std::invalid_argument(std::string(l.type_name()) + ": key " + std::to_string(i) +
                                      " is a str that is not valid UTF-8 (a lone surrogate?)");
        }
      } else if (o && PyBytes_Check(o)) {
        char* bp = nullptr;
        if (PyBytes_AsStringAndSize(o, &bp, &len) != 0) throw py::error_already_set();
        p = bp;
      } else {
        const std::string t = o ? Py_TYPE(o)->tp_name : "NULL";
        throw py::type_error(std::string(l.type_name()) + ": the keys must be strings (str or bytes), key " +
                             std::to_string(i) + " is a " + t);
      }
      held.push_back(py::reinterpret_borrow<py::object>(o));
      views[static_cast<std::size_t>(i)] = std::string_view(p, static_cast<std::size_t>(len));
    }
    {
      py::gil_scoped_release nogil;
      run(l, views.data(), n, po);
    }
    return out;
  }
  if (kind != 'U' && kind != 'S')
    throw py::type_error(std::string(l.type_name()) + ": the keys must be strings, got dtype=" +
                         py::str(keys.dtype()).cast<std::string>());
  auto a = py::array::ensure(keys, py::array::c_style);
  // a big-endian '>U' array (NumPy keeps the byte order it was given): its code points are
  // swapped before encoding (read as they are, every key became another string, silently)
  const bool swap = kind == 'U' && !keys.dtype().attr("isnative").cast<bool>();
  const std::size_t item = static_cast<std::size_t>(a.itemsize());
  const char* base = static_cast<const char*>(a.data());
  std::string blob;
  std::vector<std::size_t> off(static_cast<std::size_t>(n) + 1, 0);
  {
    py::gil_scoped_release nogil;
    if (kind == 'S') {
      for (std::int64_t i = 0; i < n; ++i) {
        const char* p = base + static_cast<std::size_t>(i) * item;
        std::size_t len = item;
        while (len > 0 && p[len - 1] == '\0') --len;  // NumPy drops trailing NULs
        views[static_cast<std::size_t>(i)] = std::string_view(p, len);
      }
    } else {
      const std::size_t chars = item / 4;
      blob.reserve(static_cast<std::size_t>(n) * chars);
      for (std::int64_t i = 0; i < n; ++i) {
        const char* p = base + static_cast<std::size_t>(i) * item;
        std::size_t len = chars;
        std::uint32_t c = 0;
        while (len > 0 && (std::memcpy(&c, p + (len - 1) * 4, 4), c == 0)) --len;  // 0 either way
        for (std::size_t j = 0; j < len; ++j) {
          std::memcpy(&c, p + j * 4, 4);
          if (swap) c = (c >> 24) | ((c >> 8) & 0xFF00u) | ((c << 8) & 0xFF0000u) | (c << 24);
          append_utf8(blob, c);
        }
        off[static_cast<std::size_t>(i) + 1] = blob.size();
      }
      for (std::int64_t i = 0; i < n; ++i)
        views[static_cast<std::size_t>(i)] =
            std::string_view(blob.data() + off[static_cast<std::size_t>(i)],
                             off[static_cast<std::size_t>(i) + 1] - off[static_cast<std::size_t>(i)]);
    }
    run(l, views.data(), n, po);
  }
  return out;
}

template <class T>
py::array_t<T> encode_ints(const IndexLookup& l, py::array_t<std::int64_t, py::array::c_style> keys) {
  if (keys.ndim() != 1) throw std::invalid_argument("lookup_encode: keys must be a 1-D array");
  const std::int64_t n = keys.shape(0);
  py::array_t<T> out(static_cast<py::ssize_t>(n));
  T* po = out.mutable_data();
  const std::int64_t* pk = keys.data();
  py::gil_scoped_release nogil;
  run(l, pk, n, po);
  return out;
}

}  // namespace

void bind_lookup(py::module_& m) {
  // keys: a 1-D array (object of str/bytes, 'U', 'S' for StringLookup; int64 for
  // IntegerLookup). Returns the indices: float32 (what the network takes), or int64 with
  // indices=True (the eager call's output).
  m.def("lookup_encode", [](const std::shared_ptr<ranvier::Layer>& layer, py::array keys, bool indices) -> py::array {
    const auto l = lookup_of(layer);
    if (l->string_keys()) {
      if (indices) return encode_strings<std::int64_t>(*l, keys);
      return encode_strings<float>(*l, keys);
    }
    if (keys.dtype().kind() != 'i' || keys.itemsize() != 8)
      throw py::type_error(std::string("IntegerLookup: the keys must be an int64 array, got dtype=") +
                           py::str(keys.dtype()).cast<std::string>());
    auto k = py::array_t<std::int64_t, py::array::c_style>::ensure(keys);
    if (indices) return encode_ints<std::int64_t>(*l, k);
    return encode_ints<float>(*l, k);
  }, py::arg("layer"), py::arg("keys"), py::arg("indices") = false);
  // (vocabulary_size, depth, string_keys) of a lookup layer.
  m.def("lookup_info", [](const std::shared_ptr<ranvier::Layer>& layer) {
    const auto l = lookup_of(layer);
    return py::make_tuple(l->vocabulary_size(), l->depth(), l->string_keys());
  }, py::arg("layer"));
  // The hashes the OOV buckets use (tests compare them with TensorFlow's).
  m.def("_fingerprint64", [](py::bytes b) {
    const std::string s = b;
    return ranvier::lookup_hash::fingerprint64(s.data(), s.size());
  });
  m.def("_siphash24", [](std::uint64_t k0, std::uint64_t k1, py::bytes b) {
    const std::string s = b;
    return ranvier::lookup_hash::siphash24(k0, k1, s.data(), s.size());
  });
}

}  // namespace ranvier_py
