// io/: what small hostile files may cost and the writer's rules
// (symbolic links, temporary files of killed saves). Allocation is measured, not hooked:
// this test program counts the bytes live through operator new (malloc_usable_size), so
// a check reads the peak a call reached above what was live before it.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "testing.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

// The counter replaces operator new/delete: not under AddressSanitizer (which replaces them
// itself and measures differently), and only where malloc_usable_size exists.
#if defined(__SANITIZE_ADDRESS__)
#define RANVIER_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RANVIER_UNDER_ASAN 1
#endif
#endif
#if defined(__GLIBC__) && !defined(_WIN32) && !defined(RANVIER_UNDER_ASAN)
#include <malloc.h>
#define RANVIER_COUNT_ALLOCATIONS 1

namespace {
std::atomic<std::int64_t> g_live{0};
std::atomic<std::int64_t> g_peak{0};
void note(std::int64_t delta) {
  const std::int64_t now = g_live.fetch_add(delta) + delta;
  std::int64_t p = g_peak.load();
  while (now > p && !g_peak.compare_exchange_weak(p, now)) {
  }
}
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  note(static_cast<std::int64_t>(malloc_usable_size(p)));
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  note(-static_cast<std::int64_t>(malloc_usable_size(p)));
  std::free(p);
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  void* p = std::malloc(n ? n : 1);
  if (p) note(static_cast<std::int64_t>(malloc_usable_size(p)));
  return p;
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { operator delete(p); }
#endif

namespace {

using ranvier::json::Value;

// Peak bytes allocated by fn() above what was live when it started.
template <class F>
std::int64_t peak_of(F&& fn) {
#ifdef RANVIER_COUNT_ALLOCATIONS
  const std::int64_t base = g_live.load();
  g_peak.store(base);
  fn();
  return g_peak.load() - base;
#else
  fn();
  return 0;
#endif
}

std::vector<std::uint8_t> file_bytes(const std::vector<std::pair<std::string, std::string>>& meta) {
  return ranvier::io::serialize({}, meta);
}

std::string model_error(const std::vector<std::pair<std::string, std::string>>& meta) {
  ranvier::io::File f;
  const auto bytes = file_bytes(meta);
  try {
    f.header = ranvier::io::parse_header(bytes.data(), bytes.size(), bytes.size());
    ranvier::io::load_model(f);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> meta_with(const std::string& arch, const std::string& cc = "") {
  std::vector<std::pair<std::string, std::string>> m = {
      {"format", "ranvier"}, {"format_version", "1"}, {"contents", "model"}, {"architecture", arch}};
  if (!cc.empty()) m.emplace_back("compile_config", cc);
  return m;
}

constexpr std::int64_t kBudget = std::int64_t{64} << 20;

}  // namespace

RANVIER_TEST(json_many_keys_and_late_duplicate_are_linear) {
  std::string s = "{";
  for (int i = 0; i < 150000; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  const std::string ok = s + "}";
  const std::string dup = s + ",\"k0\":1}";
  Value v;
  const std::int64_t peak = peak_of([&] { v = ranvier::json::parse(ok.data(), ok.size(), 64, 1000000); });
  RANVIER_CHECK(v.as_object().size() == 150000, "%zu keys", v.as_object().size());
  RANVIER_CHECK(peak < kBudget, "parsing 150,000 keys peaked at %lld bytes", static_cast<long long>(peak));
  bool refused = false;
  try {
    ranvier::json::parse(dup.data(), dup.size(), 64, 1000000);
  } catch (const std::invalid_argument& e) {
    refused = std::strstr(e.what(), "duplicate key \"k0\"") != nullptr;
  }
  RANVIER_CHECK(refused, "the duplicate key at the end was not reported");
}

RANVIER_TEST(metadata_values_are_bounded_by_memory) {
  std::string big = "[";
  for (int i = 0; i < 400000; ++i) big += i ? ",0" : "0";
  big += "]";
  std::string err;
  const std::string arch = R"({"class_name": "Sequential", "config": {"name": "s", "layers": []}, "build_config": {"input_shape": [null, 2]}})";
  const std::int64_t peak = peak_of([&] { err = model_error(meta_with(arch, big)); });
  RANVIER_CHECK(err.find("values") != std::string::npos, "error: %s", err.c_str());
  RANVIER_CHECK(peak < kBudget, "peak %lld bytes", static_cast<long long>(peak));
}

// Past the fixed 16 MiB of values, the limit is one value per 4 bytes of the entry's text
// (a vocabulary of 300,000 terms in a layer's config), up to 2^21 values: a small entry
// stays under the fixed budget, a long one can only ask for ~22 bytes per byte it holds.
RANVIER_TEST(metadata_value_limit_grows_with_the_text_only) {
  using ranvier::io::kMaxMetadataValues;
  using ranvier::io::metadata_value_limit;
  RANVIER_CHECK(metadata_value_limit(0) == kMaxMetadataValues, "empty entry");
  RANVIER_CHECK(metadata_value_limit(4 * kMaxMetadataValues) == kMaxMetadataValues, "at the fixed budget");
  RANVIER_CHECK(metadata_value_limit(4000000) == 1000000, "one value per 4 bytes");
  RANVIER_CHECK(metadata_value_limit(std::size_t{1} << 40) == ranvier::io::kMaxMetadataValuesLarge, "capped");
  std::string terms = "[";
  for (int i = 0; i < 300000; ++i) terms += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  terms += "]";
  Value v;
  v = ranvier::json::parse(terms.data(), terms.size(), 64, metadata_value_limit(terms.size()));
  RANVIER_CHECK(v.as_array().size() == 300000, "%zu terms", v.as_array().size());
}

RANVIER_TEST(layer_build_config_and_metrics_are_checked_before_allocating) {
  const std::string unbuilt =
      R"({"class_name": "Sequential", "config": {"name": "s", "layers": [)"
      R"({"class_name": "Dense", "config": {"name": "a", "units": 20000}, "build_config": {"input_shape": [null, 30000]}}]}})";
  const std::string built_small_file =
      R"({"class_name": "Sequential", "config": {"name": "s", "layers": [)"
      R"({"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},)"
      R"({"class_name": "Dense", "config": {"name": "a", "units": 3}, "build_config": {"input_shape": [null, 1000000]}}]}})";
  const std::string consistent =
      R"({"class_name": "Sequential", "config": {"name": "s", "layers": [)"
      R"({"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},)"
      R"({"class_name": "Dense", "config": {"name": "a", "units": 3}, "build_config": {"input_shape": [null, 4]}}]}})";
  const std::string auc =
      R"({"optimizer": "adam", "loss": "mse", "metrics": [{"class_name": "AUC", "config": {"num_thresholds": 2147483647}}]})";
  const std::string topk =
      R"({"optimizer": "adam", "loss": "mse", "metrics": [[{"class_name": "Precision", "config": {"top_k": 3e12}}]]})";
  for (const auto& m : {meta_with(unbuilt), meta_with(built_small_file)}) {
    std::string err;
    const std::int64_t peak = peak_of([&] {
      try {
        ranvier::io::check_model_metadata(m, 15, true);
      } catch (const std::invalid_argument& e) {
        err = e.what();
      }
    });
    RANVIER_CHECK(err.find("needs more weights than the file holds") != std::string::npos ||
                      err.find("was built for 1000000 input features") != std::string::npos,
                  "error: %s", err.c_str());
    RANVIER_CHECK(peak < kBudget, "peak %lld bytes", static_cast<long long>(peak));
  }
  for (const std::string& cc : {auc, topk}) {
    std::string err;
    try {
      ranvier::io::check_model_metadata(meta_with(consistent, cc), 1u << 30, true);
    } catch (const std::invalid_argument& e) {
      err = e.what();
    }
    RANVIER_CHECK(err.find("compile_config") != std::string::npos && err.find("GiB") != std::string::npos,
                  "error: %s", err.c_str());
  }
}

#ifndef _WIN32
namespace {
std::string temp_dir() {
  char tmpl[] = "/tmp/ranvier_io_limits_XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  return d ? std::string(d) : std::string();
}

std::string read_all(const std::string& path) {
  std::string out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}
}  // namespace

RANVIER_TEST(atomic_write_through_a_symlink_writes_the_target_and_keeps_the_link) {
  const std::string d = temp_dir();
  RANVIER_CHECK(!d.empty(), "mkdtemp failed");
  ::mkdir((d + "/real").c_str(), 0700);
  const std::string target = d + "/real/model.st";
  const std::string link = d + "/link.st";
  const std::string link2 = d + "/link2.st";
  RANVIER_CHECK(::symlink("real/model.st", link.c_str()) == 0, "symlink");
  RANVIER_CHECK(::symlink("link.st", link2.c_str()) == 0, "symlink");
  const std::string a = "first";
  ranvier::io::atomic_write(link2, reinterpret_cast<const std::uint8_t*>(a.data()), a.size());  // dangling: created
  RANVIER_CHECK(read_all(target) == a, "target holds '%s'", read_all(target).c_str());
  const std::string b = "second version";
  ranvier::io::atomic_write(link, reinterpret_cast<const std::uint8_t*>(b.data()), b.size());
  struct stat st;
  RANVIER_CHECK(::lstat(link.c_str(), &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
  RANVIER_CHECK(::lstat(link2.c_str(), &st) == 0 && S_ISLNK(st.st_mode), "the link chain was broken");
  RANVIER_CHECK(read_all(target) == b, "target holds '%s'", read_all(target).c_str());
  ::unlink(link.c_str());
  ::unlink(link2.c_str());
  ::unlink(target.c_str());
  ::rmdir((d + "/real").c_str());
  ::rmdir(d.c_str());
}

RANVIER_TEST(stale_temporaries_are_removed_live_ones_kept) {
  const std::string d = temp_dir();
  const std::string stale = d + "/.m.st.ranvier-999999-0123456789abcdef.tmp";
  const std::string live = d + "/.m.st.ranvier-999998-0123456789abcdef.tmp";
  const std::string other = d + "/.m.st.other.tmp";  // not our pattern: never touched
  for (const auto& p : {stale, live, other}) {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::fputs("partial", f);
    std::fclose(f);
  }
  const int fd = ::open(live.c_str(), O_RDONLY);
  RANVIER_CHECK(fd >= 0 && ::flock(fd, LOCK_EX) == 0, "lock");  // a save in progress holds its lock
  const std::string data = "model";
  ranvier::io::atomic_write(d + "/m.st", reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  RANVIER_CHECK(!exists(stale), "the stale temporary file was left");
  RANVIER_CHECK(exists(live), "a locked (in use) temporary file was removed");
  RANVIER_CHECK(exists(other), "a file of another pattern was removed");
  RANVIER_CHECK(read_all(d + "/m.st") == data, "target");
  ::close(fd);
  for (const auto& p : {live, other, d + "/m.st"}) ::unlink(p.c_str());
  ::rmdir(d.c_str());
}

RANVIER_TEST(atomic_write_refuses_empty_paths_and_folders) {
  const std::string d = temp_dir();
  bool empty_refused = false, folder_refused = false;
  try {
    ranvier::io::atomic_write("", nullptr, 0);
  } catch (const std::invalid_argument&) {
    empty_refused = true;
  }
  try {
    ranvier::io::atomic_write(d, nullptr, 0);
  } catch (const ranvier::io::FileError& e) {
    folder_refused = e.error_code() == EISDIR;
  }
  RANVIER_CHECK(empty_refused, "an empty path was accepted");
  RANVIER_CHECK(folder_refused, "a folder was accepted");
  ::rmdir(d.c_str());
}
#endif
