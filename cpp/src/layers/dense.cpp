// Dense: y = act(x @ kernel + bias).
//
// Forward: one sgemm with the bias in its epilogue; a plain relu is fused there too.
// Any other activation runs in place afterwards, except in training when its backward
// needs the pre-activation: then the GEMM writes into the z workspace and the
// activation maps z -> y.
// Backward: dz = act'(.) * dy (skipped when the loss already gave dz), then
// dW = x^T dz (sgemm trans_a), db = column sums of dz (double accumulators, fixed row
// order, columns split over threads), dx = dz W^T (sgemm trans_b).
// Under the mixed_bfloat16 policy (cfg.bf16) the three GEMMs are bgemm: their matrix
// inputs (x, W, dz) are rounded to bfloat16, sums and everything else stay float32.
// Under mixed_float16 (cfg.f16) they are hgemm (inputs rounded to IEEE half), and the
// layer's outputs are half values as Keras's float16 ones: z and y forward, dz, dW, db and
// dx backward.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "gemm/bf16_gemm.h"
#include "gemm/f16_gemm.h"
#include "dispatch/dispatch.h"
#include "gemm/gemm.h"
#include "gemm/gemm_tuning.h"
#include "layers/layer_table.h"
#include "layers/layers.h"
#include "layers/parallel.h"
#include "runtime/alloc.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"

namespace ranvier {

namespace {

bool is_plain_relu(ActKind k, const ActParams& p) {
  return k == ActKind::relu && p.negative_slope == 0.0f && std::isinf(p.max_value) && p.max_value > 0 &&
         p.threshold == 0.0f;
}

constexpr std::int64_t kColBlock = 16;

// sums[j] = sum_r a[r * cols + j] for j in [0, cols), in row order; out[j] = (float)sums[j].
// relu_y (optional): a[i] = relu_y[i] > 0 ? a[i] : 0 first, in place (a fused relu's
// derivative, in the same pass). The tier's kernel (kernels/f32-gemv, ColsumFn) when it
// has one: the same arithmetic, vectorized over columns.
void column_sums(float* a, const float* relu_y, std::int64_t rows, std::int64_t cols, double* sums, float* out) {
  const ColsumFn k = kernels().gemv.colsum;
  const std::int64_t blocks = (cols + kColBlock - 1) / kColBlock;
  layers_detail::parallel_ranges(blocks, rows * kColBlock, [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t c0 = b0 * kColBlock, c1 = std::min(cols, b1 * kColBlock);
    if (k) {
      k(a, relu_y, rows, cols, c0, c1, sums, out);
      return;
    }
    for (std::int64_t j = c0; j < c1; ++j) sums[j] = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) {
      float* ar = a + r * cols;
      if (relu_y) {
        const float* yr = relu_y + r * cols;
        for (std::int64_t j = c0; j < c1; ++j) ar[j] = yr[j] > 0.0f ? ar[j] : 0.0f;
      }
      for (std::int64_t j = c0; j < c1; ++j) sums[j] += ar[j];
    }
    for (std::int64_t j = c0; j < c1; ++j) out[j] = static_cast<float>(sums[j]);
  });
}

// Weights (k x n) from which a 1-row GEMV splits its columns between threads: 64K floats
// (256 KB, ~2.5 us on one Zen 4 core) against a hand-off of ~0.5 us to a spinning worker.
// On the 2-core Zen 4 (2026-12-07, busy machine, best decile of 20000 calls): W1's
// 784x256 layer split, 256x128 not: 5.75 us per 1-row predict against 9.6 us on one thread;
// splitting 256x128 as well measured the same (5.83 us).
constexpr std::int64_t kGemvParallelMin = 65536;

// y = act(x @ W + bias) for one row with the tier's GEMV kernel (kernels/f32-gemv), when it
// has one: one sequential pass over W with the sums in registers, no packing, and a
// thread team only for wide layers (below). It uses the GEMM driver's k-blocking (and each element's FMA chain is the GEMM
// micro-kernels'), so a row gets the same bits here as through sgemm, alone or in a batch.
// Returns false where the tier has no GEMV (the caller runs sgemm).
bool gemv_row(const float* x, const float* w, const float* bias, GemmAct act, std::int64_t k, std::int64_t n,
              float* y) {
  const KernelTable& t = kernels();
  if (!t.gemv.gemv) return false;
  const gemm_detail::GemmTuning& tune = gemm_detail::gemm_tuning();
  if (!tune.skinny) return false;  // tests forcing the tiled GEMM path
  const std::int64_t kc = tune.kc > 0 ? tune.kc : t.gemm.kc;
  const std::int64_t blocks = (k + kc - 1) / kc;
  const std::int64_t kstep = (k + blocks - 1) / blocks;  // the driver's equal k-blocks
  const int a = static_cast<int>(act);
  // Columns split between the threads, in whole vectors (a column's arithmetic does not
  // depend on the split): each core streams its share of W, which stays in its own L2
  // between calls (one core's L2 bandwidth, not its FMA rate, bounds a 1-row GEMV).
  // Below kGemvParallelMin weights the hand-off costs more than the half it saves.
  const int nt = k * n >= kGemvParallelMin ? std::min<int>(get_num_threads(), static_cast<int>(n / 64)) : 1;
  if (nt <= 1) {
    t.gemv.gemv(k, kstep, x, w, n, n, bias, a, y);
    return true;
  }
  const std::int64_t vecs = (n + 15) / 16;
  parallel_chunks(nt, nt, PoolSite::gemm, 2.0 * static_cast<double>(k) * static_cast<double>(n), [&](std::int64_t c) {
    const std::int64_t j0 = std::min(n, vecs * c / nt * 16), j1 = std::min(n, vecs * (c + 1) / nt * 16);
    if (j1 > j0) t.gemv.gemv(k, kstep, x, w + j0, n, j1 - j0, bias ? bias + j0 : nullptr, a, y + j0);
  });
  return true;
}

// mixed_float16: Keras's gradients of a float16 layer are float16 values (dW and db reach
// the float32 variables through a cast, dx feeds the layer below): each rounded to half, so
// a gradient past 65504 is inf, as there (what the loss scale then sees). Null: none.
void round_f16_grads(float* dw, float* db, float* dx, std::int64_t in, std::int64_t units, std::int64_t batch) {
  if (dw) round_f16_inplace(dw, in * units);
  if (db) round_f16_inplace(db, units);
  if (dx) round_f16_inplace(dx, batch * in);
}

// Activity penalty scale * (l1 sum|y| + l2 sum y^2) over a batch; g (optional) gets its gradient.
double activity_penalty(const Penalty& p, const float* y, float* g, std::int64_t n, float scale) {
  return penalty_apply(p, y, g, n, scale);
}

[[noreturn]] void units_error(const std::string& shown) {
  throw std::invalid_argument("Received an invalid value for `units`, expected a positive integer. Received: units=" +
                              shown);
}

// The "units" of a config: an integer (Keras's message otherwise); its sign is the
// constructor's check.
std::int64_t units_of(const json::Value& c, const std::string& where) {
  const json::Value* u = c.find("units");
  if (!u) throw std::invalid_argument(where + ": 'units' is missing");
  if (!u->is_number()) units_error(cfg::shown(*u));
  const std::string& t = u->number_text();
  if (t.find_first_not_of("-0123456789") != std::string::npos) units_error(t);
  try {
    return u->as_int("units");
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("Dense: units is too large: it must be at most " +
                                std::to_string(std::numeric_limits<std::int64_t>::max()) + ", got units=" + t);
  }
}

std::shared_ptr<Layer> dense_from_config(const json::Value& c, const LayerArgs& a) {
  DenseConfig d;
  d.bf16 = a.bf16;
  d.f16 = a.f16;
  d.units = units_of(c, a.where);
  const json::Value* act = c.find("activation");
  cfg::parse_activation(act ? *act : json::Value(), d.activation, d.act_params, a.where);
  d.use_bias = cfg::get_bool_not_null(c, "use_bias", true, a.where);
  d.kernel_regularizer = parse_regularizer(c.find("kernel_regularizer"), a.where);
  d.bias_regularizer = parse_regularizer(c.find("bias_regularizer"), a.where);
  d.activity_regularizer = parse_regularizer(c.find("activity_regularizer"), a.where);
  d.kernel_constraint = parse_constraint(c.find("kernel_constraint"), 2, a.where);
  d.bias_constraint = parse_constraint(c.find("bias_constraint"), 1, a.where);
  return std::make_shared<Dense>(d);
}

// A model file may hold Dense layers of up to 2**40 units (as many features as an input).
std::uint64_t dense_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out, const std::string& where) {
  const std::int64_t units = units_of(c, where);
  if (units <= 0 || units > (std::int64_t{1} << 40))
    throw std::invalid_argument(where + ": 'units' = " + std::to_string(units) + " is out of range");
  const std::uint64_t u = static_cast<std::uint64_t>(units);
  *out = u;
  const std::uint64_t w = sat_mul(in, u);
  return w == std::numeric_limits<std::uint64_t>::max() ? w : w + u;
}

}  // namespace

const LayerRow layer_row_Dense = {"Dense", dense_from_config, dense_param_count, false};

Dense::Dense(const DenseConfig& cfg) : cfg_(cfg) {
  if (cfg_.units <= 0) units_error(std::to_string(cfg_.units));
  fused_relu_ = is_plain_relu(cfg_.activation, cfg_.act_params);
  needs_ = (cfg_.activation == ActKind::linear || fused_relu_)
               ? ActNeeds{false, false}
               : activation_backward_needs(cfg_.activation, cfg_.act_params);
}

std::int64_t Dense::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument("Dense: input must have at least one feature, got " +
                                std::to_string(in_features));
  if (cfg_.units > std::numeric_limits<std::int64_t>::max() / in_features)
    throw std::invalid_argument("Dense: a kernel of " + std::to_string(in_features) + " x " +
                                std::to_string(cfg_.units) + " weights overflows a 64-bit size");
  in_ = in_features;
  // units doubles: the bias-gradient sums and the per-unit norms of the constraints
  // (constraint_apply's workspace: one per column of the kernel, one for the bias).
  const bool need_colsum = cfg_.use_bias || cfg_.kernel_constraint.active() || cfg_.bias_constraint.active();
  colsum_.assign(need_colsum ? static_cast<std::size_t>(cfg_.units) : 0, 0.0);
  return cfg_.units;
}

std::vector<ParamSpec> Dense::param_specs() const {
  std::vector<ParamSpec> s;
  s.push_back({"kernel", {in_, cfg_.units}, trainable_});
  if (cfg_.use_bias) s.push_back({"bias", {cfg_.units}, trainable_});
  return s;
}

void Dense::bind(const std::vector<float*>& params, const std::vector<float*>& grads) {
  const std::size_t n = cfg_.use_bias ? 2 : 1;
  if (params.size() != n || grads.size() != n)
    throw std::invalid_argument("Dense.bind: expected " + std::to_string(n) + " params and grads");
  w_ = params[0];
  dw_ = grads[0];
  b_ = cfg_.use_bias ? params[1] : nullptr;
  db_ = cfg_.use_bias ? grads[1] : nullptr;
}

void Dense::reserve(std::int64_t max_batch) {
  if (max_batch <= cap_) return;
  const std::uint64_t n = alloc_bytes("Dense's pre-activation workspace", static_cast<std::uint64_t>(max_batch),
                                     static_cast<std::uint64_t>(cfg_.units), 1);
  if (needs_.input) checked_assign(z_, n, 0.0f, "Dense's pre-activation workspace");
  if (cfg_.activity_regularizer.active() && cfg_.activation != ActKind::linear)
    checked_assign(scratch_, n, 0.0f, "Dense's activity-regularizer workspace");
  cap_ = max_batch;  // only once every workspace exists
}

double Dense::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  if (batch <= 0) return 0.0;
  if (batch > cap_) throw std::invalid_argument("Dense.forward: batch larger than reserve()");
  if (!w_) throw std::logic_error("Dense.forward: parameters are not bound");
  FtzScope ftz;
  const std::int64_t n = cfg_.units;
  GemmEpilogue ep;
  ep.bias = b_;
  ep.act = fused_relu_ ? GemmAct::relu : GemmAct::none;
  z_valid_ = false;
  const auto gemm = cfg_.bf16 ? &bgemm : cfg_.f16 ? &hgemm : &sgemm;
  if (batch == 1 && !cfg_.bf16 && !cfg_.f16 && !(ctx.training && needs_.input) &&
      gemv_row(x, w_, b_, ep.act, in_, n, y)) {  // a single-sample predict
    if (!(cfg_.activation == ActKind::linear || fused_relu_))
      activation_forward(cfg_.activation, cfg_.act_params, y, y, batch, n);
  } else if (cfg_.activation == ActKind::linear || fused_relu_) {
    gemm(false, false, batch, n, in_, 1.0f, x, in_, w_, n, 0.0f, y, n, ep, 0);
  } else if (ctx.training && needs_.input) {
    gemm(false, false, batch, n, in_, 1.0f, x, in_, w_, n, 0.0f, z_.data(), n, ep, 0);
    if (cfg_.f16) round_f16_inplace(z_.data(), batch * n);  // Keras's float16 pre-activation
    activation_forward(cfg_.activation, cfg_.act_params, z_.data(), y, batch, n);
    z_valid_ = true;
  } else {
    gemm(false, false, batch, n, in_, 1.0f, x, in_, w_, n, 0.0f, y, n, ep, 0);
    if (cfg_.f16) round_f16_inplace(y, batch * n);
    activation_forward(cfg_.activation, cfg_.act_params, y, y, batch, n);
  }
  if (cfg_.f16) round_f16_inplace(y, batch * n);  // float16 outputs, as Keras's
  if (cfg_.activity_regularizer.active())
    return activity_penalty(cfg_.activity_regularizer, y, nullptr, batch * n, 1.0f / static_cast<float>(batch));
  return 0.0;
}

void Dense::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                     bool dy_is_preactivation) {
  if (batch <= 0) return;
  FtzScope ftz;
  const std::int64_t n = cfg_.units;
  const std::int64_t total = batch * n;
  const bool has_act = cfg_.activation != ActKind::linear;
  if (needs_.input && has_act && !dy_is_preactivation && !z_valid_)
    throw std::logic_error("Dense.backward: no training forward to differentiate");
  const Penalty& act_reg = cfg_.activity_regularizer;
  const float inv_b = loss_scale_ / static_cast<float>(batch);  // 1/b, times the loss scale

  // d(activity penalty)/dy enters before the activation backward.
  if (act_reg.active() && (!has_act || !dy_is_preactivation))
    activity_penalty(act_reg, y, dy, total, inv_b);

  // A fused relu's derivative is applied by the bias-gradient pass when there is one.
  const bool mask_in_colsum = has_act && !dy_is_preactivation && fused_relu_ && trainable_ && db_;
  if (has_act && !dy_is_preactivation) {
    if (mask_in_colsum) {
      // below, before dz is read
    } else if (fused_relu_) {
      for (std::int64_t i = 0; i < total; ++i) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    } else {
      activation_backward(cfg_.activation, cfg_.act_params, z_valid_ ? z_.data() : nullptr, y, dy, dy,
                          batch, n);
    }
  } else if (has_act && act_reg.active()) {
    // dy is already dL/dz from the loss; the activity term still goes through the activation.
    float* s = scratch_.data();
    std::fill(s, s + total, 0.0f);
    activity_penalty(act_reg, y, s, total, inv_b);
    if (fused_relu_) {
      for (std::int64_t i = 0; i < total; ++i) s[i] = y[i] > 0.0f ? s[i] : 0.0f;
    } else {
      if (needs_.input && !z_valid_) throw std::logic_error("Dense.backward: no training forward to differentiate");
      activation_backward(cfg_.activation, cfg_.act_params, z_valid_ ? z_.data() : nullptr, y, s, s, batch, n);
    }
    for (std::int64_t i = 0; i < total; ++i) dy[i] += s[i];
  }
  const float* dz = dy;
  if (cfg_.f16) round_f16_inplace(dy, total);  // mixed_float16: Keras's float16 dz
  const auto gemm = cfg_.bf16 ? &bgemm : cfg_.f16 ? &hgemm : &sgemm;

  if (trainable_) {
    if (db_) column_sums(dy, mask_in_colsum ? y : nullptr, batch, n, colsum_.data(), db_);
    if (dw_) gemm(true, false, in_, n, batch, 1.0f, x, in_, dz, n, 0.0f, dw_, n, GemmEpilogue{}, 0);
  }
  if (dx) gemm(false, true, batch, in_, n, 1.0f, dz, n, w_, n, 0.0f, dx, in_, GemmEpilogue{}, 0);
  if (cfg_.f16) round_f16_grads(trainable_ ? dw_ : nullptr, trainable_ ? db_ : nullptr, dx, in_, n, batch);
}

double Dense::regularization(bool add_grad) {
  if (!trainable_ || !w_) return 0.0;
  double s = penalty_apply(cfg_.kernel_regularizer, w_, add_grad ? dw_ : nullptr, in_ * cfg_.units);
  if (b_) s += penalty_apply(cfg_.bias_regularizer, b_, add_grad ? db_ : nullptr, cfg_.units);
  return s;
}

void Dense::apply_constraints() {
  if (!w_) return;
  constraint_apply(cfg_.kernel_constraint, w_, in_, cfg_.units, colsum_.data());
  if (b_) constraint_apply(cfg_.bias_constraint, b_, cfg_.units, 1, colsum_.data());
}

}  // namespace ranvier
