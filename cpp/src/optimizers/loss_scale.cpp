// Dynamic loss scaling's step (contract in loss_scale.h).
#include "optimizers/loss_scale.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>


namespace ranvier {

namespace {

// A finite float32 > 0, checked before the narrowing (a double past FLT_MAX converted to
// float is undefined behaviour; one below the smallest subnormal rounds to 0).
float checked_initial_scale(double initial_scale) {
  const bool in_range = initial_scale > 0.0 && initial_scale <= static_cast<double>(std::numeric_limits<float>::max());
  if (!in_range || static_cast<float>(initial_scale) == 0.0f)
    throw std::invalid_argument("LossScaleOptimizer: `initial_scale` must be a finite number > 0 (a float32). "
                                "Received: initial_scale=" + std::to_string(initial_scale));
  return static_cast<float>(initial_scale);
}

}  // namespace

LossScaler::LossScaler(double initial_scale, std::int64_t growth_steps)
    : scale_(checked_initial_scale(initial_scale)), growth_steps_(growth_steps) {
  if (growth_steps < 1)
    throw std::invalid_argument("LossScaleOptimizer: `dynamic_growth_steps` must be an integer >= 1. "
                                "Received: dynamic_growth_steps=" + std::to_string(growth_steps));
}

void LossScaler::set_scale(float s) {
  if (!(s >= 0.0f) || !std::isfinite(s))  // 0: what halving ends at after a run of non-finite steps
    throw std::invalid_argument("LossScaleOptimizer: dynamic_scale must be a finite number >= 0, got " +
                                std::to_string(s));
  scale_ = s;
}

void LossScaler::set_step_counter(std::int64_t c) {
  if (c < 0) throw std::invalid_argument("LossScaleOptimizer: step_counter must be >= 0, got " + std::to_string(c));
  counter_ = c;
}

namespace {

inline bool finite_bits(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  return (u & 0x7F800000u) != 0x7F800000u;
}

}  // namespace

bool LossScaler::pre_step(float* g, std::int64_t n) {
  // One pass on the calling thread (a vectorized stream, a small fraction of the optimizer's
  // own pass): test and unscale together (a skipped step's g is never used). A power-of-two
  // scale (the default 2**15, and every halving or doubling of one) multiplies by its
  // reciprocal, which is exactly Keras's division (x * 2**-k and x / 2**k are one rounding
  // of the same value); any other scale divides.
  const float s = scale_;
  int frac;
  const bool pow2 = std::frexp(s, &frac) == 0.5f && std::isnormal(1.0f / s);
  int nonfinite = 0;
  if (pow2) {
    const float r = 1.0f / s;
    for (std::int64_t i = 0; i < n; ++i) {
      g[i] *= r;
      nonfinite |= finite_bits(g[i]) ? 0 : 1;  // inf or NaN stays so through the unscaling
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      g[i] /= s;  // s == 0 (halved down to it): 0/0 and x/0 are NaN and inf, so skipped
      nonfinite |= finite_bits(g[i]) ? 0 : 1;
    }
  }
  if (nonfinite) {
    counter_ = 0;
    scale_ = s * 0.5f;
    ++skipped_;
    return false;
  }
  if (counter_ == growth_steps_ - 1) {
    counter_ = 0;
    scale_ = s * 2.0f;
  } else {
    ++counter_;
  }
  return true;
}

}  // namespace ranvier
