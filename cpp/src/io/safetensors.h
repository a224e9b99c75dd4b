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
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ranvier {
namespace io {

constexpr std::uint64_t kMaxHeaderBytes = 100000000;  // as the safetensors package
// JSON values in one header: 32 MiB of parsed values (about 350,000; a tensor's entry
// takes 8, so about 40,000 tensors).
constexpr std::size_t kMaxHeaderValues = 350000;

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

  // O(1) lookups (hash indexes built by parse_header; a linear scan for a Header built by hand).
  const TensorInfo* find_tensor(const std::string& name) const;
  const std::string* find_meta(const std::string& key) const;

  std::unordered_map<std::string, std::size_t> tensor_index, meta_index;
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
// One writer per file format: the C++ API and the Python package (ranvier.saving, bound as
// _core.io_write_safetensors / io_atomic_write) both write through these functions, so
// the layout, the symlink rule and the temporary-file rule live here only.
struct TensorOut {
  std::string name;
  std::vector<std::int64_t> shape;
  const float* data = nullptr;  // prod(shape) floats
};

// A piece of a file: `size` bytes at `data` (not owned).
struct Chunk {
  const void* data = nullptr;
  std::size_t size = 0;
};

// The 8-byte length and the header JSON, padded with spaces to a multiple of 8 (so the
// data section is 8-byte aligned, as the safetensors package writes). Tensor names must
// be non-empty, unique and not "__metadata__"; shapes non-negative without overflow.
std::string serialize_header(const std::vector<TensorOut>& tensors,
                             const std::vector<std::pair<std::string, std::string>>& metadata);

// The complete file as bytes (header, then each tensor's little-endian float32 data in
// the given order).
std::vector<std::uint8_t> serialize(const std::vector<TensorOut>& tensors,
                                    const std::vector<std::pair<std::string, std::string>>& metadata);

// An operating-system error while writing a file: errno and the path, so the
// Python binding raises the matching OSError subclass (FileNotFoundError, PermissionError,
// IsADirectoryError, ...).
class FileError : public std::runtime_error {
 public:
  FileError(const std::string& msg, int err, std::string path)
      : std::runtime_error(msg), err_(err), path_(std::move(path)) {}
  int error_code() const { return err_; }
  const std::string& path() const { return path_; }

 private:
  int err_;
  std::string path_;
};

// How atomic_write flushes the temporary file: sync(fd) must make its bytes durable
// (::fsync when empty). The Python package passes os.fsync here.
struct WriteOptions {
  std::function<void(int fd)> sync;
};

// Writes the chunks, in order, to `path` atomically:
// - `path` a symbolic link: the link's final target is written (created if it dangles)
//   and the link is kept;
// - the bytes go to a temporary file ".<name>.ranvier-<pid>-<random>.tmp" in the target's
//   folder, locked (flock) while it is written, flushed and synced, given the target's
//   mode (or 0666 & ~umask for a new file), renamed over the target; then the folder is
//   synced;
// - temporary files of this pattern that no live process holds locked (left by a save
//   killed with SIGKILL/SIGTERM) are removed from that folder first;
// - on any failure the temporary file is removed, an existing target is left untouched,
//   and a FileError naming the path and the OS error is thrown.
// An empty path or a path naming a folder is refused (invalid_argument / FileError EISDIR).
void atomic_write(const std::string& path, const std::vector<Chunk>& chunks,
                  const WriteOptions& options = WriteOptions());
void atomic_write(const std::string& path, const std::uint8_t* bytes, std::size_t n);

// serialize_header + the tensors' own memory, written with atomic_write (no copy of the
// data on little-endian hosts).
void write_file(const std::string& path, const std::vector<TensorOut>& tensors,
                const std::vector<std::pair<std::string, std::string>>& metadata,
                const WriteOptions& options = WriteOptions());

// The final target of `path` when it is a symbolic link (links followed, relative targets
// resolved against the link's folder, at most 40 levels), else `path` itself.
std::string resolve_symlinks(const std::string& path);

// Removes temporary files of atomic_write's pattern in `folder` that no live process
// holds (returns how many). Called by atomic_write; exposed for tests.
std::size_t remove_stale_temporaries(const std::string& folder);

}  // namespace io
}  // namespace ranvier
