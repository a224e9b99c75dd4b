// Threading helpers for the elementwise ops (activations, losses): contiguous ranges,
// a few per thread, claimed dynamically by ranvier's pool (runtime/pool.h), flush-to-zero
// set in every thread. Small problems run on the calling thread. Results never depend on
// the thread count or on which thread ran which range: the kernels are elementwise or
// row-local.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/pool.h"
#include "runtime/runtime.h"

namespace ranvier {

inline std::int64_t parallel_chunk_count(std::int64_t nt, std::int64_t max_chunks) {
  std::int64_t c = nt * std::max(1, pool_detail::pool_tuning().chunks_per_thread);
  return c < max_chunks ? c : max_chunks;
}

// f(begin, end) over [0, n), split into 16-element-aligned contiguous ranges, on at most
// one thread per min_per_thread elements.
template <class F>
void parallel_range(std::int64_t n, std::int64_t min_per_thread, const F& f) {
  if (n <= 0) return;
  std::int64_t nt = get_num_threads();
  if (min_per_thread < 1) min_per_thread = 1;
  if (n / min_per_thread < nt) nt = n / min_per_thread;
  FtzScope ftz;
  if (nt <= 1) {
    f(std::int64_t{0}, n);
    return;
  }
  const std::int64_t chunks = parallel_chunk_count(nt, (n + 15) / 16);
  const std::int64_t size = (((n + chunks - 1) / chunks) + 15) & ~std::int64_t{15};
  parallel_chunks(chunks, static_cast<int>(nt), PoolSite::elementwise, static_cast<double>(n), [&](std::int64_t c) {
    const std::int64_t b = c * size < n ? c * size : n;
    const std::int64_t e = b + size < n ? b + size : n;
    if (b < e) f(b, e);
  });
}

// f(row_begin, row_end) over [0, rows), contiguous row blocks, on at most one thread per
// min_elements_per_thread elements (rows * cols).
template <class F>
void parallel_rows(std::int64_t rows, std::int64_t cols, std::int64_t min_elements_per_thread, const F& f) {
  if (rows <= 0) return;
  const std::int64_t per_row = cols > 0 ? cols : 1;
  std::int64_t min_rows = (min_elements_per_thread + per_row - 1) / per_row;
  if (min_rows < 1) min_rows = 1;
  std::int64_t nt = get_num_threads();
  if (rows / min_rows < nt) nt = rows / min_rows;
  FtzScope ftz;
  if (nt <= 1) {
    f(std::int64_t{0}, rows);
    return;
  }
  const std::int64_t chunks = parallel_chunk_count(nt, rows);
  parallel_chunks(chunks, static_cast<int>(nt), PoolSite::rows, static_cast<double>(rows * per_row), [&](std::int64_t c) {
    const std::int64_t b = rows * c / chunks, e = rows * (c + 1) / chunks;
    if (b < e) f(b, e);
  });
}

}  // namespace ranvier
