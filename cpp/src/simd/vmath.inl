// Vectorized float32 math, written once against the SIMD vocabulary (simd/README.md).
//
// Include this file INSIDE a per-ISA namespace in which `simd` names that ISA's
// vocabulary namespace, e.g.
//     namespace ranvier { namespace vunary_avx2 { namespace simd = ranvier::simd_avx2;
//     #include "simd/vmath.inl"  ... } }
// It includes no headers and defines only inline functions of that namespace.
//
// Accuracy (max error against float64, measured over dense sweeps of all float
// inputs in tests/test_vmath.py, which states the numbers):
//   vexp, vexpm1, vlog, vlog1p, vtanh, verf, vsigmoid: a few ulp (see the test).
// Special values: NaN in -> NaN out; exp(+inf)=inf, exp(-inf)=0, exp(x>88.72)=inf,
// tanh(+-inf)=+-1, erf(+-inf)=+-1, log(0)=-inf, log(x<0)=NaN, log(+inf)=inf.
// Subnormal inputs/outputs assume FTZ/DAZ (the callers hold an FtzScope).
//
// NaN-keeping clamps: x86 min/max return their SECOND operand when either is NaN
// (the scalar vocabulary copies that), so min(set1(c), x) / max(set1(c), x) keep a
// NaN x, while max(x, set1(c)) replaces a NaN x by c.

using vf = simd::vf;
using vmask = simd::mask;

#ifndef RANVIER_VM_INF
#if defined(__GNUC__) || defined(__clang__)
#define RANVIER_VM_INF __builtin_inff()
#define RANVIER_VM_NAN __builtin_nanf("")
#else
#define RANVIER_VM_INF INFINITY  // <cmath> macros; the includer provides them
#define RANVIER_VM_NAN NAN
#endif
#endif

// min(x, c) and max(x, c) that keep NaN.
inline vf vclamp_hi(vf x, float c) { return simd::min(simd::set1(c), x); }
inline vf vclamp_lo(vf x, float c) { return simd::max(simd::set1(c), x); }
inline vf vclamp(vf x, float lo, float hi) { return vclamp_hi(vclamp_lo(x, lo), hi); }

// ---- exp family -------------------------------------------------------------------
// x = n*ln2 + r, |r| <= ln2/2 (Cody-Waite two-constant reduction, n*C1 exact);
// e^r - 1 = r + r^2 * P(r) (Cephes expf minimax coefficients).
constexpr float kVmLog2e = 1.44269504088896341f;
constexpr float kVmLn2Hi = 0.693359375f;
constexpr float kVmLn2Lo = -2.12194440e-4f;

inline vf vm_expm1_poly(vf r) {
  vf p = simd::set1(1.9875691500e-4f);
  p = simd::fmadd(p, r, simd::set1(1.3981999507e-3f));
  p = simd::fmadd(p, r, simd::set1(8.3334519073e-3f));
  p = simd::fmadd(p, r, simd::set1(4.1665795894e-2f));
  p = simd::fmadd(p, r, simd::set1(1.6666665459e-1f));
  p = simd::fmadd(p, r, simd::set1(5.0000001201e-1f));
  return simd::fmadd(simd::mul(r, r), p, r);
}

// e^(h + l) for a small correction l (|l| <= ulp(h)); n is taken from h. The scale 2^n
// is applied as two factors 2^n1 * 2^n2 (n1 = floor(n/2)), so neither the scaling nor
// the fma ever leaves the normal range early: e^x overflows to inf exactly when it
// exceeds FLT_MAX, and results below FLT_MIN become subnormal (0 under FTZ).
inline vf vm_exp_core(vf xc, vf l) {
  vf n = simd::floor(simd::fmadd(xc, simd::set1(kVmLog2e), simd::set1(0.5f)));
  n = simd::max(n, simd::set1(-150.0f));  // NaN -> -150 (the result stays NaN through r)
  vf r = simd::fnmadd(n, simd::set1(kVmLn2Hi), xc);
  r = simd::fnmadd(n, simd::set1(kVmLn2Lo), r);
  r = simd::add(r, l);
  const vf em1 = vm_expm1_poly(r);
  const vf n1 = simd::floor(simd::mul(n, simd::set1(0.5f)));
  const vf t1 = simd::pow2n(n1);
  const vf t2 = simd::pow2n(simd::sub(n, n1));
  return simd::mul(simd::fmadd(t1, em1, t1), t2);
}
inline vf vexp_hilo(vf h, vf l) { return vm_exp_core(vclamp(h, -104.0f, 89.0f), l); }
inline vf vexp(vf x) { return vm_exp_core(vclamp(x, -104.0f, 89.0f), simd::zero()); }

// e^x - 1, accurate near 0: 2^n * (e^r - 1) + (2^n - 1) for x < 80, e^x above.
inline vf vexpm1(vf x) {
  const vf xc = vclamp(x, -30.0f, 80.0f);
  const vf n = simd::floor(simd::fmadd(xc, simd::set1(kVmLog2e), simd::set1(0.5f)));
  const vf nn = simd::max(n, simd::set1(-64.0f));  // NaN -> -64 (result NaN through r)
  vf r = simd::fnmadd(nn, simd::set1(kVmLn2Hi), xc);
  r = simd::fnmadd(nn, simd::set1(kVmLn2Lo), r);
  const vf em1 = vm_expm1_poly(r);
  const vf t = simd::pow2n(nn);
  const vf y = simd::fmadd(t, em1, simd::sub(t, simd::set1(1.0f)));
  return simd::select(simd::gt(x, simd::set1(80.0f)), vexp(x), y);
}

// 1 / (1 + e^-x): exact saturation (e^-x = inf -> 0, e^-x = 0 -> 1).
inline vf vsigmoid(vf x) {
  return simd::div(simd::set1(1.0f), simd::add(simd::set1(1.0f), vexp(simd::neg(x))));
}

// ---- log family -------------------------------------------------------------------
// x = 2^e * m, m in [sqrt(1/2), sqrt(2)); log(m) = f - f^2/2 + f^3 P(f), f = m - 1
// (Cephes logf coefficients); e*ln2 added in two parts.
inline vf vlog(vf x) {
  vf e = simd::exponent(x);
  vf m = simd::mantissa(x);
  const vmask hi = simd::gt(m, simd::set1(1.41421356237f));
  m = simd::select(hi, simd::mul(m, simd::set1(0.5f)), m);
  e = simd::select(hi, simd::add(e, simd::set1(1.0f)), e);
  const vf f = simd::sub(m, simd::set1(1.0f));
  const vf z = simd::mul(f, f);
  vf p = simd::set1(7.0376836292e-2f);
  p = simd::fmadd(p, f, simd::set1(-1.1514610310e-1f));
  p = simd::fmadd(p, f, simd::set1(1.1676998740e-1f));
  p = simd::fmadd(p, f, simd::set1(-1.2420140846e-1f));
  p = simd::fmadd(p, f, simd::set1(1.4249322787e-1f));
  p = simd::fmadd(p, f, simd::set1(-1.6668057665e-1f));
  p = simd::fmadd(p, f, simd::set1(2.0000714765e-1f));
  p = simd::fmadd(p, f, simd::set1(-2.4999993993e-1f));
  p = simd::fmadd(p, f, simd::set1(3.3333331174e-1f));
  vf y = simd::mul(simd::mul(p, f), z);
  y = simd::fmadd(e, simd::set1(kVmLn2Lo), y);
  y = simd::fnmadd(simd::set1(0.5f), z, y);
  vf r = simd::add(f, y);
  r = simd::fmadd(e, simd::set1(kVmLn2Hi), r);
  // special values: 0 (and subnormals under DAZ) -> -inf, < 0 -> NaN, +inf -> inf, NaN -> NaN
  const float inf = RANVIER_VM_INF;
  const float qnan = RANVIER_VM_NAN;
  r = simd::select(simd::eq(x, simd::zero()), simd::set1(-inf), r);
  r = simd::select(simd::lt(x, simd::zero()), simd::set1(qnan), r);
  r = simd::select(simd::eq(x, simd::set1(inf)), x, r);
  return simd::select(simd::isnan(x), x, r);
}

// log(1 + x) with Goldberg's correction: u = 1 + x; log(u) * x / (u - 1).
inline vf vlog1p(vf x) {
  const vf u = simd::add(simd::set1(1.0f), x);
  const vf d = simd::sub(u, simd::set1(1.0f));
  const vf r = simd::mul(vlog(u), simd::div(x, d));
  vf y = simd::select(simd::eq(d, simd::zero()), x, r);
  return simd::select(simd::eq(x, simd::set1(RANVIER_VM_INF)), x, y);
}

// softplus(x) = max(x, 0) + log1p(e^-|x|)  (logaddexp(x, 0))
inline vf vsoftplus(vf x) {
  return simd::add(simd::max(simd::zero(), x), vlog1p(vexp(simd::neg(simd::abs(x)))));
}

// ---- tanh -------------------------------------------------------------------------
// |x| < 0.625: x + x^3 R(x^2) (fitted, minimax-like); else sign(x) (1 - 2/(e^{2|x|} + 1)).
inline vf vtanh(vf x) {
  const vf z = simd::abs(x);
  const vf xx = simd::mul(x, x);
  vf p = simd::set1(-5.705810151994228e-3f);
  p = simd::fmadd(p, xx, simd::set1(2.06398107111454e-2f));
  p = simd::fmadd(p, xx, simd::set1(-5.373993143439293e-2f));
  p = simd::fmadd(p, xx, simd::set1(1.3331444561481476e-1f));
  p = simd::fmadd(p, xx, simd::set1(-3.333328068256378e-1f));
  const vf small = simd::fmadd(simd::mul(xx, x), p, x);
  const vf e = vexp(simd::add(vclamp_hi(z, 10.0f), vclamp_hi(z, 10.0f)));
  vf big = simd::sub(simd::set1(1.0f), simd::div(simd::set1(2.0f), simd::add(e, simd::set1(1.0f))));
  big = simd::select(simd::lt(x, simd::zero()), simd::neg(big), big);
  return simd::select(simd::lt(z, simd::set1(0.625f)), small, big);
}

// ---- erf, erfc, normal CDF ------------------------------------------------------------
// erf(x) = x + x P(x^2) for |x| < 0.75 (fitted, relative error 4e-13 before rounding).
inline vf vm_erf_small(vf x) {
  const vf xx = simd::mul(x, x);
  vf p = simd::set1(-1.1660655218292959e-5f);
  p = simd::fmadd(p, xx, simd::set1(1.1768673721235245e-4f));
  p = simd::fmadd(p, xx, simd::set1(-8.534911321476102e-4f));
  p = simd::fmadd(p, xx, simd::set1(5.223626270890236e-3f));
  p = simd::fmadd(p, xx, simd::set1(-2.6866121217608452e-2f));
  p = simd::fmadd(p, xx, simd::set1(1.1283791065216064e-1f));
  p = simd::fmadd(p, xx, simd::set1(-3.7612637877464294e-1f));
  p = simd::fmadd(p, xx, simd::set1(1.2837916612625122e-1f));
  // |x| < 2^-60: x * 2/sqrt(pi) directly (x * p could flush to zero under FTZ on the
  // scalar ISA, whose fmadd rounds the product)
  return simd::select(simd::lt(simd::abs(x), simd::set1(8.673617379884035e-19f)),
                      simd::mul(x, simd::set1(1.1283791670955126f)), simd::fmadd(x, p, x));
}

// erfc(z) = t R(t) e^{-z^2}, t = 1/(1 + z/2), for z >= 0.45: R is a degree-9 polynomial
// in (t - 0.5) fitted to erfcx(z)/t over z in [0.45, 9.6] (relative fit error 3e-9).
// The exponent -z^2 is passed as an exact hi + lo pair, so large z keeps full relative
// accuracy; what remains is the rounding of t and of the polynomial (a few ulp).
inline vf vm_erfc_tr(vf t) {
  const vf s = simd::sub(t, simd::set1(0.5f));
  vf p = simd::set1(-2.3574788123369217e-2f);
  p = simd::fmadd(p, s, simd::set1(-6.81932345032692e-2f));
  p = simd::fmadd(p, s, simd::set1(5.592529475688934e-2f));
  p = simd::fmadd(p, s, simd::set1(9.749551862478256e-2f));
  p = simd::fmadd(p, s, simd::set1(-1.0381791740655899e-1f));
  p = simd::fmadd(p, s, simd::set1(-1.7203643918037415e-1f));
  p = simd::fmadd(p, s, simd::set1(1.4577272534370422e-1f));
  p = simd::fmadd(p, s, simd::set1(5.589435696601868e-1f));
  p = simd::fmadd(p, s, simd::set1(6.871606707572937e-1f));
  p = simd::fmadd(p, s, simd::set1(5.107913613319397e-1f));
  return simd::mul(t, p);
}

// erfcx(z) = e^{z^2} erfc(z) = t R(t) for z in [0.45, 10], with a first-order correction
// for the rounding of t: F(t_exact) = F(t) - erfcx'(z) (2/t) r, r = 1 - t (1 + z/2)
// (from exact fmas; 1 - d is exact for z <= 2, where the correction matters),
// erfcx'(z) = 2 z erfcx(z) - 2/sqrt(pi).
inline vf vm_erfcx(vf z) {
  const vf one = simd::set1(1.0f);
  const vf d = simd::fmadd_exact(simd::set1(0.5f), z, one);
  const vf t = simd::div(one, d);
  const vf f = vm_erfc_tr(t);
  const vf derr = simd::fmadd_exact(simd::set1(0.5f), z, simd::sub(one, d));
  const vf r = simd::fnmadd(t, derr, simd::fmadd_exact(simd::neg(t), d, one));
  const vf df = simd::fmadd(simd::add(z, z), f, simd::set1(-1.1283791670955126f));
  return simd::fnmadd(simd::mul(df, simd::add(d, d)), r, f);
}

// e^{-a*b} for the exact product a*b (hi + lo split with an exact fma).
inline vf vm_exp_neg_product(vf a, vf b) {
  const vf sq = simd::mul(a, b);
  const vf sq_err = simd::fmadd_exact(a, b, simd::neg(sq));  // a*b - sq, exact
  return vexp_hilo(simd::neg(sq), simd::neg(sq_err));
}

// erfc(z) for z >= 0.45 (NaN kept; 0 where it underflows): z clamped at 10.
inline vf vm_erfc_big(vf z) {
  const vf zc = vclamp_hi(z, 10.0f);
  return simd::mul(vm_erfcx(zc), vm_exp_neg_product(zc, zc));
}

// erfc for z >= 0: 1 - erf(z) below 0.5, the t-form above.
inline vf verfc_pos(vf z) {
  return simd::select(simd::lt(z, simd::set1(0.5f)), simd::sub(simd::set1(1.0f), vm_erf_small(z)),
                      vm_erfc_big(z));
}

inline vf verfc(vf x) {
  const vf e = verfc_pos(simd::abs(x));
  return simd::select(simd::lt(x, simd::zero()), simd::sub(simd::set1(2.0f), e), e);
}

// erf: the polynomial for |x| < 0.75; else sign(x) (1 - erfc(|x|)).
inline vf verf(vf x) {
  vf big = simd::sub(simd::set1(1.0f), vm_erfc_big(simd::abs(x)));
  big = simd::select(simd::lt(x, simd::zero()), simd::neg(big), big);
  return simd::select(simd::lt(simd::abs(x), simd::set1(0.75f)), vm_erf_small(x), big);
}

// Standard normal CDF Phi(x) = erfc(-x/sqrt2)/2. For |x| < 0.7: 1/2 + erf(x/sqrt2)/2.
// Beyond, with relative accuracy in the left tail: the exponent -x^2/2 is formed from x
// exactly (hi + lo), not from the rounded x/sqrt2. Also returns e^{-x^2/2} (for the
// density) through `gauss` when not null, and the left-tail factor through `tail`.
// x is clamped to [-15, 15] (Phi saturated).
inline vf vnormcdf_g(vf x, vf* gauss, vf* tail) {
  const vf xc = vclamp(x, -15.0f, 15.0f);
  const vf z = simd::mul(simd::abs(xc), simd::set1(0.70710678118654752f));
  const vf g = vm_exp_neg_product(simd::mul(simd::set1(0.5f), xc), xc);
  const vf a = simd::mul(simd::set1(0.5f), vm_erfcx(z));
  if (gauss) *gauss = g;
  if (tail) *tail = a;  // Phi(x) = a * g for x <= -0.7 (kept apart so callers avoid FTZ of Phi)
  const vf h = simd::mul(a, g);  // erfc(|x|/sqrt2)/2
  const vf big = simd::select(simd::lt(xc, simd::zero()), h, simd::sub(simd::set1(1.0f), h));
  const vf small = simd::fmadd(simd::set1(0.5f), vm_erf_small(simd::mul(xc, simd::set1(0.70710678118654752f))),
                               simd::set1(0.5f));
  return simd::select(simd::lt(simd::abs(xc), simd::set1(0.7f)), small, big);
}
inline vf vnormcdf(vf x) { return vnormcdf_g(x, nullptr, nullptr); }
