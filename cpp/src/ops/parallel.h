// Threading helpers for the elementwise ops (activations, losses): one OpenMP
// parallel region, each thread a contiguous range, FtzScope on every thread.
// Small problems run on the calling thread. Results never depend on the thread
// count: the kernels are elementwise or row-local.
#pragma once

#include <cstdint>

#include "runtime/runtime.h"

#ifdef RANVIER_OPENMP
#include <omp.h>
#endif

namespace ranvier {

// f(begin, end) over [0, n), split into 16-element-aligned contiguous ranges, at
// most one per thread and none smaller than min_per_thread elements.
template <class F>
void parallel_range(std::int64_t n, std::int64_t min_per_thread, const F& f) {
  if (n <= 0) return;
  std::int64_t nt = get_num_threads();
  if (min_per_thread < 1) min_per_thread = 1;
  if (n / min_per_thread < nt) nt = n / min_per_thread;
  if (nt <= 1) {
    FtzScope ftz;
    f(std::int64_t{0}, n);
    return;
  }
#ifdef RANVIER_OPENMP
#pragma omp parallel num_threads(static_cast<int>(nt))
  {
    FtzScope ftz;
    const std::int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t chunk = (((n + T - 1) / T) + 15) & ~std::int64_t{15};
    const std::int64_t b = t * chunk < n ? t * chunk : n;
    const std::int64_t e = b + chunk < n ? b + chunk : n;
    if (b < e) f(b, e);
  }
#else
  FtzScope ftz;
  f(std::int64_t{0}, n);
#endif
}

// f(row_begin, row_end) over [0, rows), contiguous row blocks, at most one per thread,
// each of at least min_elements_per_thread elements (rows * cols).
template <class F>
void parallel_rows(std::int64_t rows, std::int64_t cols, std::int64_t min_elements_per_thread, const F& f) {
  if (rows <= 0) return;
  const std::int64_t per_row = cols > 0 ? cols : 1;
  std::int64_t min_rows = (min_elements_per_thread + per_row - 1) / per_row;
  if (min_rows < 1) min_rows = 1;
  std::int64_t nt = get_num_threads();
  if (rows / min_rows < nt) nt = rows / min_rows;
  if (nt <= 1) {
    FtzScope ftz;
    f(std::int64_t{0}, rows);
    return;
  }
#ifdef RANVIER_OPENMP
#pragma omp parallel num_threads(static_cast<int>(nt))
  {
    FtzScope ftz;
    const std::int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t b = rows * t / T, e = rows * (t + 1) / T;
    if (b < e) f(b, e);
  }
#else
  FtzScope ftz;
  f(std::int64_t{0}, rows);
#endif
}

}  // namespace ranvier
