// runtime/alloc: the allocations on the fit / evaluate / predict / load paths, made
// exception-safe and testable.
//
// - Every such allocation goes through alloc_check(what, bytes) first: it refuses a
//   request larger than this machine's physical memory, or (from 256 MiB on) than the
//   memory available now (MemAvailable + SwapFree): the kernel would hand the block out and
//   the OOM killer would end the process once its pages are zeroed; under AddressSanitizer
//   it would abort. It is also the test-only fault-injection point (see alloc_fault_arm).
// - A failure throws AllocError, a std::bad_alloc whose what() says what was being
//   allocated and how large it was (Python: MemoryError with that message; C API:
//   RANVIER_ERROR_OUT_OF_MEMORY with that message).
// - Callers allocate into temporaries and commit only when every allocation succeeded
//   (Trainer::reserve, Network::predict, Network::finalize), so after a failure the
//   object is exactly as before and a retry with a smaller size works.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace ranvier {

class AllocError : public std::bad_alloc {
 public:
  explicit AllocError(std::string msg) : msg_(std::move(msg)) {}
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

// "1.50 GiB (1610612736 bytes)"
std::string format_bytes(std::uint64_t bytes);

// Throws AllocError when `bytes` exceed physical memory or an armed fault fires.
void alloc_check(const char* what, std::uint64_t bytes);

// rows * cols * elem_size with overflow checked (AllocError naming `what` on overflow).
std::uint64_t alloc_bytes(const char* what, std::uint64_t rows, std::uint64_t cols, std::uint64_t elem_size);

// std::vector<T>::assign(n, value) through alloc_check; a real allocation failure also
// becomes an AllocError naming `what`. Strong guarantee: on failure v is unchanged.
template <class T>
void checked_assign(std::vector<T>& v, std::uint64_t n, const T& value, const char* what) {
  const std::uint64_t bytes = alloc_bytes(what, n, 1, sizeof(T));
  if (n > v.capacity()) alloc_check(what, bytes);
  try {
    if (n > v.capacity()) {
      std::vector<T> fresh(static_cast<std::size_t>(n), value);
      v.swap(fresh);
    } else {
      v.assign(static_cast<std::size_t>(n), value);
    }
  } catch (const std::bad_alloc&) {
    throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes));
  } catch (const std::length_error&) {
    throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes));
  }
}

// v.reserve(n) through alloc_check (an AllocError naming `what` on failure).
template <class T>
void checked_reserve(std::vector<T>& v, std::uint64_t n, const char* what) {
  const std::uint64_t bytes = alloc_bytes(what, n, 1, sizeof(T));
  if (n <= v.capacity()) return;
  alloc_check(what, bytes);
  try {
    v.reserve(static_cast<std::size_t>(n));
  } catch (const std::bad_alloc&) {
    throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes));
  } catch (const std::length_error&) {
    throw AllocError(std::string("out of memory allocating ") + what + ": " + format_bytes(bytes));
  }
}

// --- test-only fault injection (compiled in always, inert unless armed) ---
// alloc_fault_arm(n > 0): the n-th alloc_check from now on (process-wide) throws
// AllocError("injected allocation failure: ..."), once; then the hook disarms itself.
// alloc_fault_arm(0) disarms. alloc_fault_count_only(true) restarts the count without
// arming anything, (false) stops counting. alloc_fault_calls(): alloc_check calls counted
// since the last arm or count_only(true) (counting runs only while armed or counting).
void alloc_fault_arm(std::int64_t nth);
void alloc_fault_count_only(bool on);
std::int64_t alloc_fault_calls();
bool alloc_fault_fired();

}  // namespace ranvier
