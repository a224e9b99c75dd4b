// Elementwise maps and row reductions over the SIMD vocabulary, shared by the kernel
// families written against it (f32-vunary, f32-vloss). Include it INSIDE a per-ISA
// namespace, after simd/vmath.inl (row_sum_exp and scalar_log use vexp and vlog).
// map1/map2/map3 apply f to 1-3 input streams of n floats, the tail with masked loads
// and stores; the row reductions run in a fixed order (results do not depend on threads).

template <class F>
inline void map1(const float* a, float* out, std::int64_t n, F f) {
  std::int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) simd::store(out + i, f(simd::load(a + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    simd::store_tail(out + i, f(simd::load_tail(a + i, r)), r);
  }
}

template <class F>
inline void map2(const float* a, const float* b, float* out, std::int64_t n, F f) {
  std::int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) simd::store(out + i, f(simd::load(a + i), simd::load(b + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    simd::store_tail(out + i, f(simd::load_tail(a + i, r), simd::load_tail(b + i, r)), r);
  }
}

template <class F>
inline void map3(const float* a, const float* b, const float* c, float* out, std::int64_t n, F f) {
  std::int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW)
    simd::store(out + i, f(simd::load(a + i), simd::load(b + i), simd::load(c + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    simd::store_tail(out + i, f(simd::load_tail(a + i, r), simd::load_tail(b + i, r), simd::load_tail(c + i, r)),
                     r);
  }
}

// d with NaN where x is NaN
inline vf keep_nan(vf x, vf d) { return simd::select(simd::isnan(x), x, d); }
inline vf ones() { return simd::set1(1.0f); }

constexpr float kPosInf = RANVIER_VM_INF;

inline float row_max(const float* x, std::int64_t cols) {
  vf m = simd::set1(-kPosInf);
  std::int64_t j = 0;
  for (; j + simd::kW <= cols; j += simd::kW) m = simd::max(m, simd::load(x + j));
  if (j < cols) {
    const int r = static_cast<int>(cols - j);
    m = simd::max(m, simd::select(simd::mask_first(r), simd::load_tail(x + j, r), simd::set1(-kPosInf)));
  }
  return simd::reduce_max(m);
}
inline float row_sum(const float* x, std::int64_t cols) {
  vf s = simd::zero();
  std::int64_t j = 0;
  for (; j + simd::kW <= cols; j += simd::kW) s = simd::add(s, simd::load(x + j));
  if (j < cols) s = simd::add(s, simd::load_tail(x + j, static_cast<int>(cols - j)));
  return simd::reduce_add(s);
}
inline float row_dot(const float* a, const float* b, std::int64_t cols) {
  vf s = simd::zero();
  std::int64_t j = 0;
  for (; j + simd::kW <= cols; j += simd::kW) s = simd::fmadd(simd::load(a + j), simd::load(b + j), s);
  if (j < cols) {
    const int r = static_cast<int>(cols - j);
    s = simd::fmadd(simd::load_tail(a + j, r), simd::load_tail(b + j, r), s);
  }
  return simd::reduce_add(s);
}
// sum_j exp(x_j - m); writes the exponentials to e when e != null (e may equal x)
inline float row_sum_exp(const float* x, float* e, std::int64_t cols, float m) {
  const vf mv = simd::set1(m);
  vf s = simd::zero();
  std::int64_t j = 0;
  for (; j + simd::kW <= cols; j += simd::kW) {
    const vf v = vexp(simd::sub(simd::load(x + j), mv));
    if (e) simd::store(e + j, v);
    s = simd::add(s, v);
  }
  if (j < cols) {
    const int r = static_cast<int>(cols - j);
    const vf v = simd::select(simd::mask_first(r), vexp(simd::sub(simd::load_tail(x + j, r), mv)), simd::zero());
    if (e) simd::store_tail(e + j, v, r);
    s = simd::add(s, v);
  }
  return simd::reduce_add(s);
}
inline float scalar_log(float v) { return simd::reduce_max(vlog(simd::set1(v))); }
