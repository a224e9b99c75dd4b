// LayerNormalization over the features of each row.
//
// Forward, per row: mean and biased variance (double, two passes),
// inv = 1 / sqrt(var + eps), y = (x - mean) * inv * gamma + beta. Row means and
// inverse deviations are kept for backward. Rows split over threads.
// Backward, per row, with xhat = (x - mean) * inv and g = dy * gamma:
//   dx = inv * (g - mean(g) - xhat * mean(g * xhat));
// dgamma = sum over rows of dy * xhat, dbeta = sum over rows of dy (features split
// over threads, fixed row order).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "layers/layer_table.h"
#include "layers/layers.h"
#include "layers/parallel.h"
#include "runtime/alloc.h"

namespace ranvier {

namespace {
constexpr std::int64_t kColBlock = 16;

// sum_j term(j) for j in [0, n) in 8 interleaved double lanes, combined in a fixed order:
// the same result at any thread count, and the lanes let the compiler vectorize.
template <class F>
inline double lane_sum(std::int64_t n, F&& term) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] += term(j + k);
  double tail = 0.0;
  for (; j < n; ++j) tail += term(j);
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7])) + tail;
}
}

LayerNormalization::LayerNormalization(const LayerNormConfig& cfg) : cfg_(cfg) {
  if (!(cfg_.epsilon > 0.0f) || !std::isfinite(cfg_.epsilon))
    throw std::invalid_argument("LayerNormalization: epsilon must be a positive number");
}

namespace {

std::shared_ptr<Layer> layer_norm_from_config(const json::Value& c, const LayerArgs& a) {
  check_last_axis(c, a.where);
  if (cfg::get_bool(c, "rms_scaling", false, a.where))
    throw std::invalid_argument(a.where + ": rms_scaling is not supported");
  LayerNormConfig b;
  read_gamma_beta_config(c, a.where, b);
  return std::make_shared<LayerNormalization>(b);
}

std::uint64_t layer_norm_param_count(const json::Value& c, std::uint64_t in, std::uint64_t* out,
                                     const std::string& where) {
  *out = in;
  return sat_mul(in, static_cast<std::uint64_t>(cfg::get_bool(c, "center", true, where)) +
                         cfg::get_bool(c, "scale", true, where));
}

}  // namespace

const LayerRow layer_row_LayerNormalization = {"LayerNormalization", layer_norm_from_config, layer_norm_param_count,
                                               false};

std::int64_t LayerNormalization::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument("LayerNormalization: input must have at least one feature, got " +
                                std::to_string(in_features));
  n_ = in_features;
  acc1_.assign(static_cast<std::size_t>(n_), 0.0);
  acc2_.assign(static_cast<std::size_t>(n_), 0.0);
  return n_;
}

std::vector<ParamSpec> LayerNormalization::param_specs() const {
  std::vector<ParamSpec> s;
  if (cfg_.scale) s.push_back({"gamma", {n_}, trainable_});
  if (cfg_.center) s.push_back({"beta", {n_}, trainable_});
  return s;
}

void LayerNormalization::bind(const std::vector<float*>& params, const std::vector<float*>& grads) {
  const std::size_t n = (cfg_.scale ? 1 : 0) + (cfg_.center ? 1 : 0);
  if (params.size() != n || grads.size() != n)
    throw std::invalid_argument("LayerNormalization.bind: expected " + std::to_string(n) + " params and grads");
  std::size_t i = 0;
  gamma_ = dgamma_ = beta_ = dbeta_ = nullptr;
  if (cfg_.scale) { gamma_ = params[i]; dgamma_ = grads[i]; ++i; }
  if (cfg_.center) { beta_ = params[i]; dbeta_ = grads[i]; ++i; }
}

void LayerNormalization::reserve(std::int64_t max_batch) {
  if (max_batch <= cap_) return;
  checked_assign(mean_, static_cast<std::uint64_t>(max_batch), 0.0f, "LayerNormalization's per-row means");
  checked_assign(inv_std_, static_cast<std::uint64_t>(max_batch), 0.0f, "LayerNormalization's per-row deviations");
  cap_ = max_batch;
}

double LayerNormalization::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  (void)ctx;
  if (batch <= 0) return 0.0;
  if (batch > cap_) throw std::invalid_argument("LayerNormalization.forward: batch larger than reserve()");
  if ((cfg_.scale && !gamma_) || (cfg_.center && !beta_))
    throw std::logic_error("LayerNormalization.forward: parameters are not bound");
  const std::int64_t n = n_;
  const double inv_n = 1.0 / static_cast<double>(n);
  float* means = mean_.data();
  float* invs = inv_std_.data();
  const float* gamma = gamma_;
  const float* beta = beta_;
  const float eps = cfg_.epsilon;
  layers_detail::parallel_ranges(batch, n * 2, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      const double mean = lane_sum(n, [xr](std::int64_t j) { return static_cast<double>(xr[j]); }) * inv_n;
      const double q = lane_sum(n, [xr, mean](std::int64_t j) {
        const double d = xr[j] - mean;
        return d * d;
      });
      const float varf = static_cast<float>(q * inv_n);
      const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(varf) + eps));
      const float meanf = static_cast<float>(mean);
      means[r] = meanf;
      invs[r] = inv;
      for (std::int64_t j = 0; j < n; ++j) {
        float v = (xr[j] - meanf) * inv;
        if (gamma) v *= gamma[j];
        if (beta) v += beta[j];
        yr[j] = v;
      }
    }
  });
  return 0.0;
}

void LayerNormalization::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                                  bool dy_is_preactivation) {
  (void)y; (void)dy_is_preactivation;
  if (batch <= 0) return;
  const std::int64_t n = n_;
  const float* means = mean_.data();
  const float* invs = inv_std_.data();
  const float* gamma = gamma_;
  if (trainable_ && (dgamma_ || dbeta_)) {
    double* sdy = acc1_.data();
    double* sdyx = acc2_.data();
    const std::int64_t blocks = (n + kColBlock - 1) / kColBlock;
    layers_detail::parallel_ranges(blocks, batch * kColBlock, [&](std::int64_t b0, std::int64_t b1) {
      const std::int64_t c0 = b0 * kColBlock, c1 = std::min(n, b1 * kColBlock);
      for (std::int64_t j = c0; j < c1; ++j) { sdy[j] = 0.0; sdyx[j] = 0.0; }
      for (std::int64_t r = 0; r < batch; ++r) {
        const float* xr = x + r * n;
        const float* dyr = dy + r * n;
        const float m = means[r], inv = invs[r];
        for (std::int64_t j = c0; j < c1; ++j) {
          const float xhat = (xr[j] - m) * inv;
          sdy[j] += dyr[j];
          sdyx[j] += static_cast<double>(dyr[j]) * xhat;
        }
      }
      for (std::int64_t j = c0; j < c1; ++j) {
        if (dgamma_) dgamma_[j] = static_cast<float>(sdyx[j]);
        if (dbeta_) dbeta_[j] = static_cast<float>(sdy[j]);
      }
    });
  }
  if (!dx) return;
  const double inv_n = 1.0 / static_cast<double>(n);
  layers_detail::parallel_ranges(batch, n * 3, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      const float* dyr = dy + r * n;
      float* dxr = dx + r * n;
      const float m = means[r], inv = invs[r];
      auto g_of = [dyr, gamma](std::int64_t j) { return gamma ? dyr[j] * gamma[j] : dyr[j]; };
      const double sg = lane_sum(n, [&](std::int64_t j) { return static_cast<double>(g_of(j)); });
      const double sgx = lane_sum(n, [&](std::int64_t j) {
        return static_cast<double>(g_of(j)) * static_cast<double>((xr[j] - m) * inv);
      });
      const float mg = static_cast<float>(sg * inv_n);
      const float mgx = static_cast<float>(sgx * inv_n);
      for (std::int64_t j = 0; j < n; ++j) {
        const float g = gamma ? dyr[j] * gamma[j] : dyr[j];
        const float xhat = (xr[j] - m) * inv;
        dxr[j] = inv * (g - mg - xhat * mgx);
      }
    }
  });
}

double LayerNormalization::regularization(bool add_grad) {
  if (!trainable_) return 0.0;
  double s = 0.0;
  if (gamma_) s += penalty_apply(cfg_.gamma_regularizer, gamma_, add_grad ? dgamma_ : nullptr, n_);
  if (beta_) s += penalty_apply(cfg_.beta_regularizer, beta_, add_grad ? dbeta_ : nullptr, n_);
  return s;
}

void LayerNormalization::apply_constraints() {
  if (gamma_) constraint_apply(cfg_.gamma_constraint, gamma_, n_, 1, acc1_.data());
  if (beta_) constraint_apply(cfg_.beta_constraint, beta_, n_, 1, acc1_.data());
}

}  // namespace ranvier
