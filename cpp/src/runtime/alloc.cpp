#include "runtime/alloc.h"

#include <atomic>
#include <cstdio>
#include <limits>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace ranvier {

namespace {

std::atomic<std::int64_t> g_fail_at{0};     // 0: inert
std::atomic<bool> g_counting{false};
std::atomic<std::int64_t> g_calls{0};
std::atomic<bool> g_fired{false};

std::uint64_t physical_memory() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
#endif
  return 0;  // unknown: no check
}

// MemAvailable + SwapFree from /proc/meminfo (Linux), 0 when unknown. Read only for large
// requests: a block bigger than this would be handed out by the overcommitting kernel and
// then end in the OOM killer when its pages are zeroed.
std::uint64_t available_memory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  std::uint64_t avail = 0, swap = 0;
  bool have = false;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
      avail = static_cast<std::uint64_t>(kb) * 1024;
      have = true;
    } else if (std::sscanf(line, "SwapFree: %llu kB", &kb) == 1) {
      swap = static_cast<std::uint64_t>(kb) * 1024;
    }
  }
  std::fclose(f);
  return have ? avail + swap : 0;
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  char buf[96];
  const double gib = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  if (gib >= 1.0)
    std::snprintf(buf, sizeof buf, "%.2f GiB (%llu bytes)", gib, static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.2f MiB (%llu bytes)", static_cast<double>(bytes) / (1024.0 * 1024.0),
                  static_cast<unsigned long long>(bytes));
  return buf;
}

std::uint64_t alloc_bytes(const char* what, std::uint64_t rows, std::uint64_t cols, std::uint64_t elem_size) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max() / 2;
  if ((cols != 0 && rows > max / cols) || (rows * cols != 0 && elem_size > max / (rows * cols)))
    throw AllocError(std::string("out of memory allocating ") + what + ": " + std::to_string(rows) + " x " +
                     std::to_string(cols) + " values of " + std::to_string(elem_size) +
                     " bytes overflow a 64-bit size");
  return rows * cols * elem_size;
}

void alloc_check(const char* what, std::uint64_t bytes) {
  if (g_fail_at.load(std::memory_order_relaxed) > 0 || g_counting.load(std::memory_order_relaxed)) {
    const std::int64_t k = g_calls.fetch_add(1) + 1;
    std::int64_t expect = k;
    if (g_fail_at.compare_exchange_strong(expect, 0)) {
      g_fired.store(true);
      throw AllocError(std::string("injected allocation failure (test hook): out of memory allocating ") + what +
                       ": " + format_bytes(bytes));
    }
  }
  static const std::uint64_t phys = physical_memory();
  if (phys && bytes > phys)
    throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes) +
                     " requested, more than this machine's " + format_bytes(phys) + " of memory");
  if (bytes >= (std::uint64_t{1} << 28)) {  // 256 MiB and more: against what is free now
    const std::uint64_t avail = available_memory();
    if (avail && bytes > avail)
      throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes) +
                       " requested, more than the " + format_bytes(avail) + " of memory available now");
  }
}

void alloc_fault_arm(std::int64_t nth) {
  g_calls.store(0);
  g_fired.store(false);
  g_fail_at.store(nth > 0 ? nth : 0);
}

void alloc_fault_count_only(bool on) {
  if (on) {  // turning it off keeps the count for alloc_fault_calls()
    g_calls.store(0);
    g_fired.store(false);
  }
  g_counting.store(on);
}

std::int64_t alloc_fault_calls() { return g_calls.load(); }
bool alloc_fault_fired() { return g_fired.load(); }

}  // namespace ranvier
