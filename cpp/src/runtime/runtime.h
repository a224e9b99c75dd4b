// runtime: threads and floating-point environment.
#pragma once

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace ranvier {

// Thread count used by ranvier's parallel regions (1 in a serial build).
//
// Precedence (the last setting wins, and limits are scoped):
// - Default: OpenMP's limit for the calling thread, i.e. OMP_NUM_THREADS (else the core
//   count), or whatever threadpoolctl's threadpool_limits / omp_set_num_threads set last.
// - set_num_threads(n > 0) sets the calling thread's OpenMP limit to n (as
//   torch.set_num_threads does) and caps every other thread at n too.
// - threadpool_limits(k) entered afterwards lowers the calling thread's OpenMP limit to
//   k inside its block (so it limits ranvier exactly as it limits NumPy's BLAS) and
//   restores n when the block exits.
// - set_num_threads(0) removes the cap and gives the calling thread back the limit
//   OpenMP had when ranvier was loaded.
// So get_num_threads() = min(n, OpenMP limit of the calling thread) when n > 0, else
// the OpenMP limit.
// set_num_threads(n) refuses (std::invalid_argument naming the limit) n > max_num_threads()
// = max(64, 4 x the CPU count): far more threads than cores only slows compute down, and
// huge counts make the OpenMP runtime abort the process when it starts them. n < 0 is
// refused too; n == 0 means "the default" (see above).
int get_num_threads();
void set_num_threads(int n);
int max_num_threads();
bool has_openmp();

struct BuildInfo {
  const char* version;
  const char* compiler;
  const char* cxx_flags;
  const char* isas_compiled;  // space separated
  bool openmp;
};
BuildInfo build_info();

// Sets flush-to-zero and denormals-are-zero on the calling thread for its
// lifetime and restores the previous state on destruction, so the caller's
// NumPy never sees ranvier's floating-point mode. No-op off x86.
// Inline: nested scopes (every kernel call inside a training step) only read MXCSR, find
// the bits already set and leave it alone (a write costs more than the read).
class FtzScope {
 public:
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  FtzScope() : saved_(_mm_getcsr()) {
    if ((saved_ & 0x8040u) != 0x8040u) _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
  }
  ~FtzScope() {
    if ((saved_ & 0x8040u) != 0x8040u) _mm_setcsr(saved_);
  }
#else
  FtzScope() : saved_(0) {}
  ~FtzScope() = default;
#endif
  FtzScope(const FtzScope&) = delete;
  FtzScope& operator=(const FtzScope&) = delete;

 private:
  unsigned saved_;
};

}  // namespace ranvier
