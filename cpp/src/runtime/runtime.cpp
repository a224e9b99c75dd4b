#include "runtime/runtime.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#ifdef RANVIER_OPENMP
#include <omp.h>
#endif

namespace ranvier {

namespace {
std::atomic<int> g_threads{0};  // set_num_threads(n > 0); 0 = follow OpenMP
#ifdef RANVIER_OPENMP
// OpenMP's limit when this library was loaded (OMP_NUM_THREADS, else the cores):
// what set_num_threads(0) gives back to the calling thread.
const int g_default_omp_threads = omp_get_max_threads();
#endif
}  // namespace

int get_num_threads() {
#ifdef RANVIER_OPENMP
  int omp = omp_get_max_threads();  // this thread's limit: OMP_NUM_THREADS, threadpoolctl
  if (omp < 1) omp = 1;
  const int n = g_threads.load(std::memory_order_relaxed);
  return (n > 0 && n < omp) ? n : omp;
#else
  return 1;
#endif
}

int max_num_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  const long cpus = hw ? static_cast<long>(hw) : 1;
  return static_cast<int>(std::max<long>(64, 4 * cpus));
}

void set_num_threads(int n) {
  if (n < 0)
    throw std::invalid_argument("set_num_threads: n must be >= 0 (0 = default), got " + std::to_string(n));
  if (n > max_num_threads())
    throw std::invalid_argument("set_num_threads: n=" + std::to_string(n) + " is far above this machine's " +
                                std::to_string(std::thread::hardware_concurrency()) + " CPUs; the limit is " +
                                std::to_string(max_num_threads()) + " (4 x the CPU count, at least 64)");
  g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed);
#ifdef RANVIER_OPENMP
  omp_set_num_threads(n > 0 ? n : g_default_omp_threads);
#endif
}

bool has_openmp() {
#ifdef RANVIER_OPENMP
  return true;
#else
  return false;
#endif
}

BuildInfo build_info() {
  return BuildInfo{RANVIER_VERSION, RANVIER_COMPILER, RANVIER_CXX_FLAGS, RANVIER_ISAS_COMPILED, has_openmp()};
}

}  // namespace ranvier
