// layers/: how the layers split work over threads. Work is cut into contiguous
// ranges by thread id inside one parallel region; each output element is computed
// by exactly one thread in a fixed order, so results never depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/runtime.h"

#ifdef RANVIER_OPENMP
#include <omp.h>
#endif

namespace ranvier {
namespace layers_detail {

// Threads worth using for `items` independent items costing `cost_per_item` floats of
// work each: one thread below ~32k floats per thread (a parallel region costs a few us).
inline int threads_for(std::int64_t items, std::int64_t cost_per_item) {
  const std::int64_t work = items * std::max<std::int64_t>(cost_per_item, 1);
  const std::int64_t by_work = work / 32768;
  const std::int64_t n = std::min<std::int64_t>({by_work, items, get_num_threads()});
  return n < 1 ? 1 : static_cast<int>(n);
}

// f(begin, end) over [0, items) split into contiguous ranges, one per thread.
// Every thread runs under FtzScope.
template <class F>
void parallel_ranges(std::int64_t items, std::int64_t cost_per_item, F&& f) {
  const int nt = threads_for(items, cost_per_item);
  if (nt <= 1) {
    FtzScope ftz;
    f(std::int64_t{0}, items);
    return;
  }
#ifdef RANVIER_OPENMP
#pragma omp parallel num_threads(nt)
  {
    FtzScope ftz;
    const int t = omp_get_thread_num();
    const int n = omp_get_num_threads();
    const std::int64_t lo = items * t / n;
    const std::int64_t hi = items * (t + 1) / n;
    if (lo < hi) f(lo, hi);
  }
#else
  FtzScope ftz;
  f(std::int64_t{0}, items);
#endif
}

}  // namespace layers_detail
}  // namespace ranvier
