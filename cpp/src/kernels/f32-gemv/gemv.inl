// The GEMV body shared by every ISA (contract in gemv.h): included inside a namespace that
// defines `simd` (the ISA's vector vocabulary) and kBlockVecs (accumulator vectors per
// column block: as many as the register file holds beside the broadcast of x[p]).

// Columns [j0, j0 + V*kW + (Tail ? tail : 0)) for the whole of k: V full vectors and, when
// Tail, one partial vector of `tail` columns (masked loads and stores).
template <int V, bool Tail>
void gemv_block(std::int64_t k, std::int64_t kstep, const float* x, const float* w, std::int64_t ldw,
                const float* bias, int act, float* y, int tail) {
  simd::vf acc[V + 1];
  for (std::int64_t p0 = 0; p0 < k; p0 += kstep) {
    const std::int64_t p1 = p0 + kstep < k ? p0 + kstep : k;
#pragma GCC unroll 16
    for (int v = 0; v <= V; ++v) acc[v] = simd::zero();
    const float* wr = w + p0 * ldw;
    for (std::int64_t p = p0; p < p1; ++p, wr += ldw) {
      const simd::vf xp = simd::set1(x[p]);
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) acc[v] = simd::fmadd(xp, simd::load(wr + v * simd::kW), acc[v]);
      if (Tail) acc[V] = simd::fmadd(xp, simd::load_tail(wr + V * simd::kW, tail), acc[V]);
    }
    // The block's sums join the running total in y (the GEMM's C = 1 * C + acc).
    if (p0 == 0) {
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) simd::store(y + v * simd::kW, acc[v]);
      if (Tail) simd::store_tail(y + V * simd::kW, acc[V], tail);
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) simd::store(y + v * simd::kW, simd::add(simd::load(y + v * simd::kW), acc[v]));
      if (Tail) simd::store_tail(y + V * simd::kW, simd::add(simd::load_tail(y + V * simd::kW, tail), acc[V]), tail);
    }
  }
  if (!bias && act != 1) return;
  for (int v = 0; v <= V; ++v) {
    if (v == V && !Tail) break;
    const int nv = v < V ? simd::kW : tail;
    simd::vf r = simd::load_tail(y + v * simd::kW, nv);
    if (bias) r = simd::add(r, simd::load_tail(bias + v * simd::kW, nv));
    if (act == 1) r = simd::max(simd::zero(), r);
    simd::store_tail(y + v * simd::kW, r, nv);
  }
}

using BlockFn = void (*)(std::int64_t, std::int64_t, const float*, const float*, std::int64_t, const float*, int,
                         float*, int);

template <int... I>
struct BlockTable {
  // [v][tail?]: the block of v full vectors, with or without a partial one.
  static constexpr BlockFn full[] = {gemv_block<I, false>...};
  static constexpr BlockFn tail[] = {gemv_block<I, true>...};
};
template <int... I>
constexpr BlockFn BlockTable<I...>::full[];
template <int... I>
constexpr BlockFn BlockTable<I...>::tail[];

template <int... I>
constexpr BlockTable<I...> make_table(std::integer_sequence<int, I...>) {
  return {};
}
using Blocks = decltype(make_table(std::make_integer_sequence<int, kBlockVecs + 1>{}));

void gemv(std::int64_t k, std::int64_t kstep, const float* x, const float* w, std::int64_t ldw, std::int64_t n,
          const float* bias, int act, float* y) {
  constexpr std::int64_t kCols = static_cast<std::int64_t>(kBlockVecs) * simd::kW;
  for (std::int64_t j0 = 0; j0 < n; j0 += kCols) {
    const std::int64_t cols = n - j0 < kCols ? n - j0 : kCols;
    const int vecs = static_cast<int>(cols / simd::kW), tail = static_cast<int>(cols % simd::kW);
    const float* bj = bias ? bias + j0 : nullptr;
    if (tail)
      Blocks::tail[vecs](k, kstep, x, w + j0, ldw, bj, act, y + j0, tail);
    else
      Blocks::full[vecs](k, kstep, x, w + j0, ldw, bj, act, y + j0, 0);
  }
}
