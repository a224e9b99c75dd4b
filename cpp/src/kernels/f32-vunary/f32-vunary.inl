// f32-vunary kernel bodies: activations (forward, backward), row-wise softmax /
// log_softmax, and the vmath entry points. Written once against the SIMD vocabulary;
// included by f32-vunary-{scalar,avx2,avx512}.cpp inside their per-ISA namespace,
// after simd/vmath.inl and simd/map.inl. Contracts: kernels/f32-vunary/vunary.h.
//
// Edge semantics (all ISAs):
// - NaN in -> NaN out (forward and backward).
// - Functions of the form x * g(x) with g -> 0 at -inf (gelu, silu, mish, hard_silu)
//   return -0 at -inf (their limit), not NaN; softsign(+-inf) = +-1.
// - Derivatives at the kinks follow JAX/TF: relu'(0) = 0, leaky_relu'(0) = 1,
//   relu6'(0) = relu6'(6) = 0, hard_sigmoid'(+-3) = 0.

constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kGeluC = 0.044715f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

// ---- linear -----------------------------------------------------------------------------
void fwd_linear(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  if (x != y) map1(x, y, n, [](vf v) { return v; });
}
void bwd_linear(const float*, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  if (dy != dx) map1(dy, dx, n, [](vf v) { return v; });
}

// ---- relu (Keras 3 general form, spec 1.3) ------------------------------------------------
// plain: s == 0, t == 0, m == inf; leaky form: s != 0, m == inf, t == 0; else general.
inline bool relu_plain(const VunaryParams* p) {
  return p->negative_slope == 0.0f && p->threshold == 0.0f && p->max_value == kPosInf;
}
inline bool relu_leaky_form(const VunaryParams* p) {
  return p->negative_slope != 0.0f && p->threshold == 0.0f && p->max_value == kPosInf;
}

void fwd_relu(const float* x, float* y, std::int64_t n, const VunaryParams* p) {
  if (relu_plain(p)) {
    map1(x, y, n, [](vf v) { return simd::max(simd::zero(), v); });
    return;
  }
  const vf s = simd::set1(p->negative_slope), t = simd::set1(p->threshold), m = simd::set1(p->max_value);
  if (relu_leaky_form(p)) {
    map1(x, y, n, [=](vf v) { return simd::select(simd::ge(v, simd::zero()), v, simd::mul(s, v)); });
    return;
  }
  const bool clip = p->max_value != kPosInf;
  const bool slope = p->negative_slope != 0.0f;
  map1(x, y, n, [=](vf v) {
    vf r = simd::select(simd::le(v, t), simd::zero(), v);  // x if x > t else 0 (NaN kept)
    if (clip) r = simd::min(m, simd::max(simd::zero(), r));
    if (slope) r = simd::fnmadd(s, simd::max(simd::zero(), simd::sub(t, v)), r);
    return r;
  });
}

void bwd_relu(const float* x, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams* p) {
  const vf m = simd::set1(p->max_value);
  if (p->negative_slope == 0.0f && p->threshold >= 0.0f) {
    // reads y: f' = 1 exactly where y > 0 (and y < max_value when clipped)
    if (p->max_value == kPosInf) {
      map2(y, dy, dx, n, [](vf yv, vf g) {
        return keep_nan(yv, simd::select(simd::gt(yv, simd::zero()), g, simd::zero()));
      });
    } else {
      map2(y, dy, dx, n, [=](vf yv, vf g) {
        const vmask on = simd::mask_and(simd::gt(yv, simd::zero()), simd::lt(yv, m));
        return keep_nan(yv, simd::select(on, g, simd::zero()));
      });
    }
    return;
  }
  const vf s = simd::set1(p->negative_slope), t = simd::set1(p->threshold);
  if (relu_leaky_form(p)) {
    map2(x, dy, dx, n, [=](vf xv, vf g) {
      return keep_nan(xv, simd::select(simd::ge(xv, simd::zero()), g, simd::mul(s, g)));
    });
    return;
  }
  const bool clip = p->max_value != kPosInf;
  map2(x, dy, dx, n, [=](vf xv, vf g) {
    vmask on = simd::gt(xv, t);
    if (clip) on = simd::mask_and(on, simd::mask_and(simd::gt(xv, simd::zero()), simd::lt(xv, m)));
    vf d = simd::select(on, ones(), simd::zero());
    d = simd::select(simd::lt(xv, t), simd::add(d, s), d);
    return keep_nan(xv, simd::mul(d, g));
  });
}

// ---- leaky_relu: x if x >= 0 else s*x -------------------------------------------------------
void fwd_leaky_relu(const float* x, float* y, std::int64_t n, const VunaryParams* p) {
  const vf s = simd::set1(p->negative_slope);
  map1(x, y, n, [=](vf v) { return simd::select(simd::ge(v, simd::zero()), v, simd::mul(s, v)); });
}
void bwd_leaky_relu(const float* x, const float*, const float* dy, float* dx, std::int64_t n,
                    const VunaryParams* p) {
  const vf s = simd::set1(p->negative_slope);
  map2(x, dy, dx, n, [=](vf xv, vf g) {
    return keep_nan(xv, simd::select(simd::ge(xv, simd::zero()), g, simd::mul(s, g)));
  });
}

// ---- relu6 ----------------------------------------------------------------------------------
void fwd_relu6(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vclamp(v, 0.0f, 6.0f); });
}
void bwd_relu6(const float*, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(y, dy, dx, n, [](vf yv, vf g) {
    const vmask on = simd::mask_and(simd::gt(yv, simd::zero()), simd::lt(yv, simd::set1(6.0f)));
    return keep_nan(yv, simd::select(on, g, simd::zero()));
  });
}

// ---- elu / selu / celu ------------------------------------------------------------------------
void fwd_elu(const float* x, float* y, std::int64_t n, const VunaryParams* p) {
  const vf a = simd::set1(p->alpha);
  map1(x, y, n, [=](vf v) {
    return simd::select(simd::gt(v, simd::zero()), v, simd::mul(a, vexpm1(vclamp_hi(v, 0.0f))));
  });
}
// f' = 1 (x > 0) else alpha e^x = y + alpha
void bwd_elu(const float* x, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams* p) {
  const vf a = simd::set1(p->alpha);
  map3(x, y, dy, dx, n, [=](vf xv, vf yv, vf g) {
    return simd::mul(g, simd::select(simd::gt(xv, simd::zero()), ones(), simd::add(yv, a)));
  });
}
void fwd_selu(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf neg = simd::mul(simd::set1(kSeluAlpha), vexpm1(vclamp_hi(v, 0.0f)));
    return simd::mul(simd::set1(kSeluScale), simd::select(simd::gt(v, simd::zero()), v, neg));
  });
}
void bwd_selu(const float* x, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map3(x, y, dy, dx, n, [](vf xv, vf yv, vf g) {
    const vf neg = simd::add(yv, simd::set1(kSeluScale * kSeluAlpha));
    return simd::mul(g, simd::select(simd::gt(xv, simd::zero()), simd::set1(kSeluScale), neg));
  });
}
// celu = max(x, 0) + alpha * expm1(min(x, 0) / alpha)
void fwd_celu(const float* x, float* y, std::int64_t n, const VunaryParams* p) {
  const vf a = simd::set1(p->alpha);
  map1(x, y, n, [=](vf v) {
    return simd::fmadd(a, vexpm1(simd::div(vclamp_hi(v, 0.0f), a)), simd::max(simd::zero(), v));
  });
}
// f' = 1 (x > 0) else e^{x/alpha} = y/alpha + 1
void bwd_celu(const float* x, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams* p) {
  const vf a = simd::set1(p->alpha);
  map3(x, y, dy, dx, n, [=](vf xv, vf yv, vf g) {
    const vf neg = simd::add(simd::div(yv, a), ones());
    return simd::mul(g, simd::select(simd::gt(xv, simd::zero()), ones(), neg));
  });
}

// ---- gelu -------------------------------------------------------------------------------
// exact: x * Phi(x); x is clamped below at -15 for the product (Phi(-15) == 0 in float).
// Left tail: (x a) g with Phi = a g, so Phi itself never flushes to 0 while x Phi is normal.
void fwd_gelu(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf xl = vclamp_lo(v, -15.0f);
    vf g, a;
    const vf cdf = vnormcdf_g(xl, &g, &a);
    return simd::select(simd::lt(xl, simd::set1(-0.7f)), simd::mul(simd::mul(xl, a), g), simd::mul(xl, cdf));
  });
}
// f' = Phi(x) + x phi(x)  (left tail: g (a + x/sqrt(2 pi)))
void bwd_gelu(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vf xc = vclamp(xv, -15.0f, 15.0f);
    vf gauss, a;
    const vf cdf = vnormcdf_g(xc, &gauss, &a);
    const vf xs = simd::mul(xc, simd::set1(kInvSqrt2Pi));
    const vf tail = simd::mul(gauss, simd::add(a, xs));
    const vf d = simd::select(simd::lt(xc, simd::set1(-0.7f)), tail, simd::fmadd(xs, gauss, cdf));
    return simd::mul(g, d);
  });
}
// approximate: 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
// (same function; the sigmoid form has no cancellation for x < 0). Saturated beyond |x| = 20.
inline vf gelu_2u(vf xc) {
  const vf x2 = simd::mul(xc, xc);
  const vf inner = simd::fmadd(simd::mul(simd::set1(kGeluC), x2), xc, xc);
  return simd::mul(simd::set1(2.0f * kSqrt2OverPi), inner);
}
void fwd_gelu_approx(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf xl = vclamp_lo(v, -20.0f);
    const vf s = vsigmoid(gelu_2u(vclamp_hi(xl, 20.0f)));
    return simd::mul(xl, s);
  });
}
// sigmoid(t) and sigmoid'(t) = e / (1 + e)^2 with e = exp(-|t|): no 1 - s cancellation.
inline vf sigmoid_and_slope(vf t, vf* slope) {
  const vf e = vexp(simd::neg(simd::abs(t)));
  const vf inv = simd::div(ones(), simd::add(ones(), e));
  *slope = simd::mul(e, simd::mul(inv, inv));
  return simd::select(simd::ge(t, simd::zero()), inv, simd::mul(e, inv));
}

// f' = s + x * 2u' * s (1 - s), s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
// s (1 - s) = e / (1 + e)^2, e = exp(-|2u|); e is formed scaled by 2^11 so that the
// product x 2u' e (x 2u' up to ~2e3) does not flush to 0 while the result is normal.
void bwd_gelu_approx(const float* x, const float*, const float* dy, float* dx, std::int64_t n,
                     const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vf xc = vclamp(xv, -20.0f, 20.0f);
    const vf t = gelu_2u(xc);
    const vf es = vexp(simd::sub(simd::set1(7.6246189861593985f), simd::abs(t)));  // 2^11 e
    const vf e = simd::mul(es, simd::set1(1.0f / 2048.0f));
    const vf inv = simd::div(ones(), simd::add(ones(), e));
    const vf s = simd::select(simd::ge(t, simd::zero()), inv, simd::mul(e, inv));
    const vf du2 = simd::mul(simd::set1(2.0f * kSqrt2OverPi),
                             simd::fmadd(simd::set1(3.0f * kGeluC), simd::mul(xc, xc), ones()));
    const vf tail = simd::mul(simd::mul(simd::mul(simd::mul(xc, du2), es), simd::mul(inv, inv)),
                              simd::set1(1.0f / 2048.0f));
    return simd::mul(g, simd::add(s, tail));
  });
}

// ---- sigmoid family -----------------------------------------------------------------------
void fwd_sigmoid(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vsigmoid(v); });
}
void bwd_sigmoid(const float*, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(y, dy, dx, n, [](vf yv, vf g) { return simd::mul(g, simd::mul(yv, simd::sub(ones(), yv))); });
}
// Keras 3 / JAX: relu6(x + 3) / 6
void fwd_hard_sigmoid(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return simd::div(vclamp(simd::add(v, simd::set1(3.0f)), 0.0f, 6.0f), simd::set1(6.0f)); });
}
void bwd_hard_sigmoid(const float* x, const float*, const float* dy, float* dx, std::int64_t n,
                      const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vmask on = simd::mask_and(simd::gt(xv, simd::set1(-3.0f)), simd::lt(xv, simd::set1(3.0f)));
    return keep_nan(xv, simd::select(on, simd::div(g, simd::set1(6.0f)), simd::zero()));
  });
}
// hard_silu = x * relu6(x + 3) / 6
void fwd_hard_silu(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf xl = vclamp_lo(v, -10.0f);
    return simd::mul(xl, simd::div(vclamp(simd::add(xl, simd::set1(3.0f)), 0.0f, 6.0f), simd::set1(6.0f)));
  });
}
void bwd_hard_silu(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vf mid = simd::div(simd::fmadd(simd::set1(2.0f), xv, simd::set1(3.0f)), simd::set1(6.0f));
    vf d = simd::select(simd::gt(xv, simd::set1(-3.0f)), mid, simd::zero());
    d = simd::select(simd::ge(xv, simd::set1(3.0f)), ones(), d);
    return keep_nan(xv, simd::mul(g, d));
  });
}

// ---- tanh, softplus, softsign, log_sigmoid, exponential --------------------------------------
void fwd_tanh(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vtanh(v); });
}
void bwd_tanh(const float*, const float* y, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(y, dy, dx, n, [](vf yv, vf g) { return simd::mul(g, simd::fnmadd(yv, yv, ones())); });
}
void fwd_softplus(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vsoftplus(v); });
}
void bwd_softplus(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) { return simd::mul(g, vsigmoid(xv)); });
}
// x / (1 + |x|), with |x| clamped at 1e30 so +-inf gives +-1
void fwd_softsign(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf xc = vclamp(v, -1e30f, 1e30f);
    return simd::div(xc, simd::add(ones(), simd::abs(xc)));
  });
}
void bwd_softsign(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vf a = simd::add(ones(), simd::abs(xv));
    return simd::div(g, simd::mul(a, a));
  });
}
// log_sigmoid(x) = -softplus(-x)
void fwd_log_sigmoid(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return simd::neg(vsoftplus(simd::neg(v))); });
}
void bwd_log_sigmoid(const float* x, const float*, const float* dy, float* dx, std::int64_t n,
                     const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) { return simd::mul(g, vsigmoid(simd::neg(xv))); });
}
void fwd_exponential(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vexp(v); });
}
void bwd_exponential(const float*, const float* y, const float* dy, float* dx, std::int64_t n,
                     const VunaryParams*) {
  map2(y, dy, dx, n, [](vf yv, vf g) { return simd::mul(g, yv); });
}

// ---- silu, mish -----------------------------------------------------------------------------
void fwd_silu(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf xl = vclamp_lo(v, -200.0f);
    return simd::mul(xl, vsigmoid(xl));
  });
}
// f' = s + x s (1 - s)
void bwd_silu(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vf xc = vclamp(xv, -200.0f, 200.0f);
    vf ds;
    const vf s = sigmoid_and_slope(xc, &ds);
    return simd::mul(g, simd::fmadd(xc, ds, s));
  });
}
// tanh(softplus(x)) = n / (n + 2), n = u (u + 2), u = e^x (x clamped at 20, where it is 1)
void fwd_mish(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) {
    const vf xl = vclamp_lo(v, -200.0f);
    const vf u = vexp(vclamp_hi(xl, 20.0f));
    const vf nn = simd::mul(u, simd::add(u, simd::set1(2.0f)));
    return simd::mul(xl, simd::div(nn, simd::add(nn, simd::set1(2.0f))));
  });
}
// f' = tsp + x * sigmoid(x) * (1 - tsp^2), 1 - tsp^2 = 4 (n + 1) / (n + 2)^2
void bwd_mish(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vf xc = vclamp(xv, -200.0f, 20.0f);
    const vf u = vexp(xc);
    const vf nn = simd::mul(u, simd::add(u, simd::set1(2.0f)));
    const vf n2 = simd::add(nn, simd::set1(2.0f));
    const vf tsp = simd::div(nn, n2);
    const vf sig = simd::div(u, simd::add(u, ones()));
    const vf sech2 = simd::div(simd::mul(simd::set1(4.0f), simd::add(nn, ones())), simd::mul(n2, n2));
    return simd::mul(g, simd::fmadd(simd::mul(xc, sig), sech2, tsp));
  });
}

// ---- hard_tanh, soft_shrink (Keras 3 / JAX) -------------------------------------------------
// hard_tanh = clip(x, -1, 1); f' = 1 on [-1, 1] (its ends included, as JAX's where(x > 1, ..)).
void fwd_hard_tanh(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vclamp(v, -1.0f, 1.0f); });
}
void bwd_hard_tanh(const float* x, const float*, const float* dy, float* dx, std::int64_t n, const VunaryParams*) {
  map2(x, dy, dx, n, [](vf xv, vf g) {
    const vmask on = simd::mask_and(simd::ge(xv, simd::set1(-1.0f)), simd::le(xv, simd::set1(1.0f)));
    return keep_nan(xv, simd::select(on, g, simd::zero()));
  });
}
// soft_shrink = x - t if x > t, x + t if x < -t, else 0 (t = threshold); f' = 1 outside
// [-t, t], 0 inside and at its ends. NaN propagates (Keras's where() would give 0).
void fwd_soft_shrink(const float* x, float* y, std::int64_t n, const VunaryParams* p) {
  const vf t = simd::set1(p->threshold), nt = simd::set1(-p->threshold);
  map1(x, y, n, [=](vf v) {
    const vf r = simd::select(simd::gt(v, t), simd::sub(v, t), simd::select(simd::lt(v, nt), simd::add(v, t), simd::zero()));
    return keep_nan(v, r);
  });
}
void bwd_soft_shrink(const float* x, const float*, const float* dy, float* dx, std::int64_t n,
                     const VunaryParams* p) {
  const vf t = simd::set1(p->threshold), nt = simd::set1(-p->threshold);
  map2(x, dy, dx, n, [=](vf xv, vf g) {
    const vmask on = simd::mask_or(simd::gt(xv, t), simd::lt(xv, nt));
    return keep_nan(xv, simd::select(on, g, simd::zero()));
  });
}

// ---- softmax / log_softmax (row-wise, max-shifted) ---------------------------------------------
void fwd_softmax(const float* x, float* y, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = row_max(xr, cols);
    const vf s = simd::set1(row_sum_exp(xr, yr, cols, m));
    map1(yr, yr, cols, [=](vf v) { return simd::div(v, s); });
  }
}
void fwd_log_softmax(const float* x, float* y, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = row_max(xr, cols);
    const vf ls = simd::set1(scalar_log(row_sum_exp(xr, nullptr, cols, m)));
    const vf mv = simd::set1(m);
    map1(xr, yr, cols, [=](vf v) { return simd::sub(simd::sub(v, mv), ls); });
  }
}
// dx = y * (dy - sum(dy * y))
void bwd_softmax(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    const vf s = simd::set1(row_dot(gr, yr, cols));
    map2(yr, gr, dx + r * cols, cols, [=](vf yv, vf g) { return simd::mul(yv, simd::sub(g, s)); });
  }
}
// dx = dy - softmax * sum(dy), softmax = exp(y)
void bwd_log_softmax(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    const vf s = simd::set1(row_sum(gr, cols));
    map2(yr, gr, dx + r * cols, cols, [=](vf yv, vf g) { return simd::fnmadd(vexp(yv), s, g); });
  }
}

// ---- vmath entry points -----------------------------------------------------------------------
void math_exp(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vexp(v); });
}
void math_expm1(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vexpm1(v); });
}
void math_log(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vlog(v); });
}
void math_log1p(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vlog1p(v); });
}
void math_tanh(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vtanh(v); });
}
void math_erf(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return verf(v); });
}
void math_erfc(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return verfc(v); });
}
void math_sigmoid(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vsigmoid(v); });
}
void math_normcdf(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vnormcdf(v); });
}
void math_softplus(const float* x, float* y, std::int64_t n, const VunaryParams*) {
  map1(x, y, n, [](vf v) { return vsoftplus(v); });
}

// One entry per row of activations.def: fwd_<name>/bwd_<name> into forward/backward
// (eltwise) or row_forward/row_backward (rowwise).
#define RANVIER_VUNARY_FILL_eltwise(name) \
  k.forward[kVunary_##name] = fwd_##name;   \
  k.backward[kVunary_##name] = bwd_##name;
#define RANVIER_VUNARY_FILL_rowwise(name)    \
  k.row_forward[kVunary_##name] = fwd_##name; \
  k.row_backward[kVunary_##name] = bwd_##name;

void fill_vunary_table(VunaryKernels& k) {
#define RANVIER_ACTIVATION(name, shape, ...) RANVIER_VUNARY_FILL_##shape(name)
#include "kernels/f32-vunary/activations.def"

  k.math[kVmathExp] = math_exp;
  k.math[kVmathExpm1] = math_expm1;
  k.math[kVmathLog] = math_log;
  k.math[kVmathLog1p] = math_log1p;
  k.math[kVmathTanh] = math_tanh;
  k.math[kVmathErf] = math_erf;
  k.math[kVmathErfc] = math_erfc;
  k.math[kVmathSigmoid] = math_sigmoid;
  k.math[kVmathNormCdf] = math_normcdf;
  k.math[kVmathSoftplus] = math_softplus;
}

#undef RANVIER_VUNARY_FILL_eltwise
#undef RANVIER_VUNARY_FILL_rowwise
