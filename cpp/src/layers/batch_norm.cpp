// BatchNormalization over the batch axis of row-major (batch x features) data.
//
// Training (ctx.training and the layer trainable): mean and biased variance per
// feature (double accumulators, two passes, fixed row order), y = x * a + s with
// a = gamma / sqrt(var + eps), s = beta - mean * a (Keras's order of operations);
// the moving statistics are updated in the same call:
//   moving = moving * momentum + batch_stat * (1 - momentum).
// Inference: the same affine map from the moving statistics.
// Backward (training): with xhat = (x - mean) / sqrt(var + eps),
//   dbeta = sum dy, dgamma = sum dy * xhat,
//   dx = gamma / sqrt(var + eps) * (dy - dbeta / N - xhat * dgamma / N).
// Backward after an inference-mode forward (frozen layer inside fit): dx = a * dy.
// Per-feature sums split the features over threads (each feature's sum has one
// owner and a fixed order); elementwise passes split rows.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "layers/layer_table.h"
#include "layers/layers.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {
constexpr std::int64_t kColBlock = 16;

template <class F>
void over_feature_blocks(std::int64_t rows, std::int64_t cols, F&& f) {
  const std::int64_t blocks = (cols + kColBlock - 1) / kColBlock;
  layers_detail::parallel_ranges(blocks, rows * kColBlock, [&](std::int64_t b0, std::int64_t b1) {
    f(b0 * kColBlock, std::min(cols, b1 * kColBlock));
  });
}

// The per-feature sums of the passes below, kColBlock features at a time with the sums in
// local arrays of a constant size (registers: the compiler vectorizes across the features;
// sums kept in memory made every row a store-to-load chain). A partial last block takes
// the same loops at its own width. Each feature's sum still runs over the rows in order,
// in double: the same bits as one feature at a time.
template <int W>
void column_sums(const float* x, std::int64_t rows, std::int64_t n, std::int64_t c0, double* acc) {
  double s[W] = {};
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n + c0;
    for (int j = 0; j < W; ++j) s[j] += xr[j];
  }
  for (int j = 0; j < W; ++j) acc[c0 + j] = s[j];
}

template <int W>
void centered_squares(const float* x, std::int64_t rows, std::int64_t n, std::int64_t c0, const double* mean,
                      double* sq) {
  double m[W], s[W] = {};
  for (int j = 0; j < W; ++j) m[j] = mean[c0 + j];
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n + c0;
    for (int j = 0; j < W; ++j) {
      const double d = xr[j] - m[j];
      s[j] += d * d;
    }
  }
  for (int j = 0; j < W; ++j) sq[c0 + j] = s[j];
}

template <int W>
void grad_sums(const float* x, const float* dy, std::int64_t rows, std::int64_t n, std::int64_t c0,
               const float* mean, const float* inv_std, double* sdy, double* sdyx) {
  float m[W], is[W];
  double a[W] = {}, b[W] = {};
  for (int j = 0; j < W; ++j) {
    m[j] = mean[c0 + j];
    is[j] = inv_std[c0 + j];
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n + c0;
    const float* dyr = dy + r * n + c0;
    for (int j = 0; j < W; ++j) {
      const float xhat = (xr[j] - m[j]) * is[j];
      a[j] += dyr[j];
      b[j] += static_cast<double>(dyr[j]) * xhat;
    }
  }
  for (int j = 0; j < W; ++j) {
    sdy[c0 + j] = a[j];
    sdyx[c0 + j] = b[j];
  }
}
}  // namespace

BatchNormalization::BatchNormalization(const BatchNormConfig& cfg) : cfg_(cfg) {
  if (!(cfg_.epsilon > 0.0f) || !std::isfinite(cfg_.epsilon))
    throw std::invalid_argument("BatchNormalization: epsilon must be a positive number");
  check_momentum(cfg_.momentum);
}

void BatchNormalization::check_momentum(double momentum) {
  if (!(momentum >= 0.0 && momentum <= 1.0))  // outside, the moving statistics diverge to inf/NaN
    throw std::invalid_argument("BatchNormalization: momentum must be in [0, 1], got momentum=" + cfg::shown(momentum));
}

namespace {

std::shared_ptr<Layer> batch_norm_from_config(const json::Value& c, const LayerArgs& a) {
  check_last_axis(c, a.where);
  BatchNormConfig b;
  const double momentum = cfg::get_num_not_null(c, "momentum", 0.99, a.where);
  BatchNormalization::check_momentum(momentum);  // as given (the layer keeps it rounded to float, as files hold it)
  b.momentum = static_cast<float>(momentum);
  read_gamma_beta_config(c, a.where, b);
  return std::make_shared<BatchNormalization>(b);
}

// gamma and beta where scale / center are on, and the two moving statistics
std::uint64_t batch_norm_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                     const std::string& where) {
  *out = in;
  return sat_mul(in, 2 + cfg::get_bool(c, "center", true, where) + cfg::get_bool(c, "scale", true, where));
}

}  // namespace

const LayerRow layer_row_BatchNormalization = {"BatchNormalization", batch_norm_from_config, batch_norm_param_count,
                                               false};

std::int64_t BatchNormalization::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument("BatchNormalization: input must have at least one feature, got " +
                                std::to_string(in_features));
  n_ = in_features;
  const auto n = static_cast<std::size_t>(n_);
  mean_.assign(n, 0.0f);
  inv_std_.assign(n, 0.0f);
  a_.assign(n, 0.0f);
  s_.assign(n, 0.0f);
  k0_.assign(n, 0.0f);
  k1_.assign(n, 0.0f);
  acc1_.assign(n, 0.0);
  acc2_.assign(n, 0.0);
  return n_;
}

std::vector<ParamSpec> BatchNormalization::param_specs() const {
  std::vector<ParamSpec> s;
  if (cfg_.scale) s.push_back({"gamma", {n_}, trainable_});
  if (cfg_.center) s.push_back({"beta", {n_}, trainable_});
  s.push_back({"moving_mean", {n_}, false});
  s.push_back({"moving_variance", {n_}, false});
  return s;
}

void BatchNormalization::bind(const std::vector<float*>& params, const std::vector<float*>& grads) {
  const std::size_t n = 2 + (cfg_.scale ? 1 : 0) + (cfg_.center ? 1 : 0);
  if (params.size() != n || grads.size() != n)
    throw std::invalid_argument("BatchNormalization.bind: expected " + std::to_string(n) + " params and grads");
  std::size_t i = 0;
  gamma_ = dgamma_ = beta_ = dbeta_ = nullptr;
  if (cfg_.scale) { gamma_ = params[i]; dgamma_ = grads[i]; ++i; }
  if (cfg_.center) { beta_ = params[i]; dbeta_ = grads[i]; ++i; }
  mmean_ = params[i++];
  mvar_ = params[i++];
}

void BatchNormalization::reserve(std::int64_t max_batch) { (void)max_batch; }

double BatchNormalization::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  if (batch <= 0) return 0.0;
  if (!mmean_ || !mvar_) throw std::logic_error("BatchNormalization.forward: parameters are not bound");
  FtzScope ftz;
  const std::int64_t n = n_;
  const bool training = ctx.training && trainable_;
  last_training_ = training;
  float* a = a_.data();
  float* s = s_.data();
  if (training) {
    float* mean = mean_.data();
    float* inv_std = inv_std_.data();
    double* acc = acc1_.data();
    const double inv_b = 1.0 / static_cast<double>(batch);
    const float mom = static_cast<float>(cfg_.momentum);
    const float one_minus = static_cast<float>(1.0 - cfg_.momentum);
    over_feature_blocks(batch, n, [&](std::int64_t c0, std::int64_t c1) {
      double* sq = acc2_.data();
      for (std::int64_t j0 = c0; j0 < c1; j0 += kColBlock) {
        if (c1 - j0 >= kColBlock) {
          column_sums<kColBlock>(x, batch, n, j0, acc);
        } else {
          for (std::int64_t j = j0; j < c1; ++j) acc[j] = 0.0;
          for (std::int64_t r = 0; r < batch; ++r) {
            const float* xr = x + r * n;
            for (std::int64_t j = j0; j < c1; ++j) acc[j] += xr[j];
          }
        }
      }
      for (std::int64_t j = c0; j < c1; ++j) {
        acc[j] *= inv_b;
        mean[j] = static_cast<float>(acc[j]);
      }
      for (std::int64_t j0 = c0; j0 < c1; j0 += kColBlock) {
        if (c1 - j0 >= kColBlock) {
          centered_squares<kColBlock>(x, batch, n, j0, acc, sq);
        } else {
          for (std::int64_t j = j0; j < c1; ++j) sq[j] = 0.0;
          for (std::int64_t r = 0; r < batch; ++r) {
            const float* xr = x + r * n;
            for (std::int64_t j = j0; j < c1; ++j) {
              const double d = xr[j] - acc[j];
              sq[j] += d * d;
            }
          }
        }
      }
      for (std::int64_t j = c0; j < c1; ++j) {
        const double var = sq[j] * inv_b;
        const float varf = static_cast<float>(var);
        const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(varf) + cfg_.epsilon));
        inv_std[j] = inv;
        const float g = gamma_ ? gamma_[j] : 1.0f;
        const float b = beta_ ? beta_[j] : 0.0f;
        a[j] = inv * g;
        s[j] = b - mean[j] * a[j];
        mmean_[j] = mmean_[j] * mom + mean[j] * one_minus;
        mvar_[j] = mvar_[j] * mom + varf * one_minus;
      }
    });
  } else {
    for (std::int64_t j = 0; j < n; ++j) {
      const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(mvar_[j]) + cfg_.epsilon));
      const float g = gamma_ ? gamma_[j] : 1.0f;
      const float b = beta_ ? beta_[j] : 0.0f;
      a[j] = inv * g;
      s[j] = b - mmean_[j] * a[j];
    }
  }
  layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      for (std::int64_t j = 0; j < n; ++j) yr[j] = xr[j] * a[j] + s[j];
    }
  });
  return 0.0;
}

void BatchNormalization::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                                  bool dy_is_preactivation) {
  (void)y; (void)dy_is_preactivation;
  if (batch <= 0) return;
  FtzScope ftz;
  const std::int64_t n = n_;
  const float* a = a_.data();
  if (!last_training_) {
    if (dx) {
      layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t r = r0; r < r1; ++r) {
          const float* dyr = dy + r * n;
          float* dxr = dx + r * n;
          for (std::int64_t j = 0; j < n; ++j) dxr[j] = a[j] * dyr[j];
        }
      });
    }
    return;  // frozen/inference: no parameter gradients
  }
  const float* mean = mean_.data();
  const float* inv_std = inv_std_.data();
  double* sdy = acc1_.data();
  double* sdyx = acc2_.data();
  over_feature_blocks(batch, n, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t j0 = c0; j0 < c1; j0 += kColBlock) {
      if (c1 - j0 >= kColBlock) {
        grad_sums<kColBlock>(x, dy, batch, n, j0, mean, inv_std, sdy, sdyx);
        continue;
      }
      for (std::int64_t j = j0; j < c1; ++j) { sdy[j] = 0.0; sdyx[j] = 0.0; }
      for (std::int64_t r = 0; r < batch; ++r) {
        const float* xr = x + r * n;
        const float* dyr = dy + r * n;
        for (std::int64_t j = j0; j < c1; ++j) {
          const float xhat = (xr[j] - mean[j]) * inv_std[j];
          sdy[j] += dyr[j];
          sdyx[j] += static_cast<double>(dyr[j]) * xhat;
        }
      }
    }
    for (std::int64_t j = c0; j < c1; ++j) {
      if (dgamma_) dgamma_[j] = static_cast<float>(sdyx[j]);
      if (dbeta_) dbeta_[j] = static_cast<float>(sdy[j]);
    }
  });
  if (!dx) return;
  // Per feature: dx = a * (dy - mean(dy) - xhat * mean(dy * xhat)).
  float* k0 = k0_.data();
  float* k1 = k1_.data();
  const double inv_b = 1.0 / static_cast<double>(batch);
  for (std::int64_t j = 0; j < n; ++j) {
    k0[j] = static_cast<float>(sdy[j] * inv_b);
    k1[j] = static_cast<float>(sdyx[j] * inv_b);
  }
  layers_detail::parallel_ranges(batch, n, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      const float* dyr = dy + r * n;
      float* dxr = dx + r * n;
      for (std::int64_t j = 0; j < n; ++j) {
        const float xhat = (xr[j] - mean[j]) * inv_std[j];
        dxr[j] = a[j] * (dyr[j] - k0[j] - xhat * k1[j]);
      }
    }
  });
}

double BatchNormalization::regularization(bool add_grad) {
  if (!trainable_) return 0.0;
  double s = 0.0;
  if (gamma_) s += penalty_apply(cfg_.gamma_regularizer, gamma_, add_grad ? dgamma_ : nullptr, n_);
  if (beta_) s += penalty_apply(cfg_.beta_regularizer, beta_, add_grad ? dbeta_ : nullptr, n_);
  return s;
}

void BatchNormalization::apply_constraints() {
  if (gamma_) constraint_apply(cfg_.gamma_constraint, gamma_, n_, 1, acc1_.data());
  if (beta_) constraint_apply(cfg_.beta_constraint, beta_, n_, 1, acc1_.data());
}

}  // namespace ranvier
