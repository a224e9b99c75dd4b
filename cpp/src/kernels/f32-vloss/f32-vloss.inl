// Loss kernel bodies: per-sample value and gradient in one pass (Keras 3's formulas,
// keras/src/losses/losses.py). Included by f32-vloss-{scalar,avx2,avx512}.cpp
// after simd/vmath.inl and simd/map.inl. Contract: VlossFn in vloss.h.
//
// Gradients are those of the formulas as written, including their clips: where a
// probability was clipped to [eps, 1 - eps] (or a value to eps) the gradient is 0,
// as autodiff of Keras's expressions gives. Elementwise losses reduce with a mean
// over the last axis (kl_divergence with a sum).

constexpr float kLossEps = 1e-7f;
constexpr float kLossOneMinusEps = 1.0f - 1e-7f;  // 0.99999988f
constexpr float kLossLn2 = 0.69314718055994531f;

inline vf vsign(vf e) {
  const vf d = simd::select(simd::gt(e, simd::zero()), ones(), simd::zero());
  return keep_nan(e, simd::select(simd::lt(e, simd::zero()), simd::set1(-1.0f), d));
}
inline vmask open_interval(vf x, float lo, float hi) {
  return simd::mask_and(simd::gt(x, simd::set1(lo)), simd::lt(x, simd::set1(hi)));
}
inline float scalar_of(vf v) { return simd::reduce_max(v); }  // all lanes equal
inline vf vfmsub(vf a, vf b, vf c) { return simd::fmadd(a, b, simd::neg(c)); }  // a*b - c

// Elementwise losses: f(y, p, &d) returns the element's value and sets d = d value / d p.
// per_sample = factor * sum_j value; grad = w_i * grad_scale * factor * d.
template <class F>
inline void eltwise_loss(const float* yt, std::int64_t yt_cols, const float* yp, std::int64_t n, std::int64_t k,
                         const float* w, float grad_scale, float* per_sample, float* grad, float factor, F f) {
  if (k == 1) {  // one element per row: run down the rows in registers
    const vf fs = simd::set1(factor), gs = simd::set1(grad_scale * factor);
    std::int64_t i = 0;
    for (; i + simd::kW <= n; i += simd::kW) {
      vf d;
      const vf v = f(simd::load(yt + i), simd::load(yp + i), &d);
      simd::store(per_sample + i, simd::mul(v, fs));
      if (grad) simd::store(grad + i, simd::mul(d, w ? simd::mul(simd::load(w + i), gs) : gs));
    }
    if (i < n) {
      const int r = static_cast<int>(n - i);
      vf d;
      const vf v = f(simd::load_tail(yt + i, r), simd::load_tail(yp + i, r), &d);
      simd::store_tail(per_sample + i, simd::mul(v, fs), r);
      if (grad) simd::store_tail(grad + i, simd::mul(d, w ? simd::mul(simd::load_tail(w + i, r), gs) : gs), r);
    }
    return;
  }
  const bool bcast = yt_cols != k;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* pr = yp + i * k;
    const float* yr = yt + i * yt_cols;
    float* g = grad ? grad + i * k : nullptr;
    const vf gs = simd::set1((w ? w[i] : 1.0f) * grad_scale * factor);
    const vf yb = simd::set1(yr[0]);
    vf acc = simd::zero();
    std::int64_t j = 0;
    for (; j + simd::kW <= k; j += simd::kW) {
      vf d;
      const vf v = f(bcast ? yb : simd::load(yr + j), simd::load(pr + j), &d);
      acc = simd::add(acc, v);
      if (g) simd::store(g + j, simd::mul(d, gs));
    }
    if (j < k) {
      const int r = static_cast<int>(k - j);
      vf d;
      const vf v = f(bcast ? yb : simd::load_tail(yr + j, r), simd::load_tail(pr + j, r), &d);
      acc = simd::add(acc, simd::select(simd::mask_first(r), v, simd::zero()));
      if (g) simd::store_tail(g + j, simd::mul(d, gs), r);
    }
    per_sample[i] = simd::reduce_add(acc) * factor;
  }
}

inline float inv_k(std::int64_t k) { return 1.0f / static_cast<float>(k); }

void loss_mean_squared_error(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
              float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [](vf y, vf p, vf* d) {
    const vf e = simd::sub(p, y);
    *d = simd::add(e, e);
    return simd::mul(e, e);
  });
}

void loss_mean_absolute_error(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
              float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [](vf y, vf p, vf* d) {
    const vf e = simd::sub(p, y);
    *d = vsign(e);
    return simd::abs(e);
  });
}

// 100 * |y - p| / max(|y|, eps)
void loss_mean_absolute_percentage_error(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
               float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [](vf y, vf p, vf* d) {
    const vf e = simd::sub(p, y);
    const vf scale = simd::div(simd::set1(100.0f), vclamp_lo(simd::abs(y), kLossEps));
    *d = simd::mul(vsign(e), scale);
    return simd::mul(simd::abs(e), scale);
  });
}

// (log(max(p, eps) + 1) - log(max(y, eps) + 1))^2
void loss_mean_squared_logarithmic_error(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
               float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [](vf y, vf p, vf* d) {
    const vf p1 = simd::add(vclamp_lo(p, kLossEps), ones());
    const vf e = simd::sub(vlog(p1), vlog(simd::add(vclamp_lo(y, kLossEps), ones())));
    const vf de = simd::div(simd::add(e, e), p1);
    *d = keep_nan(p, simd::select(simd::gt(p, simd::set1(kLossEps)), de, simd::zero()));
    return simd::mul(e, e);
  });
}

// Binary cross-entropy of one element on the clipped-probability path:
// -(y log q + (1 - y) log(1 - q)), q = clip(p, eps, 1 - eps); dq = (q - y) / (q (1 - q)) inside.
inline vf bce_prob(vf y, vf p, vf* d) {
  const vf q = vclamp(p, kLossEps, kLossOneMinusEps);
  const vf omq = simd::sub(ones(), q);
  const vf v = simd::neg(simd::fmadd(y, vlog(q), simd::mul(simd::sub(ones(), y), vlog(omq))));
  const vf dd = simd::div(simd::sub(q, y), simd::mul(q, omq));
  *d = keep_nan(p, simd::select(open_interval(p, kLossEps, kLossOneMinusEps), dd, simd::zero()));
  return v;
}
// From logits: max(z, 0) - z y + log1p(e^-|z|); d = sigmoid(z) - y.
inline vf bce_logits(vf y, vf z, vf* d) {
  const vf e = vexp(simd::neg(simd::abs(z)));
  const vf inv = simd::div(ones(), simd::add(ones(), e));
  const vf sig = simd::select(simd::ge(z, simd::zero()), inv, simd::mul(e, inv));
  *d = simd::sub(keep_nan(z, sig), y);
  return simd::add(simd::fnmadd(z, y, simd::max(simd::zero(), z)), vlog1p(e));
}
inline vf smooth_binary(vf y, float ls) {  // y (1 - ls) + 0.5 ls
  return simd::fmadd(y, simd::set1(1.0f - ls), simd::set1(0.5f * ls));
}

void loss_binary_crossentropy(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
              float gscale, float* ps, float* grad, const VlossParams* prm) {
  const float ls = prm->label_smoothing;
  if (prm->from_logits) {
    eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k),
                 [=](vf y, vf p, vf* d) { return bce_logits(ls != 0.0f ? smooth_binary(y, ls) : y, p, d); });
  } else {
    eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k),
                 [=](vf y, vf p, vf* d) { return bce_prob(ls != 0.0f ? smooth_binary(y, ls) : y, p, d); });
  }
}

// Fused sigmoid + binary cross-entropy: the value on the clipped path from q = sigmoid(z),
// the gradient with respect to z of the unclipped loss: q - y.
void fused_sigmoid_bce(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                       const float* w, float gscale, float* ps, float* grad, const VlossParams* prm) {
  const float ls = prm->label_smoothing;
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [=](vf y, vf q, vf* d) {
    const vf ys = ls != 0.0f ? smooth_binary(y, ls) : y;
    vf unused;
    const vf v = bce_prob(ys, q, &unused);
    *d = simd::sub(q, ys);
    return v;
  });
}

// Binary focal: wt * (1 - p_t)^gamma * bce(p), p_t = y p + (1 - y)(1 - p), p = sigmoid(z)
// when from_logits; bce on the clipped path; wt = alpha y + (1 - alpha)(1 - y) when balancing.
void loss_binary_focal_crossentropy(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                       const float* w, float gscale, float* ps, float* grad, const VlossParams* prm) {
  const float ls = prm->label_smoothing, gamma = prm->gamma, alpha = prm->alpha;
  const bool logits = prm->from_logits != 0, balance = prm->class_balancing != 0;
  const int gi = static_cast<int>(gamma);
  const bool gint = static_cast<float>(gi) == gamma && gi >= 0 && gi <= 16;
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [=](vf y0, vf z, vf* d) {
    const vf y = ls != 0.0f ? smooth_binary(y0, ls) : y0;
    // p = sigmoid(z) and dp/dz = e / (1 + e)^2 (e = exp(-|z|), no 1 - p cancellation)
    vf p = z, dpdz = ones();
    if (logits) {
      const vf e = vexp(simd::neg(simd::abs(z)));
      const vf inv = simd::div(ones(), simd::add(ones(), e));
      p = keep_nan(z, simd::select(simd::ge(z, simd::zero()), inv, simd::mul(e, inv)));
      dpdz = simd::mul(e, simd::mul(inv, inv));
    }
    vf db;
    const vf b = bce_prob(y, p, &db);
    // base = 1 - p_t = y (1 - p) + (1 - y) p (no cancellation for p near 0 or 1); d base / dp = 1 - 2y
    const vf base = simd::fmadd(y, simd::sub(ones(), p), simd::mul(simd::sub(ones(), y), p));
    vf f, fprime;  // base^gamma, gamma * base^(gamma - 1)
    if (gint) {
      if (gi == 0) {
        f = ones();
        fprime = simd::zero();
      } else {
        vf pw = ones();  // base^(gi - 1)
        for (int q = 1; q < gi; ++q) pw = simd::mul(pw, base);
        f = simd::mul(pw, base);
        fprime = simd::mul(simd::set1(gamma), pw);
      }
    } else {
      const vf lb = vlog(base);
      const vmask zero_base = simd::eq(base, simd::zero());
      f = simd::select(zero_base, simd::zero(), vexp(simd::mul(simd::set1(gamma), lb)));
      const float at0 = gamma > 1.0f ? 0.0f : RANVIER_VM_INF;
      fprime = simd::select(zero_base, simd::set1(at0),
                            simd::mul(simd::set1(gamma), vexp(simd::mul(simd::set1(gamma - 1.0f), lb))));
    }
    const vf wt = balance ? simd::fmadd(y, simd::set1(2.0f * alpha - 1.0f), simd::set1(1.0f - alpha)) : ones();
    const vf dbase = simd::fnmadd(simd::set1(2.0f), y, ones());
    if (logits) {
      // d/dz: f' (1 - 2y) b dp/dz + f (p - y) [p not clipped]; (p - y) = db/dp * dp/dz without
      // the 1/(1 - q) that float32 rounding of p would make inexact
      const vf dbz = simd::select(open_interval(p, kLossEps, kLossOneMinusEps), simd::sub(p, y), simd::zero());
      *d = keep_nan(z, simd::mul(wt, simd::fmadd(simd::mul(simd::mul(fprime, dbase), b), dpdz, simd::mul(f, dbz))));
    } else {
      *d = simd::mul(wt, simd::fmadd(simd::mul(fprime, dbase), b, simd::mul(f, db)));
    }
    return simd::mul(wt, simd::mul(f, b));
  });
}

// hinge / squared hinge: max(1 - y p, 0) (squared); y mapped 0/1 -> -1/+1 when the caller says
void loss_hinge(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
                float gscale, float* ps, float* grad, const VlossParams* prm) {
  const bool conv = prm->hinge_convert != 0;
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [=](vf y0, vf p, vf* d) {
    const vf y = conv ? simd::fmadd(simd::set1(2.0f), y0, simd::set1(-1.0f)) : y0;
    const vf h = simd::fnmadd(y, p, ones());
    *d = keep_nan(h, simd::select(simd::gt(h, simd::zero()), simd::neg(y), simd::zero()));
    return simd::max(simd::zero(), h);
  });
}
void loss_squared_hinge(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                        const float* w, float gscale, float* ps, float* grad, const VlossParams* prm) {
  const bool conv = prm->hinge_convert != 0;
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [=](vf y0, vf p, vf* d) {
    const vf y = conv ? simd::fmadd(simd::set1(2.0f), y0, simd::set1(-1.0f)) : y0;
    const vf h = simd::max(simd::zero(), simd::fnmadd(y, p, ones()));
    *d = simd::mul(simd::set1(-2.0f), simd::mul(h, y));
    return simd::mul(h, h);
  });
}

// huber: 0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, e = p - y
void loss_huber(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
                float gscale, float* ps, float* grad, const VlossParams* prm) {
  const float delta = prm->delta;
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [=](vf y, vf p, vf* d) {
    const vf e = simd::sub(p, y);
    const vf a = simd::abs(e);
    const vf dv = simd::set1(delta);
    const vmask quad = simd::le(a, dv);
    *d = simd::select(quad, e, simd::mul(dv, vsign(e)));
    const vf lin = simd::sub(simd::mul(dv, a), simd::set1(0.5f * (delta * delta)));
    return simd::select(quad, simd::mul(simd::set1(0.5f), simd::mul(e, e)), lin);
  });
}

// log_cosh: e + softplus(-2e) - log 2; d = tanh(e)
void loss_log_cosh(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                   const float* w, float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [](vf y, vf p, vf* d) {
    const vf e = simd::sub(p, y);
    *d = vtanh(e);
    return simd::sub(simd::add(e, vsoftplus(simd::mul(simd::set1(-2.0f), e))), simd::set1(kLossLn2));
  });
}

// kl_divergence: sum y' log(y'/p'), y' = clip(y, eps, 1), p' = clip(p, eps, 1)
void loss_kl_divergence(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
              float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, 1.0f, [](vf y, vf p, vf* d) {
    const vf yc = vclamp(y, kLossEps, 1.0f), pc = vclamp(p, kLossEps, 1.0f);
    const vf ratio = simd::div(yc, pc);
    *d = keep_nan(p, simd::select(open_interval(p, kLossEps, 1.0f), simd::neg(ratio), simd::zero()));
    return simd::mul(yc, vlog(ratio));
  });
}

// poisson: p - y log(p + eps); d = 1 - y / (p + eps)
void loss_poisson(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                  const float* w, float gscale, float* ps, float* grad, const VlossParams*) {
  eltwise_loss(yt, ytc, yp, n, k, w, gscale, ps, grad, inv_k(k), [](vf y, vf p, vf* d) {
    const vf pe = simd::add(p, simd::set1(kLossEps));
    *d = simd::sub(ones(), simd::div(y, pe));
    return simd::fnmadd(y, vlog(pe), p);
  });
}

// ---- row-wise losses ------------------------------------------------------------------------
// Loads y_true's row (or its broadcast value) and applies label smoothing y (1 - ls) + ls/k.
struct RowY {
  const float* yr;
  bool bcast;
  vf yb, keep, add;
  RowY(const float* y, bool b, float ls, std::int64_t k)
      : yr(y), bcast(b), yb(simd::set1(y[0])), keep(simd::set1(1.0f - ls)),
        add(simd::set1(ls / static_cast<float>(k))) {}
  vf at(std::int64_t j) const { return simd::fmadd(bcast ? yb : simd::load(yr + j), keep, add); }
  vf tail(std::int64_t j, int r) const {
    return simd::select(simd::mask_first(r), simd::fmadd(bcast ? yb : simd::load_tail(yr + j, r), keep, add),
                        simd::zero());
  }
};

// Categorical CE on probabilities, one row: q = clip(p / sum p, eps, 1 - eps), l = -sum y log q.
// grad (w.r.t. p): ws / s * (sum_j y_j c_j - y_m c_m / q_m), c = 1 where q was not clipped.
inline float cce_prob_row(const RowY& Y, const float* pr, std::int64_t k, float ws, float* g) {
  const float s = row_sum(pr, k);
  const vf sv = simd::set1(s);
  vf lacc = simd::zero(), cacc = simd::zero();
  std::int64_t j = 0;
  auto body = [&](vf y, vf p, vmask valid, std::int64_t at, int r) {
    const vf ratio = simd::div(p, sv);
    const vf q = vclamp(ratio, kLossEps, kLossOneMinusEps);
    const vmask c = simd::mask_and(valid, open_interval(ratio, kLossEps, kLossOneMinusEps));
    lacc = simd::add(lacc, simd::select(valid, simd::mul(y, vlog(q)), simd::zero()));
    cacc = simd::add(cacc, simd::select(c, y, simd::zero()));
    if (g) {
      const vf t = simd::select(c, simd::div(y, q), simd::zero());
      if (r < 0) simd::store(g + at, t); else simd::store_tail(g + at, t, r);
    }
  };
  for (; j + simd::kW <= k; j += simd::kW) body(Y.at(j), simd::load(pr + j), simd::mask_first(simd::kW), j, -1);
  if (j < k) {
    const int r = static_cast<int>(k - j);
    body(Y.tail(j, r), simd::load_tail(pr + j, r), simd::mask_first(r), j, r);
  }
  if (g) {
    const vf syc = simd::set1(simd::reduce_add(cacc));
    const vf sc = simd::set1(ws / s);
    map1(g, g, k, [=](vf t) { return simd::mul(simd::sub(syc, t), sc); });
  }
  return -simd::reduce_add(lacc);
}

// Categorical CE on logits, one row: l = -sum y ((z - m) - log sum e^{z - m});
// grad (w.r.t. z): ws (softmax(z) sum y - y).
inline float cce_logits_row(const RowY& Y, const float* pr, std::int64_t k, float ws, float* g) {
  const float m = row_max(pr, k);
  const float se = row_sum_exp(pr, g, k, m);  // exponentials kept in g when present
  const vf lse = simd::set1(scalar_log(se));
  const vf mv = simd::set1(m);
  vf lacc = simd::zero(), yacc = simd::zero();
  std::int64_t j = 0;
  for (; j + simd::kW <= k; j += simd::kW) {
    const vf y = Y.at(j);
    lacc = simd::fmadd(y, simd::sub(simd::sub(simd::load(pr + j), mv), lse), lacc);
    yacc = simd::add(yacc, y);
  }
  if (j < k) {
    const int r = static_cast<int>(k - j);
    const vf y = Y.tail(j, r);
    const vf lp = simd::sub(simd::sub(simd::load_tail(pr + j, r), mv), lse);
    lacc = simd::add(lacc, simd::select(simd::mask_first(r), simd::mul(y, lp), simd::zero()));
    yacc = simd::add(yacc, y);
  }
  if (g) {
    const vf a = simd::set1(simd::reduce_add(yacc) / se * ws), wv = simd::set1(ws);
    std::int64_t jj = 0;
    for (; jj + simd::kW <= k; jj += simd::kW)
      simd::store(g + jj, vfmsub(simd::load(g + jj), a, simd::mul(Y.at(jj), wv)));
    if (jj < k) {
      const int r = static_cast<int>(k - jj);
      simd::store_tail(g + jj, vfmsub(simd::load_tail(g + jj, r), a, simd::mul(Y.tail(jj, r), wv)), r);
    }
  }
  return -simd::reduce_add(lacc);
}

void loss_categorical_crossentropy(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
              float gscale, float* ps, float* grad, const VlossParams* prm) {
  for (std::int64_t i = 0; i < n; ++i) {
    const RowY Y(yt + i * ytc, ytc != k, prm->label_smoothing, k);
    const float ws = (w ? w[i] : 1.0f) * gscale;
    float* g = grad ? grad + i * k : nullptr;
    ps[i] = prm->from_logits ? cce_logits_row(Y, yp + i * k, k, ws, g) : cce_prob_row(Y, yp + i * k, k, ws, g);
  }
}

// Categorical focal CE, one row (Keras 3): u = p / sum p, or softmax(z) from logits;
// q = clip(u, eps, 1 - eps); l = sum_j alpha (1 - q_j)^gamma (-y_j log q_j). With
// a_j = dl/dq_j = alpha y_j (gamma (1 - q_j)^(gamma - 1) log q_j - (1 - q_j)^gamma / q_j) where
// q_j was not clipped (0 where it was) and A = sum_j a_j u_j, the gradient is
// (a_m - A) / sum p with respect to p, u_m (a_m - A) with respect to z.
inline float focal_cce_row(const RowY& Y, const float* pr, std::int64_t k, float ws, float* g,
                           const VlossParams* prm) {
  const bool logits = prm->from_logits != 0;
  const float gamma = prm->gamma;
  const int gi = static_cast<int>(gamma);
  const bool gint = static_cast<float>(gi) == gamma && gi >= 0 && gi <= 16;
  const float m = logits ? row_max(pr, k) : 0.0f;
  const float s = logits ? row_sum_exp(pr, nullptr, k, m) : row_sum(pr, k);
  const vf sv = simd::set1(s), mv = simd::set1(m), alpha = simd::set1(prm->alpha), gv = simd::set1(gamma);
  auto ratio = [=](vf x) { return simd::div(logits ? vexp(simd::sub(x, mv)) : x, sv); };
  vf lacc = simd::zero(), aacc = simd::zero();
  auto body = [&](vf y, vf x, vmask valid, std::int64_t at, int r) {
    const vf u = ratio(x);
    const vf q = vclamp(u, kLossEps, kLossOneMinusEps);
    const vf om = simd::sub(ones(), q);
    vf f, fp;  // (1 - q)^gamma, gamma (1 - q)^(gamma - 1)
    if (gint) {
      vf pw = ones();
      for (int t = 1; t < gi; ++t) pw = simd::mul(pw, om);
      f = gi == 0 ? ones() : simd::mul(pw, om);
      fp = gi == 0 ? simd::zero() : simd::mul(gv, pw);
    } else {
      const vf lo = vlog(om);
      f = vexp(simd::mul(gv, lo));
      fp = simd::mul(gv, vexp(simd::mul(simd::set1(gamma - 1.0f), lo)));
    }
    const vf lq = vlog(q);
    const vf ay = simd::mul(alpha, y);
    lacc = simd::add(lacc, simd::select(valid, simd::mul(simd::mul(ay, f), lq), simd::zero()));
    if (g) {
      const vmask c = simd::mask_and(valid, open_interval(u, kLossEps, kLossOneMinusEps));
      const vf a = simd::select(c, simd::mul(ay, vfmsub(fp, lq, simd::div(f, q))), simd::zero());
      aacc = simd::add(aacc, simd::select(c, simd::mul(a, u), simd::zero()));
      if (r < 0) simd::store(g + at, a); else simd::store_tail(g + at, a, r);
    }
  };
  std::int64_t j = 0;
  for (; j + simd::kW <= k; j += simd::kW) body(Y.at(j), simd::load(pr + j), simd::mask_first(simd::kW), j, -1);
  if (j < k) {
    const int r = static_cast<int>(k - j);
    body(Y.tail(j, r), simd::load_tail(pr + j, r), simd::mask_first(r), j, r);
  }
  if (g) {
    const vf av = simd::set1(simd::reduce_add(aacc)), wv = simd::set1(ws);
    if (logits) {
      map2(pr, g, g, k, [=](vf x, vf a) { return simd::mul(simd::mul(wv, ratio(x)), simd::sub(a, av)); });
    } else {
      const vf sc = simd::set1(ws / s);
      map1(g, g, k, [=](vf a) { return simd::mul(simd::sub(a, av), sc); });
    }
  }
  return -simd::reduce_add(lacc);
}

void loss_categorical_focal_crossentropy(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n,
                                         std::int64_t k, const float* w, float gscale, float* ps, float* grad,
                                         const VlossParams* prm) {
  for (std::int64_t i = 0; i < n; ++i) {
    const RowY Y(yt + i * ytc, ytc != k, prm->label_smoothing, k);
    ps[i] = focal_cce_row(Y, yp + i * k, k, (w ? w[i] : 1.0f) * gscale, grad ? grad + i * k : nullptr, prm);
  }
}

// Fused softmax + categorical CE: value on the clipped path from q = softmax(z);
// gradient w.r.t. z of the unclipped loss: ws (q sum y - y).
void fused_softmax_cce(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                       const float* w, float gscale, float* ps, float* grad, const VlossParams* prm) {
  for (std::int64_t i = 0; i < n; ++i) {
    const RowY Y(yt + i * ytc, ytc != k, prm->label_smoothing, k);
    const float* q = yp + i * k;
    ps[i] = cce_prob_row(Y, q, k, 0.0f, nullptr);
    if (!grad) continue;
    float* g = grad + i * k;
    vf yacc = simd::zero();
    std::int64_t j = 0;
    for (; j + simd::kW <= k; j += simd::kW) yacc = simd::add(yacc, Y.at(j));
    if (j < k) yacc = simd::add(yacc, Y.tail(j, static_cast<int>(k - j)));
    const float ws = (w ? w[i] : 1.0f) * gscale;
    const vf a = simd::set1(simd::reduce_add(yacc) * ws), wv = simd::set1(ws);
    j = 0;
    for (; j + simd::kW <= k; j += simd::kW)
      simd::store(g + j, vfmsub(simd::load(q + j), a, simd::mul(Y.at(j), wv)));
    if (j < k) {
      const int r = static_cast<int>(k - j);
      simd::store_tail(g + j, vfmsub(simd::load_tail(q + j, r), a, simd::mul(Y.tail(j, r), wv)), r);
    }
  }
}

// Sparse categorical CE (labels validated by the caller: integers in [0, k)).
void loss_sparse_categorical_crossentropy(const float* yt, std::int64_t, const float* yp, std::int64_t n, std::int64_t k, const float* w,
               float gscale, float* ps, float* grad, const VlossParams* prm) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t lab = static_cast<std::int64_t>(yt[i]);
    const float* pr = yp + i * k;
    float* g = grad ? grad + i * k : nullptr;
    const float ws = (w ? w[i] : 1.0f) * gscale;
    if (prm->from_logits) {
      const float m = row_max(pr, k);
      const float se = row_sum_exp(pr, g, k, m);
      const float lse = scalar_log(se);
      ps[i] = -((pr[lab] - m) - lse);
      if (g) {
        const vf a = simd::set1(ws / se);
        map1(g, g, k, [=](vf e) { return simd::mul(e, a); });
        g[lab] -= ws;
      }
    } else {
      const float s = row_sum(pr, k);
      const float ratio = pr[lab] / s;
      const vf q = vclamp(simd::set1(ratio), kLossEps, kLossOneMinusEps);
      ps[i] = -scalar_of(vlog(q));
      if (g) {
        const bool c = ratio > kLossEps && ratio < kLossOneMinusEps;
        const float base = c ? ws / s : 0.0f;
        const vf bv = simd::set1(base);
        map1(g, g, k, [=](vf) { return bv; });
        g[lab] = base - base / scalar_of(q);
      }
    }
  }
}

// Fused softmax + sparse categorical CE: value on the clipped path, gradient ws (q - onehot).
void fused_softmax_scce(const float* yt, std::int64_t, const float* yp, std::int64_t n, std::int64_t k,
                        const float* w, float gscale, float* ps, float* grad, const VlossParams*) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t lab = static_cast<std::int64_t>(yt[i]);
    const float* q = yp + i * k;
    const float s = row_sum(q, k);
    ps[i] = -scalar_of(vlog(vclamp(simd::set1(q[lab] / s), kLossEps, kLossOneMinusEps)));
    if (grad) {
      float* g = grad + i * k;
      const float ws = (w ? w[i] : 1.0f) * gscale;
      const vf wv = simd::set1(ws);
      map1(q, g, k, [=](vf v) { return simd::mul(v, wv); });
      g[lab] -= ws;
    }
  }
}

// categorical_hinge: max(neg - pos + 1, 0), pos = sum y p, neg = max (1 - y) p. The gradient of
// the max is shared equally among tied maxima (as TF and JAX do).
void loss_categorical_hinge(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k,
                            const float* w, float gscale, float* ps, float* grad, const VlossParams*) {
  for (std::int64_t i = 0; i < n; ++i) {
    const RowY Y(yt + i * ytc, ytc != k, 0.0f, k);
    const float* pr = yp + i * k;
    vf pos = simd::zero(), neg = simd::set1(-kPosInf);
    std::int64_t j = 0;
    for (; j + simd::kW <= k; j += simd::kW) {
      const vf y = Y.at(j), p = simd::load(pr + j);
      pos = simd::fmadd(y, p, pos);
      neg = simd::max(neg, simd::mul(simd::sub(ones(), y), p));
    }
    if (j < k) {
      const int r = static_cast<int>(k - j);
      const vf y = Y.tail(j, r), p = simd::load_tail(pr + j, r);
      pos = simd::fmadd(y, p, pos);
      neg = simd::max(neg, simd::select(simd::mask_first(r), simd::mul(simd::sub(ones(), y), p),
                                        simd::set1(-kPosInf)));
    }
    const float negv = simd::reduce_max(neg);
    const float v = negv - simd::reduce_add(pos) + 1.0f;
    ps[i] = v > 0.0f ? v : (v == v ? 0.0f : v);
    if (!grad) continue;
    float* g = grad + i * k;
    const float ws = (w ? w[i] : 1.0f) * gscale;
    if (!(v > 0.0f)) {
      const vf z = (v == v) ? simd::zero() : simd::set1(v);
      map1(g, g, k, [=](vf) { return z; });
      continue;
    }
    const vf nv = simd::set1(negv);
    vf cnt = simd::zero();
    for (j = 0; j + simd::kW <= k; j += simd::kW) {
      const vf y = Y.at(j);
      const vf a = simd::mul(simd::sub(ones(), y), simd::load(pr + j));
      cnt = simd::add(cnt, simd::select(simd::eq(a, nv), ones(), simd::zero()));
    }
    if (j < k) {
      const int r = static_cast<int>(k - j);
      const vf a = simd::mul(simd::sub(ones(), Y.tail(j, r)), simd::load_tail(pr + j, r));
      cnt = simd::add(cnt, simd::select(simd::mask_and(simd::mask_first(r), simd::eq(a, nv)), ones(), simd::zero()));
    }
    const vf share = simd::set1(1.0f / simd::reduce_add(cnt));
    const vf wv = simd::set1(ws);
    auto gb = [&](vf y, vf p) {
      const vf omy = simd::sub(ones(), y);
      const vf tie = simd::select(simd::eq(simd::mul(omy, p), nv), share, simd::zero());
      return simd::mul(wv, simd::fmadd(omy, tie, simd::neg(y)));
    };
    for (j = 0; j + simd::kW <= k; j += simd::kW) simd::store(g + j, gb(Y.at(j), simd::load(pr + j)));
    if (j < k) {
      const int r = static_cast<int>(k - j);
      simd::store_tail(g + j, gb(Y.tail(j, r), simd::load_tail(pr + j, r)), r);
    }
  }
}

// cosine_similarity: -sum yhat phat, zhat = z * min(1/||z||, 1/eps).
// grad: -ap (yhat - c phat) where ||p|| > eps, else -yhat / eps; c = yhat . phat.
void loss_cosine_similarity(const float* yt, std::int64_t ytc, const float* yp, std::int64_t n, std::int64_t k, const float* w,
                 float gscale, float* ps, float* grad, const VlossParams*) {
  for (std::int64_t i = 0; i < n; ++i) {
    const RowY Y(yt + i * ytc, ytc != k, 0.0f, k);
    const float* pr = yp + i * k;
    vf syy = simd::zero(), spp = simd::zero(), syp = simd::zero();
    std::int64_t j = 0;
    for (; j + simd::kW <= k; j += simd::kW) {
      const vf y = Y.at(j), p = simd::load(pr + j);
      syy = simd::fmadd(y, y, syy);
      spp = simd::fmadd(p, p, spp);
      syp = simd::fmadd(y, p, syp);
    }
    if (j < k) {
      const int r = static_cast<int>(k - j);
      const vf y = Y.tail(j, r), p = simd::load_tail(pr + j, r);
      syy = simd::fmadd(y, y, syy);
      spp = simd::fmadd(p, p, spp);
      syp = simd::fmadd(y, p, syp);
    }
    const float invy = 1.0f / scalar_of(simd::sqrt(simd::set1(simd::reduce_add(syy))));
    const float invp = 1.0f / scalar_of(simd::sqrt(simd::set1(simd::reduce_add(spp))));
    const float cap = 1.0f / kLossEps;
    const float ay = invy < cap ? invy : (invy == invy ? cap : invy);
    const bool pclip = !(invp < cap);
    const float ap = pclip ? (invp == invp ? cap : invp) : invp;
    const float c = simd::reduce_add(syp) * ay * ap;
    ps[i] = -c;
    if (!grad) continue;
    const float ws = (w ? w[i] : 1.0f) * gscale;
    // g = -ws ap (y ay - c' p ap), c' = 0 when ||p|| was clipped
    const vf a = simd::set1(-ws * ap * ay), b = simd::set1(pclip ? 0.0f : ws * ap * ap * c);
    float* g = grad + i * k;
    for (j = 0; j + simd::kW <= k; j += simd::kW)
      simd::store(g + j, simd::fmadd(a, Y.at(j), simd::mul(b, simd::load(pr + j))));
    if (j < k) {
      const int r = static_cast<int>(k - j);
      simd::store_tail(g + j, simd::fmadd(a, Y.tail(j, r), simd::mul(b, simd::load_tail(pr + j, r))), r);
    }
  }
}

// One entry per row of losses.def (loss_<name>), then the fused gradients.
void fill_vloss_table(VlossKernels& t) {
#define RANVIER_LOSS(name, ...) t.loss[kVloss_##name] = loss_##name;
#include "kernels/f32-vloss/losses.def"
  t.fused[kVfusedSoftmaxCce] = fused_softmax_cce;
  t.fused[kVfusedSoftmaxScce] = fused_softmax_scce;
  t.fused[kVfusedSigmoidBce] = fused_sigmoid_bce;
}
