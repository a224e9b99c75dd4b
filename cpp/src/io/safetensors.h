// io/safetensors: the model file container (https://github.com/huggingface/safetensors):
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header][data section]
//
// The header is a JSON object: tensor name -> {"dtype": "F32", "shape": [..],
// "data_offsets": [begin, end]} (offsets relative to the data section), plus an
// optional "__metadata__" object of string -> string.
//
// The reader is written for hostile files. Before anything is trusted it checks:
// the file holds the 8-byte length; N is within the file and at most kMaxHeaderBytes;
// the header starts with '{' and is strict JSON (utf-8, no duplicate keys, bounded
// nesting and value count); every entry has exactly dtype/shape/data_offsets of the
// right types; dtypes are known; shape products and byte sizes do not overflow and
// match the offsets; offsets lie in the data section, do not overlap and cover it
// exactly (no gaps, no trailing bytes); metadata values are strings. All allocations
// are bounded by the bytes actually present in the file. Every failure is a
// std::invalid_argument naming the file part and the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ranvier {
namespace io {

constexpr std::uint64_t kMaxHeaderBytes = 100000000;  // as the safetensors package
constexpr std::size_t kMaxHeaderValues = 1000000;     // JSON values in one header

struct TensorInfo {
  std::string name;
  std::string dtype;                 // "F32", "F16", "I64", ...
  std::size_t itemsize = 0;          // bytes per element
  std::vector<std::int64_t> shape;
  std::uint64_t numel = 0;
  std::uint64_t begin = 0, end = 0;  // byte offsets inside the data section
};

struct Header {
  std::uint64_t header_len = 0;  // N
  std::uint64_t data_start = 0;  // 8 + N: where the data section starts in the file
  std::uint64_t data_len = 0;    // bytes in the data section
  std::vector<TensorInfo> tensors;                            // header order
  std::vector<std::pair<std::string, std::string>> metadata;  // header order

  const TensorInfo* find_tensor(const std::string& name) const;
  const std::string* find_meta(const std::string& key) const;
};

// Element size of a safetensors dtype name, 0 when unknown.
std::size_t dtype_size(const std::string& dtype);

// Validates the header. `prefix` holds the first `avail` bytes of a file whose total
// size is `file_size`; it must hold at least 8 + N bytes once N is known to be valid
// (fewer -> invalid_argument "truncated"). Nothing beyond 8 + N is read.
Header parse_header(const std::uint8_t* prefix, std::size_t avail, std::uint64_t file_size);

// The ranvier format on top of safetensors: metadata "format" == "ranvier",
// "format_version" == kFormatVersion (a newer version is refused with a message
// saying so) and every tensor F32. Throws std::invalid_argument.
constexpr int kFormatVersion = 1;
void check_ranvier(const Header& h);

// A whole file read and validated (the data section copied into memory).
struct File {
  Header header;
  std::vector<std::uint8_t> data;  // the data section (data_len bytes)
  // Copies tensor t (F32) into out (numel floats), converting from little-endian.
  void read_f32(const TensorInfo& t, float* out) const;
};
// Reads `path` in stages (8 bytes, the header, then the data section), validating
// before each allocation. I/O errors: std::runtime_error naming the path.
File read_file(const std::string& path);

// ---------------------------------------------------------------- writing
struct TensorOut {
  std::string name;
  std::vector<std::int64_t> shape;
  const float* data = nullptr;  // prod(shape) floats
};

// The complete file as bytes: header JSON padded with spaces to a multiple of 8
// (so the data section is 8-byte aligned, as the safetensors package writes),
// tensors stored in the given order.
std::vector<std::uint8_t> serialize(const std::vector<TensorOut>& tensors,
                                    const std::vector<std::pair<std::string, std::string>>& metadata);

// Writes bytes to path atomically: a temporary file in the same folder, flushed and
// fsync'ed, renamed over path, then the folder fsync'ed. On any failure the temporary
// file is removed, an existing file at path is left untouched, and a
// std::runtime_error naming the path and the OS error is thrown.
void atomic_write(const std::string& path, const std::uint8_t* bytes, std::size_t n);

}  // namespace io
}  // namespace ranvier
