// runtime: threads and floating-point environment.
#pragma once

namespace ranvier {

// Thread count used by ranvier's parallel regions. Default: OpenMP's current
// limit (OMP_NUM_THREADS, omp_set_num_threads, threadpoolctl). set_num_threads(n > 0)
// overrides it; set_num_threads(0) returns to the default. 1 in a serial build.
int get_num_threads();
void set_num_threads(int n);
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
class FtzScope {
 public:
  FtzScope();
  ~FtzScope();
  FtzScope(const FtzScope&) = delete;
  FtzScope& operator=(const FtzScope&) = delete;

 private:
  unsigned saved_;
};

}  // namespace ranvier
