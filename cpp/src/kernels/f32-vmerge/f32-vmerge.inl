// f32-vmerge kernel bodies (contracts: kernels/f32-vmerge/vmerge.h). Written once against
// the SIMD vocabulary; included by f32-vmerge-{scalar,avx2,avx512}.cpp inside their
// per-ISA namespace, with `simd` naming that ISA's vocabulary.

using vf = simd::vf;
using vmask = simd::mask;

// f(i, r): one block of simd::kW floats at offset i (r == kW), then the tail (r < kW).
template <class F>
inline void blocks(std::int64_t n, F f) {
  std::int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) f(i, simd::kW);
  if (i < n) f(i, static_cast<int>(n - i));
}
inline vf ld(const float* p, std::int64_t i, int r) {
  return r == simd::kW ? simd::load(p + i) : simd::load_tail(p + i, r);
}
inline void st(float* p, std::int64_t i, int r, vf v) {
  if (r == simd::kW) simd::store(p + i, v);
  else simd::store_tail(p + i, v, r);
}
// max / min with NaN propagated. The vocabulary's max(a, b) / min(a, b) return b when
// either is NaN on every ISA (maxps / minps; the scalar a > b ? a : b), so only a NaN a needs
// the select (two selects the compiler if-converts on the scalar tier too).
inline vf max_nan(vf a, vf b) { return simd::select(simd::isnan(a), a, simd::max(a, b)); }
inline vf min_nan(vf a, vf b) { return simd::select(simd::isnan(a), a, simd::min(a, b)); }

// y = op(...op(op(x0, x1), x2)..., x(k-1)), then y / divisor when divide. Done in passes
// over chunks of kChunk floats, each pass a loop over two streams that the compiler also
// vectorizes on the scalar tier; one pass per block instead when y is one of xs[1..k)
// (a pass would overwrite a later input before reading it). Same operations, same order.
constexpr std::int64_t kChunk = 1024;

template <class Op>
inline void nary(const float* const* xs, int k, std::int64_t off, float* y, std::int64_t n, Op op, bool divide,
                 float divisor) {
  const vf d = simd::set1(divisor);
  bool alias = false;
  for (int t = 1; t < k; ++t) alias = alias || xs[t] + off == y;
  if (alias || k == 1) {
    blocks(n, [&](std::int64_t i, int r) {
      vf acc = ld(xs[0] + off, i, r);
      for (int t = 1; t < k; ++t) acc = op(acc, ld(xs[t] + off, i, r));
      st(y, i, r, divide ? simd::div(acc, d) : acc);
    });
    return;
  }
  for (std::int64_t c = 0; c < n; c += kChunk) {
    const std::int64_t len = n - c < kChunk ? n - c : kChunk;
    float* yc = y + c;
    const float* a = xs[0] + off + c;
    const float* b = xs[1] + off + c;
    blocks(len, [&](std::int64_t i, int r) { st(yc, i, r, op(ld(a, i, r), ld(b, i, r))); });
    for (int t = 2; t < k; ++t) {
      const float* x = xs[t] + off + c;
      blocks(len, [&](std::int64_t i, int r) { st(yc, i, r, op(ld(yc, i, r), ld(x, i, r))); });
    }
    if (divide) blocks(len, [&](std::int64_t i, int r) { st(yc, i, r, simd::div(ld(yc, i, r), d)); });
  }
}

void k_sum(const float* const* xs, int k, std::int64_t off, float divisor, float* y, std::int64_t n) {
  nary(xs, k, off, y, n, [](vf a, vf b) { return simd::add(a, b); }, divisor != 1.0f, divisor);
}

void k_prod(const float* const* xs, int k, std::int64_t off, float* y, std::int64_t n) {
  nary(xs, k, off, y, n, [](vf a, vf b) { return simd::mul(a, b); }, false, 1.0f);
}

void k_max(const float* const* xs, int k, std::int64_t off, float* y, std::int64_t n) {
  nary(xs, k, off, y, n, [](vf a, vf b) { return max_nan(a, b); }, false, 1.0f);
}

void k_min(const float* const* xs, int k, std::int64_t off, float* y, std::int64_t n) {
  nary(xs, k, off, y, n, [](vf a, vf b) { return min_nan(a, b); }, false, 1.0f);
}

void k_sub(const float* a, const float* b, float* y, std::int64_t n) {
  blocks(n, [&](std::int64_t i, int r) { st(y, i, r, simd::sub(ld(a, i, r), ld(b, i, r))); });
}

void k_scale(const float* x, float s, float* y, std::int64_t n) {
  const vf sv = simd::set1(s);
  blocks(n, [&](std::int64_t i, int r) { st(y, i, r, simd::mul(ld(x, i, r), sv)); });
}

void k_div(const float* x, float s, float* y, std::int64_t n) {
  const vf sv = simd::set1(s);
  blocks(n, [&](std::int64_t i, int r) { st(y, i, r, simd::div(ld(x, i, r), sv)); });
}

void k_prod_except(const float* const* xs, int k, int skip, std::int64_t off, const float* dy, float* dx,
                   std::int64_t n) {
  bool alias = dx == dy;  // dx is dy, or an input: one pass per block
  for (int t = 0; t < k; ++t) alias = alias || xs[t] + off == dx;
  if (alias || k == 1) {
    blocks(n, [&](std::int64_t i, int r) {
      vf acc = simd::set1(1.0f);
      bool first = true;
      for (int t = 0; t < k; ++t) {
        if (t == skip) continue;
        const vf v = ld(xs[t] + off, i, r);
        acc = first ? v : simd::mul(acc, v);
        first = false;
      }
      st(dx, i, r, first ? ld(dy, i, r) : simd::mul(ld(dy, i, r), acc));
    });
    return;
  }
  // the same products in passes over chunks: dx = x_a (the first other input), dx *= each
  // later other input, then dx = dy * dx
  const int first = skip == 0 ? 1 : 0;
  for (std::int64_t c = 0; c < n; c += kChunk) {
    const std::int64_t len = n - c < kChunk ? n - c : kChunk;
    float* d = dx + c;
    const float* g = dy + c;
    const float* a = xs[first] + off + c;
    blocks(len, [&](std::int64_t i, int r) { st(d, i, r, ld(a, i, r)); });
    for (int t = first + 1; t < k; ++t) {
      if (t == skip) continue;
      const float* x = xs[t] + off + c;
      blocks(len, [&](std::int64_t i, int r) { st(d, i, r, simd::mul(ld(d, i, r), ld(x, i, r))); });
    }
    blocks(len, [&](std::int64_t i, int r) { st(d, i, r, simd::mul(ld(g, i, r), ld(d, i, r))); });
  }
}

void k_route(const float* const* xs, int k, std::int64_t off, const float* y, const float* dy, float* const* dxs,
             std::int64_t n) {
  bool alias = false;  // a dx that is dy: one pass per block (dy read before any dx is written)
  for (int t = 0; t < k; ++t) alias = alias || dxs[t] + off == dy;
  if (alias) {
    blocks(n, [&](std::int64_t i, int r) {
      const vf yv = ld(y, i, r), g = ld(dy, i, r);
      const vmask ynan = simd::isnan(yv);
      vmask taken = simd::lt(yv, yv);  // all false (NaN-safe: lt is ordered)
      for (int t = 0; t < k; ++t) {
        const vf xv = ld(xs[t] + off, i, r);
        vmask hit = simd::mask_and(simd::eq(xv, yv), simd::mask_not(taken));  // eq is false on NaN
        if (t == k - 1) hit = simd::mask_or(hit, ynan);
        if (dxs[t]) st(dxs[t] + off, i, r, simd::select(hit, g, simd::zero()));
        taken = simd::mask_or(taken, hit);
      }
    });
    return;
  }
  // passes over chunks, one per input, the inputs already served marked in `taken` (1.0f);
  // two-stream loops the compiler vectorizes on the scalar tier too
  float taken[kChunk];
  const vf one = simd::set1(1.0f), zero = simd::zero();
  for (std::int64_t c = 0; c < n; c += kChunk) {
    const std::int64_t len = n - c < kChunk ? n - c : kChunk;
    const float* yc = y + c;
    const float* g = dy + c;
    for (int t = 0; t < k; ++t) {
      const float* x = xs[t] + off + c;
      float* d = dxs[t] ? dxs[t] + off + c : nullptr;
      if (t == 0 && k == 1) {  // the only input: NaN or not, it takes dy
        if (d) blocks(len, [&](std::int64_t i, int r) { st(d, i, r, ld(g, i, r)); });
      } else if (t == 0) {
        blocks(len, [&](std::int64_t i, int r) {
          const vmask hit = simd::eq(ld(x, i, r), ld(yc, i, r));
          if (d) st(d, i, r, simd::select(hit, ld(g, i, r), zero));
          st(taken, i, r, simd::select(hit, one, zero));
        });
      } else if (t < k - 1) {
        blocks(len, [&](std::int64_t i, int r) {
          const vf tk = ld(taken, i, r);
          const vmask hit = simd::mask_and(simd::eq(ld(x, i, r), ld(yc, i, r)), simd::eq(tk, zero));
          if (d) st(d, i, r, simd::select(hit, ld(g, i, r), zero));
          st(taken, i, r, simd::select(hit, one, tk));
        });
      } else if (d) {  // the last input also takes a NaN output's gradient
        blocks(len, [&](std::int64_t i, int r) {
          const vf yv = ld(yc, i, r);
          const vmask hit = simd::mask_or(simd::mask_and(simd::eq(ld(x, i, r), yv), simd::eq(ld(taken, i, r), zero)),
                                          simd::isnan(yv));
          st(d, i, r, simd::select(hit, ld(g, i, r), zero));
        });
      }
    }
  }
}

float k_dot(const float* a, const float* b, std::int64_t n) {
  vf s = simd::zero();
  blocks(n, [&](std::int64_t i, int r) { s = simd::fmadd(ld(a, i, r), ld(b, i, r), s); });
  return simd::reduce_add(s);
}

void fill_vmerge_table(VmergeKernels& k) {
  k.sum = k_sum;
  k.prod = k_prod;
  k.max = k_max;
  k.min = k_min;
  k.sub = k_sub;
  k.scale = k_scale;
  k.div = k_div;
  k.prod_except = k_prod_except;
  k.route = k_route;
  k.dot = k_dot;
}
