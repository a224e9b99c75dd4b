// Dropout: inverted dropout with counter-based masks (layers/counter_rng.h).
//
// keep(i) = bits(i) >= threshold(rate), where i is the element's index in the batch
// (row * features + column, or the broadcast index with a noise_shape) and bits(i) is
// one 32-bit half of element_hash(key, i / 2) (the high half for even i, the low half for
// odd i), key = call_key(seed, step). No state is carried between calls, so the mask of a
// (seed, step) pair is the same at any thread count and on any machine; the training loop
// passes its global step counter.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "layers/counter_rng.h"
#include "layers/layer_table.h"
#include "layers/layers.h"
#include "layers/parallel.h"
#include "runtime/alloc.h"

namespace ranvier {

namespace {

using counter_rng::call_key;
using counter_rng::element_hash;

// keep ? v : +0.0f without a branch (bitwise AND with an all-ones/all-zeros mask), so
// the loops vectorize; NaN/inf in a dropped element still give 0 as in Keras's where().
inline float masked(float v, std::uint8_t keep) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  u &= 0u - static_cast<std::uint32_t>(keep);
  float r;
  std::memcpy(&r, &u, sizeof r);
  return r;
}

// Keep decisions of the elements with indices [i, i + n): out[c] = bits(i + c) >= thr.
void fill_mask(std::uint64_t key, std::uint64_t i, std::int64_t n, std::uint64_t thr, std::uint8_t* out) {
  std::int64_t c = 0;
  if (n > 0 && (i & 1)) {
    out[c++] = static_cast<std::uint8_t>((element_hash(key, i >> 1) & 0xFFFFFFFFull) >= thr);
    ++i;
  }
  for (; c + 1 < n; c += 2, i += 2) {
    const std::uint64_t h = element_hash(key, i >> 1);
    out[c] = static_cast<std::uint8_t>((h >> 32) >= thr);
    out[c + 1] = static_cast<std::uint8_t>((h & 0xFFFFFFFFull) >= thr);
  }
  if (c < n) out[c] = static_cast<std::uint8_t>((element_hash(key, i >> 1) >> 32) >= thr);
}

}  // namespace

std::uint32_t Dropout::bits(std::uint64_t seed, std::uint64_t step, std::uint64_t index) {
  const std::uint64_t h = element_hash(call_key(seed, step), index >> 1);
  return static_cast<std::uint32_t>((index & 1) ? (h & 0xFFFFFFFFull) : (h >> 32));
}

std::uint64_t Dropout::threshold(float rate) {
  if (!(rate > 0.0f)) return 0;
  if (rate >= 1.0f) return std::uint64_t{1} << 32;
  const double t = std::nearbyint(static_cast<double>(rate) * 4294967296.0);
  return static_cast<std::uint64_t>(t);
}

void Dropout::check_rate(double rate, const std::string& shown) {
  if (!(rate >= 0.0 && rate <= 1.0))
    throw std::invalid_argument(
        "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=" +
        shown);
}

Dropout::Dropout(float rate, std::uint64_t seed, bool broadcast_rows, bool broadcast_cols)
    : rate_(rate), seed_(seed), bcast_rows_(broadcast_rows), bcast_cols_(broadcast_cols) {
  check_rate(rate, cfg::shown(rate));
}

namespace {

std::shared_ptr<Layer> dropout_from_config(const json::Value& c, const LayerArgs& a) {
  const json::Value* r = c.find("rate");
  if (!r) throw std::invalid_argument(a.where + ": 'rate' is missing");  // Keras: a required argument
  const json::Value none;
  const json::Value& rate = r ? *r : none;
  // the argument as given (a string, None, 1e300) in the message; the range is check_rate's
  Dropout::check_rate(rate.is_number() ? rate.as_double() : -1.0, cfg::shown(rate));
  const std::uint64_t seed = config_seed(c, a.seed, a.where);
  bool rows = false, cols = false;
  if (const json::Value* ns = c.find("noise_shape"); ns && !ns->is_null()) {
    if (!ns->is_array() || ns->as_array().size() != 2)
      throw std::invalid_argument(a.where + ": noise_shape must be [batch, features]");
    const json::Value& nb = ns->as_array()[0];
    const json::Value& nf = ns->as_array()[1];
    rows = nb.is_number() && nb.as_double() == 1.0;
    cols = nf.is_number() && nf.as_double() == 1.0 && a.in_features != 1;
  }
  return std::make_shared<Dropout>(static_cast<float>(rate.as_double()), seed, rows, cols);
}

}  // namespace

const LayerRow layer_row_Dropout = {"Dropout", dropout_from_config, nullptr, true};

std::int64_t Dropout::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument("Dropout: input must have at least one feature, got " +
                                std::to_string(in_features));
  n_ = in_features;
  return n_;
}

void Dropout::reserve(std::int64_t max_batch) {
  if (max_batch <= cap_) return;
  if (rate_ > 0.0f && rate_ < 1.0f)
    checked_assign(mask_, alloc_bytes("Dropout's mask", static_cast<std::uint64_t>(max_batch), static_cast<std::uint64_t>(n_), 1),
                   decltype(mask_)::value_type{0}, "Dropout's mask");
  cap_ = max_batch;
}

double Dropout::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  if (batch <= 0) return 0.0;
  if (batch > cap_) throw std::invalid_argument("Dropout.forward: batch larger than reserve()");
  const std::int64_t n = n_;
  last_identity_ = !ctx.training || rate_ == 0.0f;
  if (last_identity_) {
    if (x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(batch * n));
    return 0.0;
  }
  if (rate_ >= 1.0f) {
    std::fill(y, y + batch * n, 0.0f);
    return 0.0;
  }
  const std::uint64_t key = call_key(seed_, ctx.step);
  const std::uint64_t thr = threshold(rate_);
  const float keep_prob = 1.0f - rate_;
  std::uint8_t* mask = mask_.data();
  const bool br = bcast_rows_, bc = bcast_cols_;
  layers_detail::parallel_ranges(batch, n * 4, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      std::uint8_t* mr = mask + r * n;
      const std::uint64_t row_base = br ? 0 : static_cast<std::uint64_t>(bc ? r : r * n);
      if (bc) {
        std::uint8_t k = 0;
        fill_mask(key, row_base, 1, thr, &k);
        for (std::int64_t c = 0; c < n; ++c) mr[c] = k;
      } else {
        fill_mask(key, row_base, n, thr, mr);
      }
      for (std::int64_t c = 0; c < n; ++c) yr[c] = masked(xr[c] / keep_prob, mr[c]);
    }
  });
  return 0.0;
}

void Dropout::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                       bool dy_is_preactivation) {
  (void)x; (void)y; (void)dy_is_preactivation;
  if (batch <= 0 || !dx) return;
  const std::int64_t total = batch * n_;
  if (last_identity_) {
    if (dx != dy) std::memcpy(dx, dy, sizeof(float) * static_cast<std::size_t>(total));
    return;
  }
  if (rate_ >= 1.0f) {
    std::fill(dx, dx + total, 0.0f);
    return;
  }
  const float keep_prob = 1.0f - rate_;
  const std::uint8_t* mask = mask_.data();
  layers_detail::parallel_ranges(total, 2, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) dx[i] = masked(dy[i] / keep_prob, mask[i]);
  });
}

}  // namespace ranvier
