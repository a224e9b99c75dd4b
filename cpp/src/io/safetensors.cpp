#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <unordered_set>

#include "config/json.h"
#include "runtime/alloc.h"

#ifdef _WIN32
#include <io.h>
#include <process.h>
#include <windows.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace ranvier {
namespace io {

namespace {

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

bool host_little_endian() {
  const std::uint16_t one = 1;
  std::uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

std::uint64_t read_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void write_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::string quoted(const std::string& s) {
  // For messages only: the name as JSON, truncated.
  std::string q = json::quote(s);
  if (q.size() > 80) q = q.substr(0, 77) + "...";
  return q;
}

}  // namespace

std::size_t dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E5M2" || d == "F8_E4M3") return 1;
  return 0;
}

const TensorInfo* Header::find_tensor(const std::string& name) const {
  if (tensor_index.size() == tensors.size() && !tensors.empty()) {
    const auto it = tensor_index.find(name);
    return it == tensor_index.end() ? nullptr : &tensors[it->second];
  }
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const std::string* Header::find_meta(const std::string& key) const {
  if (meta_index.size() == metadata.size() && !metadata.empty()) {
    const auto it = meta_index.find(key);
    return it == meta_index.end() ? nullptr : &metadata[it->second].second;
  }
  for (const auto& kv : metadata)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Header parse_header(const std::uint8_t* prefix, std::size_t avail, std::uint64_t file_size) {
  if (file_size < 8)
    bad("the file is " + std::to_string(file_size) +
        " bytes long, too short for the 8-byte header length (not a safetensors file?)");
  if (avail < 8) bad("truncated: fewer than 8 bytes available");
  Header h;
  h.header_len = read_le64(prefix);
  const std::uint64_t room = file_size - 8;
  if (h.header_len > room)
    bad("the header length field says " + std::to_string(h.header_len) + " bytes but only " +
        std::to_string(room) + " bytes follow it (truncated or not a safetensors file)");
  if (h.header_len > kMaxHeaderBytes)
    bad("the header length " + std::to_string(h.header_len) + " exceeds the limit of " +
        std::to_string(kMaxHeaderBytes) + " bytes");
  if (h.header_len < 2) bad("the header is " + std::to_string(h.header_len) + " bytes, too short for a JSON object");
  if (avail - 8 < h.header_len) bad("truncated: the header is incomplete");
  h.data_start = 8 + h.header_len;
  h.data_len = file_size - h.data_start;

  const char* text = reinterpret_cast<const char*>(prefix + 8);
  if (text[0] != '{') bad("the header does not start with '{' (not a safetensors file?)");
  json::Value root;
  try {
    root = json::parse(text, static_cast<std::size_t>(h.header_len), 32, kMaxHeaderValues);
  } catch (const std::invalid_argument& e) {
    bad(std::string("the header is not valid JSON: ") + e.what());
  }

  for (const auto& kv : root.as_object("header")) {
    const std::string& name = kv.first;
    const json::Value& v = kv.second;
    if (name == "__metadata__") {
      if (!v.is_object()) bad("\"__metadata__\" must be an object of strings, got " + std::string(json::Value::type_name(v.type())));
      for (const auto& m : v.as_object()) {
        if (!m.second.is_string())
          bad("metadata " + quoted(m.first) + " must be a string, got " + json::Value::type_name(m.second.type()));
        h.meta_index.emplace(m.first, h.metadata.size());
        h.metadata.emplace_back(m.first, m.second.as_string());
      }
      continue;
    }
    const std::string where = "tensor " + quoted(name);
    if (name.empty()) bad("a tensor has an empty name");
    if (!v.is_object()) bad(where + ": expected an object, got " + json::Value::type_name(v.type()));
    const json::Value* dtype = nullptr;
    const json::Value* shape = nullptr;
    const json::Value* offsets = nullptr;
    for (const auto& f : v.as_object()) {
      if (f.first == "dtype") dtype = &f.second;
      else if (f.first == "shape") shape = &f.second;
      else if (f.first == "data_offsets") offsets = &f.second;
      else bad(where + ": unknown field " + quoted(f.first));
    }
    if (!dtype || !shape || !offsets) bad(where + ": needs \"dtype\", \"shape\" and \"data_offsets\"");
    TensorInfo t;
    t.name = name;
    if (!dtype->is_string()) bad(where + ": dtype must be a string");
    t.dtype = dtype->as_string();
    t.itemsize = dtype_size(t.dtype);
    if (t.itemsize == 0) bad(where + ": unknown dtype " + quoted(t.dtype));
    if (!shape->is_array()) bad(where + ": shape must be an array of integers");
    std::uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : shape->as_array()) {
      std::uint64_t dim;
      try {
        dim = d.as_uint("dimension");
      } catch (const std::invalid_argument& e) {
        bad(where + ": shape " + e.what());
      }
      if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        bad(where + ": shape dimension " + std::to_string(dim) + " is too large");
      t.shape.push_back(static_cast<std::int64_t>(dim));
      if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / dim) overflow = true;
      else numel *= dim;
    }
    if (!offsets->is_array() || offsets->as_array().size() != 2)
      bad(where + ": data_offsets must be an array [begin, end]");
    try {
      t.begin = offsets->as_array()[0].as_uint("data_offsets begin");
      t.end = offsets->as_array()[1].as_uint("data_offsets end");
    } catch (const std::invalid_argument& e) {
      bad(where + ": " + e.what());
    }
    if (t.begin > t.end) bad(where + ": data_offsets begin " + std::to_string(t.begin) + " > end " + std::to_string(t.end));
    if (t.end > h.data_len)
      bad(where + ": data_offsets end " + std::to_string(t.end) + " is beyond the data section (" +
          std::to_string(h.data_len) + " bytes; the file is truncated or corrupted)");
    // numel * itemsize must equal the byte range (overflow means it cannot).
    if (overflow || numel > std::numeric_limits<std::uint64_t>::max() / t.itemsize ||
        numel * t.itemsize != t.end - t.begin) {
      std::string s = "[";
      for (std::size_t i = 0; i < t.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
      s += "]";
      bad(where + ": shape " + s + " of " + t.dtype + " does not match its " +
          std::to_string(t.end - t.begin) + " bytes of data_offsets");
    }
    t.numel = numel;
    h.tensor_index.emplace(t.name, h.tensors.size());
    h.tensors.push_back(std::move(t));
  }

  // Offsets: sorted, they must tile [0, data_len) exactly.
  std::vector<const TensorInfo*> sorted;
  sorted.reserve(h.tensors.size());
  for (const auto& t : h.tensors) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t pos = 0;
  for (const TensorInfo* t : sorted) {
    if (t->begin < pos) bad("tensor " + quoted(t->name) + ": data_offsets overlap another tensor");
    if (t->begin > pos)
      bad("tensor " + quoted(t->name) + ": a gap of " + std::to_string(t->begin - pos) +
          " bytes precedes its data (offsets must cover the data section)");
    pos = t->end;
  }
  if (pos != h.data_len)
    bad(std::to_string(h.data_len - pos) + " trailing bytes after the last tensor (expected " +
        std::to_string(pos) + " bytes of data, found " + std::to_string(h.data_len) + ")");
  return h;
}

void check_ranvier(const Header& h) {
  const std::string* fmt = h.find_meta("format");
  if (!fmt || *fmt != "ranvier")
    bad("not a ranvier model (metadata \"format\" is " + (fmt ? quoted(*fmt) : std::string("missing")) +
        ", expected \"ranvier\")");
  const std::string* ver = h.find_meta("format_version");
  if (!ver) bad("metadata \"format_version\" is missing");
  long long v = -1;
  {
    const std::string& s = *ver;
    bool ok = !s.empty() && s.size() <= 9 && (s == "0" || s[0] != '0');
    for (char c : s) ok = ok && c >= '0' && c <= '9';
    if (!ok) bad("metadata \"format_version\" " + quoted(s) + " is not a version number");
    v = std::stoll(s);
  }
  if (v > kFormatVersion)
    bad("format_version " + std::to_string(v) + " is newer than this ranvier reads (" +
        std::to_string(kFormatVersion) + "); upgrade ranvier");
  if (v < 1) bad("format_version " + std::to_string(v) + " is not a valid version");
  for (const auto& t : h.tensors)
    if (t.dtype != "F32") bad("tensor " + quoted(t.name) + " has dtype " + t.dtype + "; ranvier model files hold F32 only");
}

void File::read_f32(const TensorInfo& t, float* out) const {
  if (t.dtype != "F32") throw std::invalid_argument("tensor " + quoted(t.name) + " is " + t.dtype + ", not F32");
  const std::uint8_t* p = data.data() + t.begin;
  const std::size_t bytes = static_cast<std::size_t>(t.end - t.begin);
  if (bytes) std::memcpy(out, p, bytes);
  if (!host_little_endian()) {
    auto* b = reinterpret_cast<std::uint8_t*>(out);
    for (std::size_t i = 0; i + 3 < bytes; i += 4) {
      std::swap(b[i], b[i + 3]);
      std::swap(b[i + 1], b[i + 2]);
    }
  }
}

// ---------------------------------------------------------------- file I/O
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

[[noreturn]] void io_error(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(what + " '" + path + "': " + std::strerror(err));
}

void read_exact(std::FILE* f, std::uint8_t* p, std::size_t n, const std::string& path) {
  if (n && std::fread(p, 1, n, f) != n)
    throw std::invalid_argument("invalid model file: '" + path + "' ended early while reading");
}

}  // namespace

namespace {
File read_file_unnamed(const std::string& path);
}  // namespace

File read_file(const std::string& path) {
  try {
    return read_file_unnamed(path);
  } catch (const std::invalid_argument& e) {  // every error names the file
    const std::string msg = e.what();
    if (msg.find("'" + path + "'") != std::string::npos) throw;
    throw std::invalid_argument("'" + path + "': " + msg);
  }
}

namespace {
File read_file_unnamed(const std::string& path) {
  errno = 0;
#ifndef _WIN32
  {  // refuse FIFOs, devices and folders before opening: opening a FIFO blocks until a writer comes
    struct stat st0;
    if (stat(path.c_str(), &st0) == 0 && !S_ISREG(st0.st_mode))
      throw std::invalid_argument("'" + path + "' is not a regular file");
  }
#endif
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) io_error("cannot open", path, errno);
  // File size (a regular file is required: we rely on the size to bound allocations).
  std::uint64_t size = 0;
#ifdef _WIN32
  if (_fseeki64(f.get(), 0, SEEK_END) != 0) io_error("cannot seek in", path, errno);
  const long long end = _ftelli64(f.get());
  if (end < 0) io_error("cannot size", path, errno);
  size = static_cast<std::uint64_t>(end);
  _fseeki64(f.get(), 0, SEEK_SET);
#else
  struct stat st;
  if (fstat(fileno(f.get()), &st) != 0) io_error("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) throw std::invalid_argument("'" + path + "' is not a regular file");
  size = static_cast<std::uint64_t>(st.st_size);
#endif
  std::uint8_t len8[8];
  if (size < 8) {
    parse_header(len8, 0, size);  // throws the "too short" message
  }
  read_exact(f.get(), len8, 8, path);
  const std::uint64_t n = read_le64(len8);
  if (n > size - 8 || n > kMaxHeaderBytes) parse_header(len8, 8, size);  // throws with the reason
  std::vector<std::uint8_t> prefix;
  checked_assign(prefix, 8 + n, std::uint8_t{0}, "a model file's header");
  std::memcpy(prefix.data(), len8, 8);
  read_exact(f.get(), prefix.data() + 8, static_cast<std::size_t>(n), path);
  File out;
  out.header = parse_header(prefix.data(), prefix.size(), size);
  checked_assign(out.data, out.header.data_len, std::uint8_t{0}, "a model file's tensor data");
  read_exact(f.get(), out.data.data(), out.data.size(), path);
  return out;
}
}  // namespace

// ---------------------------------------------------------------- writing
std::string serialize_header(const std::vector<TensorOut>& tensors,
                             const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i) {
      if (i) h += ",";
      h += json::quote(metadata[i].first) + ":" + json::quote(metadata[i].second);
    }
    h += "}";
    first = false;
  }
  std::unordered_set<std::string> names;
  names.reserve(tensors.size());
  std::uint64_t off = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      throw std::invalid_argument("serialize: invalid tensor name " + quoted(t.name));
    if (!names.insert(t.name).second) throw std::invalid_argument("serialize: duplicate tensor name " + quoted(t.name));
    std::uint64_t numel = 1;
    std::string shape = "[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (t.shape[i] < 0) throw std::invalid_argument("serialize: negative dimension in tensor " + quoted(t.name));
      const auto d = static_cast<std::uint64_t>(t.shape[i]);
      if (d != 0 && numel > (std::numeric_limits<std::uint64_t>::max() / 4) / d)
        throw std::invalid_argument("serialize: the shape of tensor " + quoted(t.name) + " overflows");
      numel *= d;
      shape += (i ? "," : "") + std::to_string(t.shape[i]);
    }
    shape += "]";
    const std::uint64_t bytes = numel * 4;
    if (bytes && !t.data) throw std::invalid_argument("serialize: tensor " + quoted(t.name) + " has no data");
    if (!first) h += ",";
    first = false;
    h += json::quote(t.name) + ":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(off) + "," + std::to_string(off + bytes) + "]}";
    off += bytes;
  }
  h += "}";
  while (h.size() % 8 != 0) h += ' ';
  std::string out(8, '\0');
  write_le64(reinterpret_cast<std::uint8_t*>(&out[0]), h.size());
  out += h;
  return out;
}

namespace {
std::size_t tensor_bytes(const TensorOut& t) {
  std::size_t numel = 1;
  for (auto d : t.shape) numel *= static_cast<std::size_t>(d);
  return numel * 4;
}

// The file's chunks: the header, then each tensor's bytes (the tensors' own memory on a
// little-endian host; byte-swapped copies kept in `swapped` otherwise).
std::vector<Chunk> file_chunks(const std::string& header, const std::vector<TensorOut>& tensors,
                               std::vector<std::vector<std::uint8_t>>& swapped) {
  std::vector<Chunk> chunks;
  chunks.reserve(tensors.size() + 1);
  chunks.push_back(Chunk{header.data(), header.size()});
  for (const auto& t : tensors) {
    const std::size_t n = tensor_bytes(t);
    if (!n) continue;
    if (host_little_endian()) {
      chunks.push_back(Chunk{t.data, n});
      continue;
    }
    swapped.emplace_back(reinterpret_cast<const std::uint8_t*>(t.data), reinterpret_cast<const std::uint8_t*>(t.data) + n);
    auto& b = swapped.back();
    for (std::size_t i = 0; i + 3 < n; i += 4) {
      std::swap(b[i], b[i + 3]);
      std::swap(b[i + 1], b[i + 2]);
    }
    chunks.push_back(Chunk{b.data(), n});
  }
  return chunks;
}

std::string dirname_of(const std::string& p) {
  const std::size_t slash = p.find_last_of("/\\");
  if (slash == std::string::npos) return ".";
  return slash == 0 ? std::string("/") : p.substr(0, slash);
}

std::string basename_of(const std::string& p) {
  const std::size_t slash = p.find_last_of("/\\");
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

constexpr const char* kTmpTag = ".ranvier-";  // .<name>.ranvier-<pid>-<random>.tmp

bool is_our_temporary(const std::string& name) {
  const std::size_t tag = name.rfind(kTmpTag);
  return name.size() > 5 && name[0] == '.' && tag != std::string::npos && tag > 0 &&
         name.compare(name.size() - 4, 4, ".tmp") == 0;
}
}  // namespace

std::vector<std::uint8_t> serialize(const std::vector<TensorOut>& tensors,
                                    const std::vector<std::pair<std::string, std::string>>& metadata) {
  const std::string header = serialize_header(tensors, metadata);
  std::vector<std::vector<std::uint8_t>> swapped;
  const auto chunks = file_chunks(header, tensors, swapped);
  std::size_t total = 0;
  for (const auto& c : chunks) total += c.size;
  std::vector<std::uint8_t> out(total);
  std::uint8_t* p = out.data();
  for (const auto& c : chunks) {
    std::memcpy(p, c.data, c.size);
    p += c.size;
  }
  return out;
}

#ifndef _WIN32
std::string resolve_symlinks(const std::string& path) {
  std::string p = path;
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    const ssize_t n = ::readlink(p.c_str(), &target[0], target.size());
    if (n < 0) throw FileError("cannot read the symbolic link '" + p + "': " + std::strerror(errno), errno, p);
    if (static_cast<std::size_t>(n) >= target.size()) {
      throw FileError("the symbolic link '" + p + "' changed while it was read", EAGAIN, p);
    }
    target.resize(static_cast<std::size_t>(n));
    if (target.empty()) throw FileError("the symbolic link '" + p + "' is empty", ENOENT, p);
    p = target[0] == '/' ? target : (p.find('/') == std::string::npos ? target : dirname_of(p) + "/" + target);
  }
  throw FileError("cannot save to '" + path + "': too many levels of symbolic links", ELOOP, path);
}

std::size_t remove_stale_temporaries(const std::string& folder) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(folder.c_str()), &::closedir);
  if (!d) return 0;
  std::vector<std::string> candidates;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (is_our_temporary(name)) candidates.push_back(name);
  }
  std::size_t removed = 0;
  for (const auto& name : candidates) {
    const std::string full = folder + "/" + name;
    const int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st, again;
    // Ours: a regular file of this user's that no live process holds locked (a writer holds
    // its lock from creation to rename; the kernel drops it when the process dies).
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && st.st_nlink == 1 &&
        ::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::lstat(full.c_str(), &again) == 0 && again.st_ino == st.st_ino &&
        again.st_dev == st.st_dev && ::unlink(full.c_str()) == 0)
      ++removed;
    ::close(fd);  // releases the lock (after the unlink: a writer that raced us sees nlink == 0)
  }
  return removed;
}

void atomic_write(const std::string& path, const std::vector<Chunk>& chunks, const WriteOptions& options) {
  if (path.empty()) throw std::invalid_argument("save: the file path is empty");
  const std::string target = resolve_symlinks(path);
  const std::string shown = target == path ? path : path + "' (a link to '" + target + "')";
  struct stat tst;
  const bool exists = ::stat(target.c_str(), &tst) == 0;
  if (exists && S_ISDIR(tst.st_mode))
    throw FileError("cannot save to '" + shown + "': it is a folder", EISDIR, path);
  const std::string base = basename_of(target);
  if (base.empty() || base == "." || base == "..")
    throw FileError("cannot save to '" + shown + "': it names a folder, not a file", EISDIR, path);
  const std::string dir = dirname_of(target);
  remove_stale_temporaries(dir);

  std::random_device rd;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "%s%d-%08x%08x.tmp", kTmpTag, static_cast<int>(::getpid()),
                  static_cast<unsigned>(rd()), static_cast<unsigned>(rd()));
    tmp = (target.find_last_of('/') == std::string::npos ? std::string() : dir + "/") + "." + base.substr(0, 120) +
          suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 16) continue;
      throw FileError("cannot create a temporary file next to '" + shown + "': " + std::strerror(errno), errno, path);
    }
    struct stat st;
    // Locked before anything is written; a concurrent cleaner that unlinked the name in the
    // instant before the lock leaves nlink == 0: start again with a new name.
    if (::flock(fd, LOCK_EX) != 0 || ::fstat(fd, &st) != 0 || st.st_nlink == 0) {
      ::close(fd);
      fd = -1;
      if (attempt >= 16) throw FileError("cannot lock a temporary file next to '" + shown + "'", EAGAIN, path);
    }
  }
  const auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    ::close(fd);
    throw FileError(what + " '" + shown + "': " + std::strerror(err), err, path);
  };
  try {
    for (const auto& c : chunks) {
      const auto* p = static_cast<const std::uint8_t*>(c.data);
      std::size_t done = 0;
      while (done < c.size) {
        const ssize_t w = ::write(fd, p + done, c.size - done);
        if (w < 0) {
          if (errno == EINTR) continue;
          fail("cannot write", errno);
        }
        done += static_cast<std::size_t>(w);
      }
    }
    if (exists) (void)::fchmod(fd, tst.st_mode & 07777);  // keep the target's mode
    if (options.sync) {
      options.sync(fd);
    } else if (::fsync(fd) != 0) {
      fail("cannot flush", errno);
    }
  } catch (const FileError&) {
    throw;
  } catch (...) {  // the sync hook failed (a Python OSError, say): clean up, pass it on
    ::unlink(tmp.c_str());
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw FileError("cannot write '" + shown + "': " + std::strerror(err), err, path);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw FileError("cannot replace '" + shown + "': " + std::strerror(err), err, path);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort: some file systems refuse fsync on folders
    (void)::fsync(dfd);
    ::close(dfd);
  }
}
#else   // Windows: no symbolic-link resolution, no locks; MoveFileEx replaces atomically.
std::string resolve_symlinks(const std::string& path) { return path; }
std::size_t remove_stale_temporaries(const std::string&) { return 0; }

void atomic_write(const std::string& path, const std::vector<Chunk>& chunks, const WriteOptions& options) {
  if (path.empty()) throw std::invalid_argument("save: the file path is empty");
  const std::string base = basename_of(path);
  if (base.empty()) throw FileError("cannot save to '" + path + "': it names a folder, not a file", EISDIR, path);
  std::random_device rd;
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "%s%d-%08x.tmp", kTmpTag, _getpid(), static_cast<unsigned>(rd()));
  const std::size_t slash = path.find_last_of("/\\");
  const std::string tmp = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "." + base + suffix;
  std::FILE* f = std::fopen(tmp.c_str(), "wbx");
  if (!f) throw FileError("cannot create a temporary file next to '" + path + "'", errno, path);
  bool ok = true;
  for (const auto& c : chunks) ok = ok && (c.size == 0 || std::fwrite(c.data, 1, c.size, f) == c.size);
  ok = ok && std::fflush(f) == 0;
  int err = errno;
  try {
    if (ok && options.sync) options.sync(_fileno(f));
    else ok = ok && _commit(_fileno(f)) == 0;
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw FileError("cannot write '" + path + "'", err ? err : EIO, path);
  }
  if (!MoveFileExA(tmp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    std::remove(tmp.c_str());
    throw FileError("cannot replace '" + path + "' (MoveFileEx failed)", EIO, path);
  }
}
#endif

void atomic_write(const std::string& path, const std::uint8_t* bytes, std::size_t n) {
  atomic_write(path, std::vector<Chunk>{Chunk{bytes, n}});
}

void write_file(const std::string& path, const std::vector<TensorOut>& tensors,
                const std::vector<std::pair<std::string, std::string>>& metadata, const WriteOptions& options) {
  const std::string header = serialize_header(tensors, metadata);
  std::vector<std::vector<std::uint8_t>> swapped;
  atomic_write(path, file_chunks(header, tensors, swapped), options);
}

}  // namespace io
}  // namespace ranvier
