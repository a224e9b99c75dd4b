// Dynamic loss scaling's step (contract in loss_scale.h).
#include "optimizers/loss_scale.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "layers/parallel.h"

namespace ranvier {

LossScaler::LossScaler(double initial_scale, std::int64_t growth_steps)
    : scale_(static_cast<float>(initial_scale)), growth_steps_(growth_steps) {
  if (!(initial_scale > 0.0) || !std::isfinite(scale_))
    throw std::invalid_argument("LossScaleOptimizer: `initial_scale` must be a finite number > 0 (a float32). "
                                "Received: initial_scale=" + std::to_string(initial_scale));
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
  // One pass: test and divide together (a skipped step's g is never used).
  const float s = scale_;
  std::atomic<int> bad{0};
  layers_detail::parallel_ranges(n, 1, [&](std::int64_t lo, std::int64_t hi) {
    int nonfinite = 0;
    for (std::int64_t i = lo; i < hi; ++i) {
      nonfinite |= finite_bits(g[i]) ? 0 : 1;
      g[i] = g[i] / s;
    }
    if (nonfinite) bad.store(1, std::memory_order_relaxed);
  });
  if (bad.load(std::memory_order_relaxed)) {
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
