// layers/: how the layers split work over threads. Work is cut into contiguous ranges
// (a few per thread) that the threads of ranvier's pool claim dynamically (runtime/pool.h);
// each output element is computed by exactly one range in a fixed order, so results never
// depend on the thread count or on which thread ran which range.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/pool.h"
#include "runtime/runtime.h"

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

// f(begin, end) over [0, items) split into contiguous ranges (a few per thread, claimed
// dynamically). Every range runs with flush-to-zero set.
template <class F>
void parallel_ranges(std::int64_t items, std::int64_t cost_per_item, F&& f) {
  const int nt = threads_for(items, cost_per_item);
  FtzScope ftz;
  if (nt <= 1) {
    f(std::int64_t{0}, items);
    return;
  }
  const std::int64_t chunks =
      std::min<std::int64_t>(items, static_cast<std::int64_t>(nt) * std::max(1, pool_detail::pool_tuning().chunks_per_thread));
  parallel_chunks(chunks, nt, PoolSite::rows, static_cast<double>(items) * static_cast<double>(std::max<std::int64_t>(cost_per_item, 1)),
                  [&](std::int64_t c) {
                    const std::int64_t lo = items * c / chunks, hi = items * (c + 1) / chunks;
                    if (lo < hi) f(lo, hi);
                  });
}

}  // namespace layers_detail
}  // namespace ranvier
