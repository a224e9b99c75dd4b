// Fused optimizer update kernels, written once against the SIMD vocabulary
// (cpp/src/simd/README.md) and compiled once per ISA by f32-update-<isa>.cpp.
//
// Contract (see update.h for the per-rule slots and constants, the *Args structs):
// - each kernel makes ONE pass over [0, n): per element it loads g, w and the rule's
//   slots, applies gradient scale -> clipvalue -> decoupled weight decay -> the rule ->
//   EMA, and stores w, the slots and the EMA; g is never written;
// - the main loop runs whole registers, the tail (n % kW elements) goes through the
//   same arithmetic with masked loads/stores, so an element's result never depends on
//   where a range starts or ends (this is what makes 1 and N threads bitwise equal);
// - no allocation, no threads, no std:: templates (this file is compiled with ISA flags).
//
// The including file defines, before including this one:
//   namespace simd = ranvier::simd_<isa>;   and opens namespace ranvier::update_<isa>.

// ---- per-element pre- and post-processing, shared by every rule ----

struct Pre {
  simd::vf gscale, clip_hi, clip_lo, wd_lr, ema_m, ema_1m;
  explicit Pre(const UpdateArgs* a)
      : gscale(simd::set1(a->gscale)),
        clip_hi(simd::set1(a->clipvalue)),
        clip_lo(simd::set1(-a->clipvalue)),
        wd_lr(simd::set1(a->wd_lr)),
        ema_m(simd::set1(a->ema_momentum)),
        ema_1m(simd::set1(1.0f - a->ema_momentum)) {}
};

// Lion's sign(x): +1, -1, or x itself for +-0 and NaN (so NaN propagates like numpy's sign).
static inline simd::vf sign_of(simd::vf x) {
  const simd::vf z = simd::zero();
  simd::vf r = simd::select(simd::lt(x, z), simd::set1(-1.0f), x);
  return simd::select(simd::gt(x, z), simd::set1(1.0f), r);
}

// x^e lane by lane through the C library's powf (only Ftrl with a learning_rate_power
// other than -0.5 or 0 comes here).
static inline simd::vf pow_lanes(simd::vf x, float e) {
  float buf[simd::kW];
  simd::store(buf, x);
  for (int i = 0; i < simd::kW; ++i) buf[i] = ::powf(buf[i], e);
  return simd::load(buf);
}

// ---- the rules: S = number of slots; step(w, g, s) updates w and s[0..S) in registers ----

struct RuleSgd {
  static constexpr int S = 0;
  simd::vf lr;
  explicit RuleSgd(const UpdateArgs* a) : lr(simd::set1(a->lr)) {}
  void step(simd::vf& w, simd::vf g, simd::vf*) const { w = simd::sub(w, simd::mul(g, lr)); }
};

template <bool kNesterov>
struct RuleSgdMomentum {
  static constexpr int S = 1;
  simd::vf lr, mu;
  explicit RuleSgdMomentum(const UpdateArgs* a) : lr(simd::set1(a->lr)), mu(simd::set1(a->sgd_momentum.momentum)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    const simd::vf glr = simd::mul(g, lr);
    s[0] = simd::sub(simd::mul(s[0], mu), glr);  // m <- mu*m - lr*g
    if (kNesterov)
      w = simd::add(w, simd::sub(simd::mul(s[0], mu), glr));
    else
      w = simd::add(w, s[0]);
  }
};

template <bool kCentered, bool kMomentum>
struct RuleRmsprop {
  static constexpr int S = 1 + (kMomentum ? 1 : 0) + (kCentered ? 1 : 0);
  simd::vf lr, rho, rho1, eps, mom;
  explicit RuleRmsprop(const UpdateArgs* a)
      : lr(simd::set1(a->lr)), rho(simd::set1(a->rmsprop.rho)), rho1(simd::set1(a->rmsprop.one_minus_rho)),
        eps(simd::set1(a->rmsprop.epsilon)), mom(simd::set1(a->rmsprop.momentum)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    // s[0] velocity, s[1] momentum (if), s[last] average_gradient (if centered)
    s[0] = simd::add(simd::mul(rho, s[0]), simd::mul(rho1, simd::mul(g, g)));
    simd::vf denom;
    if (kCentered) {
      simd::vf& ag = s[S - 1];
      ag = simd::add(simd::mul(rho, ag), simd::mul(rho1, g));
      denom = simd::add(simd::sub(s[0], simd::mul(ag, ag)), eps);
    } else {
      denom = simd::add(s[0], eps);
    }
    const simd::vf inc = simd::div(simd::mul(lr, g), simd::sqrt(denom));
    if (kMomentum) {
      s[1] = simd::add(simd::mul(mom, s[1]), inc);
      w = simd::sub(w, s[1]);
    } else {
      w = simd::sub(w, inc);
    }
  }
};

struct RuleAdagrad {
  static constexpr int S = 1;
  simd::vf lr, eps;
  explicit RuleAdagrad(const UpdateArgs* a) : lr(simd::set1(a->lr)), eps(simd::set1(a->adagrad.epsilon)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    s[0] = simd::add(s[0], simd::mul(g, g));
    w = simd::sub(w, simd::div(simd::mul(lr, g), simd::sqrt(simd::add(s[0], eps))));
  }
};

struct RuleAdadelta {
  static constexpr int S = 2;
  simd::vf lr, rho, rho1, eps;
  explicit RuleAdadelta(const UpdateArgs* a)
      : lr(simd::set1(a->lr)), rho(simd::set1(a->adadelta.rho)), rho1(simd::set1(a->adadelta.one_minus_rho)),
        eps(simd::set1(a->adadelta.epsilon)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    s[0] = simd::add(simd::mul(rho, s[0]), simd::mul(rho1, simd::mul(g, g)));
    const simd::vf delta = simd::neg(simd::div(simd::mul(simd::sqrt(simd::add(s[1], eps)), g),
                                               simd::sqrt(simd::add(s[0], eps))));
    s[1] = simd::add(simd::mul(rho, s[1]), simd::mul(rho1, simd::mul(delta, delta)));
    w = simd::add(w, simd::mul(lr, delta));
  }
};

template <bool kAmsgrad>
struct RuleAdam {
  static constexpr int S = kAmsgrad ? 3 : 2;
  simd::vf b1c, b2c, alpha, eps;
  explicit RuleAdam(const UpdateArgs* a)
      : b1c(simd::set1(a->adam.one_minus_beta_1)), b2c(simd::set1(a->adam.one_minus_beta_2)),
        alpha(simd::set1(a->adam.alpha)), eps(simd::set1(a->adam.epsilon)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    s[0] = simd::add(s[0], simd::mul(simd::sub(g, s[0]), b1c));
    s[1] = simd::add(s[1], simd::mul(simd::sub(simd::mul(g, g), s[1]), b2c));
    simd::vf v = s[1];
    if (kAmsgrad) {
      s[2] = simd::max(s[2], s[1]);
      v = s[2];
    }
    w = simd::sub(w, simd::div(simd::mul(s[0], alpha), simd::add(simd::sqrt(v), eps)));
  }
};

struct RuleAdamax {
  static constexpr int S = 2;
  simd::vf lr, b1c, b2, bc, eps;
  explicit RuleAdamax(const UpdateArgs* a)
      : lr(simd::set1(a->lr)), b1c(simd::set1(a->adamax.one_minus_beta_1)), b2(simd::set1(a->adamax.beta_2)),
        bc(simd::set1(a->adamax.bias_correction_1)), eps(simd::set1(a->adamax.epsilon)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    s[0] = simd::add(s[0], simd::mul(simd::sub(g, s[0]), b1c));
    s[1] = simd::max(simd::mul(b2, s[1]), simd::abs(g));
    w = simd::sub(w, simd::div(simd::mul(lr, s[0]), simd::mul(bc, simd::add(s[1], eps))));
  }
};

struct RuleNadam {
  static constexpr int S = 2;
  simd::vf lr, b1c, b2c, c1, c2, bc2, eps;
  explicit RuleNadam(const UpdateArgs* a)
      : lr(simd::set1(a->lr)), b1c(simd::set1(a->nadam.one_minus_beta_1)), b2c(simd::set1(a->nadam.one_minus_beta_2)),
        c1(simd::set1(a->nadam.m_coef)), c2(simd::set1(a->nadam.g_coef)),
        bc2(simd::set1(a->nadam.bias_correction_2)), eps(simd::set1(a->nadam.epsilon)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    s[0] = simd::add(s[0], simd::mul(simd::sub(g, s[0]), b1c));
    s[1] = simd::add(s[1], simd::mul(simd::sub(simd::mul(g, g), s[1]), b2c));
    const simd::vf m_hat = simd::add(simd::mul(c1, s[0]), simd::mul(c2, g));
    const simd::vf v_hat = simd::div(s[1], bc2);
    w = simd::sub(w, simd::div(simd::mul(m_hat, lr), simd::add(simd::sqrt(v_hat), eps)));
  }
};

struct RuleLion {
  static constexpr int S = 1;
  simd::vf lr, b1, b1c, b2, b2c;
  explicit RuleLion(const UpdateArgs* a)
      : lr(simd::set1(a->lr)), b1(simd::set1(a->lion.beta_1)), b1c(simd::set1(a->lion.one_minus_beta_1)),
        b2(simd::set1(a->lion.beta_2)), b2c(simd::set1(a->lion.one_minus_beta_2)) {}
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    const simd::vf c = simd::add(simd::mul(s[0], b1), simd::mul(g, b1c));
    w = simd::sub(w, simd::mul(lr, sign_of(c)));
    s[0] = simd::add(simd::mul(s[0], b2), simd::mul(g, b2c));
  }
};

template <int kPow>  // 0: general (powf), 1: power -0.5 (sqrt), 2: power 0
struct RuleFtrl {
  static constexpr int S = 2;
  float e;
  simd::vf lr, l2x2, shrink2, l1, nl1;
  explicit RuleFtrl(const UpdateArgs* a)
      : e(a->ftrl.power), lr(simd::set1(a->lr)), l2x2(simd::set1(a->ftrl.l2_x2)),
        shrink2(simd::set1(a->ftrl.shrinkage_x2)), l1(simd::set1(a->ftrl.l1)), nl1(simd::set1(-a->ftrl.l1)) {}
  simd::vf pw(simd::vf x) const {
    if (kPow == 1) return simd::sqrt(x);
    if (kPow == 2) return simd::set1(1.0f);
    return pow_lanes(x, e);
  }
  void step(simd::vf& w, simd::vf g, simd::vf* s) const {
    // s[0] accumulator n, s[1] linear z
    const simd::vf g_s = simd::add(g, simd::mul(shrink2, w));
    const simd::vf n_new = simd::add(s[0], simd::mul(g, g));
    const simd::vf p_new = pw(n_new);
    const simd::vf sigma = simd::div(simd::sub(p_new, pw(s[0])), lr);
    s[1] = simd::add(s[1], simd::sub(g_s, simd::mul(sigma, w)));
    const simd::vf q = simd::add(simd::div(p_new, lr), l2x2);
    const simd::vf zc = simd::min(simd::max(s[1], nl1), l1);
    w = simd::div(simd::sub(zc, s[1]), q);
    s[0] = n_new;
  }
};

// Lamb (Keras 3's keras/src/optimizers/lamb.py), per tensor: m and v as Adam's, the
// update u = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), then
// w -= (ratio * lr) * u with ratio = |w| / |u| (1 when either norm is not > 0).
// First pass (k_lamb_stats): pre-processing, m, v, and the sums of w^2 and u^2; second
// pass (this rule, run without weight decay): the step, recomputing u from m and v.
struct RuleLamb {
  static constexpr int S = 2;
  static constexpr bool kReadsSlotsOnly = true;
  simd::vf bc1, bc2, eps, rl;
  explicit RuleLamb(const UpdateArgs* a)
      : bc1(simd::set1(a->lamb.bias_correction_1)), bc2(simd::set1(a->lamb.bias_correction_2)),
        eps(simd::set1(a->lamb.epsilon)), rl(simd::set1(a->lamb.ratio_lr)) {}
  simd::vf direction(simd::vf m, simd::vf v) const {
    return simd::div(simd::div(m, bc1), simd::add(simd::sqrt(simd::div(v, bc2)), eps));
  }
  void step(simd::vf& w, simd::vf, simd::vf* s) const { w = simd::sub(w, simd::mul(rl, direction(s[0], s[1]))); }
};

static void k_lamb_stats(std::int64_t n, float* w, const float* g, float* const* slots, const UpdateArgs* a,
                         double* stats) {
  constexpr int W = simd::kW;
  const Pre pre(a);
  const RuleLamb rule(a);
  const simd::vf b1c = simd::set1(a->lamb.one_minus_beta_1), b2c = simd::set1(a->lamb.one_minus_beta_2);
  float* m = slots[0];
  float* v = slots[1];
  simd::vf sw = simd::zero(), su = simd::zero();
  auto one = [&](simd::vf gv, simd::vf& wv, simd::vf& mv, simd::vf& vv) {
    gv = simd::mul(gv, pre.gscale);
    if (a->clip) gv = simd::min(simd::max(gv, pre.clip_lo), pre.clip_hi);
    if (a->decay) wv = simd::sub(wv, simd::mul(wv, pre.wd_lr));
    mv = simd::add(mv, simd::mul(simd::sub(gv, mv), b1c));
    vv = simd::add(vv, simd::mul(simd::sub(simd::mul(gv, gv), vv), b2c));
    return rule.direction(mv, vv);
  };
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    simd::vf wv = simd::load(w + i), mv = simd::load(m + i), vv = simd::load(v + i);
    const simd::vf u = one(simd::load(g + i), wv, mv, vv);
    simd::store(w + i, wv);
    simd::store(m + i, mv);
    simd::store(v + i, vv);
    sw = simd::fmadd(wv, wv, sw);
    su = simd::fmadd(u, u, su);
  }
  float tw = 0.0f, tu = 0.0f;
  const int r = static_cast<int>(n - i);
  if (r > 0) {
    simd::vf wv = simd::load_tail(w + i, r), mv = simd::load_tail(m + i, r), vv = simd::load_tail(v + i, r);
    const simd::vf u = one(simd::load_tail(g + i, r), wv, mv, vv);
    simd::store_tail(w + i, wv, r);
    simd::store_tail(m + i, mv, r);
    simd::store_tail(v + i, vv, r);
    float bw[simd::kW], bu[simd::kW];  // only the r live lanes count
    simd::store(bw, wv);
    simd::store(bu, u);
    for (int j = 0; j < r; ++j) {
      tw += bw[j] * bw[j];
      tu += bu[j] * bu[j];
    }
  }
  stats[0] += static_cast<double>(simd::reduce_add(sw)) + static_cast<double>(tw);
  stats[1] += static_cast<double>(simd::reduce_add(su)) + static_cast<double>(tu);
}

// ---- the one loop every rule runs in ----

// Rules whose step only reads its slots (Lamb's second pass) say so: their slots are not
// stored back.
template <class Rule, class = void>
struct ReadsSlotsOnly {
  static constexpr bool value = false;
};
template <class Rule>
struct ReadsSlotsOnly<Rule, decltype(void(Rule::kReadsSlotsOnly))> {
  static constexpr bool value = Rule::kReadsSlotsOnly;
};

template <class Rule, bool kClip, bool kDecay, bool kEma>
static void drive(std::int64_t n, float* w, const float* g, float* const* slots, float* ema, const UpdateArgs* a) {
  const Rule rule(a);
  const Pre pre(a);
  constexpr int S = Rule::S;
  constexpr int W = simd::kW;
  constexpr int kStore = ReadsSlotsOnly<Rule>::value ? 0 : S;  // slots written back
  float* sp[S > 0 ? S : 1];
  for (int k = 0; k < S; ++k) sp[k] = slots[k];
  simd::vf s[S > 0 ? S : 1];

  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    simd::vf gv = simd::mul(simd::load(g + i), pre.gscale);
    if (kClip) gv = simd::min(simd::max(gv, pre.clip_lo), pre.clip_hi);
    simd::vf wv = simd::load(w + i);
    if (kDecay) wv = simd::sub(wv, simd::mul(wv, pre.wd_lr));
    for (int k = 0; k < S; ++k) s[k] = simd::load(sp[k] + i);
    rule.step(wv, gv, s);
    for (int k = 0; k < kStore; ++k) simd::store(sp[k] + i, s[k]);
    simd::store(w + i, wv);
    if (kEma)
      simd::store(ema + i, simd::add(simd::mul(pre.ema_m, simd::load(ema + i)), simd::mul(pre.ema_1m, wv)));
  }
  const int r = static_cast<int>(n - i);
  if (r > 0) {
    simd::vf gv = simd::mul(simd::load_tail(g + i, r), pre.gscale);
    if (kClip) gv = simd::min(simd::max(gv, pre.clip_lo), pre.clip_hi);
    simd::vf wv = simd::load_tail(w + i, r);
    if (kDecay) wv = simd::sub(wv, simd::mul(wv, pre.wd_lr));
    for (int k = 0; k < S; ++k) s[k] = simd::load_tail(sp[k] + i, r);
    rule.step(wv, gv, s);
    for (int k = 0; k < kStore; ++k) simd::store_tail(sp[k] + i, s[k], r);
    simd::store_tail(w + i, wv, r);
    if (kEma)
      simd::store_tail(ema + i,
                       simd::add(simd::mul(pre.ema_m, simd::load_tail(ema + i, r)), simd::mul(pre.ema_1m, wv)), r);
  }
}

// Picks the <clip, decay, ema> instantiation once per call (never per element).
template <class Rule>
static void dispatch3(std::int64_t n, float* w, const float* g, float* const* slots, float* ema,
                      const UpdateArgs* a) {
  const int key = (a->clip ? 4 : 0) | (a->decay ? 2 : 0) | (ema ? 1 : 0);
  switch (key) {
    case 0: drive<Rule, false, false, false>(n, w, g, slots, ema, a); break;
    case 1: drive<Rule, false, false, true>(n, w, g, slots, ema, a); break;
    case 2: drive<Rule, false, true, false>(n, w, g, slots, ema, a); break;
    case 3: drive<Rule, false, true, true>(n, w, g, slots, ema, a); break;
    case 4: drive<Rule, true, false, false>(n, w, g, slots, ema, a); break;
    case 5: drive<Rule, true, false, true>(n, w, g, slots, ema, a); break;
    case 6: drive<Rule, true, true, false>(n, w, g, slots, ema, a); break;
    default: drive<Rule, true, true, true>(n, w, g, slots, ema, a); break;
  }
}

static void k_sgd(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleSgd>(n, w, g, s, e, a);
}
static void k_sgd_momentum(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  if (a->sgd_momentum.nesterov)
    dispatch3<RuleSgdMomentum<true>>(n, w, g, s, e, a);
  else
    dispatch3<RuleSgdMomentum<false>>(n, w, g, s, e, a);
}
static void k_rmsprop(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  switch ((a->rmsprop.centered ? 1 : 0) | (a->rmsprop.use_momentum ? 2 : 0)) {
    case 0: dispatch3<RuleRmsprop<false, false>>(n, w, g, s, e, a); break;
    case 1: dispatch3<RuleRmsprop<true, false>>(n, w, g, s, e, a); break;
    case 2: dispatch3<RuleRmsprop<false, true>>(n, w, g, s, e, a); break;
    default: dispatch3<RuleRmsprop<true, true>>(n, w, g, s, e, a); break;
  }
}
static void k_adagrad(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleAdagrad>(n, w, g, s, e, a);
}
static void k_adadelta(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleAdadelta>(n, w, g, s, e, a);
}
static void k_adam(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  if (a->adam.amsgrad)
    dispatch3<RuleAdam<true>>(n, w, g, s, e, a);
  else
    dispatch3<RuleAdam<false>>(n, w, g, s, e, a);
}
static void k_adamax(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleAdamax>(n, w, g, s, e, a);
}
static void k_nadam(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleNadam>(n, w, g, s, e, a);
}
static void k_lion(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleLion>(n, w, g, s, e, a);
}
static void k_ftrl(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  switch (a->ftrl.power_kind) {
    case 1: dispatch3<RuleFtrl<1>>(n, w, g, s, e, a); break;
    case 2: dispatch3<RuleFtrl<2>>(n, w, g, s, e, a); break;
    default: dispatch3<RuleFtrl<0>>(n, w, g, s, e, a); break;
  }
}

static void k_lamb(std::int64_t n, float* w, const float* g, float* const* s, float* e, const UpdateArgs* a) {
  dispatch3<RuleLamb>(n, w, g, s, e, a);
}

// ---- helpers ----

static float k_sumsq(std::int64_t n, const float* x) {
  constexpr int W = simd::kW;
  simd::vf a0 = simd::zero(), a1 = simd::zero(), a2 = simd::zero(), a3 = simd::zero();
  std::int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const simd::vf x0 = simd::load(x + i), x1 = simd::load(x + i + W);
    const simd::vf x2 = simd::load(x + i + 2 * W), x3 = simd::load(x + i + 3 * W);
    a0 = simd::fmadd(x0, x0, a0);
    a1 = simd::fmadd(x1, x1, a1);
    a2 = simd::fmadd(x2, x2, a2);
    a3 = simd::fmadd(x3, x3, a3);
  }
  for (; i + W <= n; i += W) {
    const simd::vf x0 = simd::load(x + i);
    a0 = simd::fmadd(x0, x0, a0);
  }
  const int r = static_cast<int>(n - i);
  if (r > 0) {
    const simd::vf x0 = simd::load_tail(x + i, r);
    a1 = simd::fmadd(x0, x0, a1);
  }
  return simd::reduce_add(simd::add(simd::add(a0, a1), simd::add(a2, a3)));
}

static void k_accumulate(std::int64_t n, float* acc, const float* g, float scale) {
  constexpr int W = simd::kW;
  const simd::vf sc = simd::set1(scale);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) simd::store(acc + i, simd::add(simd::load(acc + i), simd::mul(simd::load(g + i), sc)));
  const int r = static_cast<int>(n - i);
  if (r > 0)
    simd::store_tail(acc + i, simd::add(simd::load_tail(acc + i, r), simd::mul(simd::load_tail(g + i, r), sc)), r);
}

static void k_accumulate_finish(std::int64_t n, float* g, float* acc, float a, float b) {
  constexpr int W = simd::kW;
  const simd::vf va = simd::set1(a), vb = simd::set1(b), z = simd::zero();
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    simd::store(g + i, simd::mul(simd::add(simd::mul(simd::load(g + i), va), simd::load(acc + i)), vb));
    simd::store(acc + i, z);
  }
  const int r = static_cast<int>(n - i);
  if (r > 0) {
    simd::store_tail(g + i, simd::mul(simd::add(simd::mul(simd::load_tail(g + i, r), va), simd::load_tail(acc + i, r)), vb), r);
    simd::store_tail(acc + i, z, r);
  }
}

static void k_ema(std::int64_t n, float* ema, const float* w, float m) {
  constexpr int W = simd::kW;
  const simd::vf vm = simd::set1(m), v1m = simd::set1(1.0f - m);
  std::int64_t i = 0;
  for (; i + W <= n; i += W)
    simd::store(ema + i, simd::add(simd::mul(vm, simd::load(ema + i)), simd::mul(v1m, simd::load(w + i))));
  const int r = static_cast<int>(n - i);
  if (r > 0)
    simd::store_tail(ema + i, simd::add(simd::mul(vm, simd::load_tail(ema + i, r)), simd::mul(v1m, simd::load_tail(w + i, r))), r);
}

static void k_triad(std::int64_t n, float* a, const float* b, const float* c, float s) {
  constexpr int W = simd::kW;
  const simd::vf vs = simd::set1(s);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) simd::store(a + i, simd::fmadd(simd::load(c + i), vs, simd::load(b + i)));
  const int r = static_cast<int>(n - i);
  if (r > 0) simd::store_tail(a + i, simd::fmadd(simd::load_tail(c + i, r), vs, simd::load_tail(b + i, r)), r);
}

static void fill_table(UpdateKernels& k, const char* name) {
  k.name = name;
#define RANVIER_UPDATE_RULE_FILL(rule, type) k.rule = k_##rule;
  RANVIER_UPDATE_RULES(RANVIER_UPDATE_RULE_FILL)
#undef RANVIER_UPDATE_RULE_FILL
  k.sumsq = k_sumsq;
  k.accumulate = k_accumulate;
  k.accumulate_finish = k_accumulate_finish;
  k.ema = k_ema;
  k.triad = k_triad;
}
