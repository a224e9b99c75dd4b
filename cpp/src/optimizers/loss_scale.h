// optimizers/loss_scale.h: Keras's dynamic loss scaling (keras.mixed_precision.
// LossScaleOptimizer), the part that runs in the C++ training step.
//
// The trainer multiplies the loss gradient by scale() (so every gradient of the backward
// pass is scaled: under mixed_float16 the half-rounded GEMM inputs then keep the small
// gradients that would underflow), and before the inner optimizer's step calls
// pre_step() on the flat gradient buffer:
//   - every gradient finite: g /= scale (Keras divides), the inner optimizer steps; then
//     after `growth_steps` such steps in a row the scale doubles and the counter resets,
//     else the counter counts this one;
//   - any gradient inf or NaN: the step is skipped (weights, the inner optimizer's slots
//     and iterations unchanged), the scale halves and the counter resets.
// This is Keras 3's LossScaleOptimizer state machine (step_counter, dynamic_scale), with
// one difference: the test is on the unscaled gradients, so a finite gradient that the
// division makes inf or NaN (a scale halved down to 0, or a subnormal one whose inverse
// overflows) skips the step too, where Keras's test before the division lets it write
// NaN or inf into the weights. For a normal scale >= 1 the two tests agree.
// pre_step is one pass on the calling thread (an unscaling and a finiteness test per
// value), so its result does not depend on the thread count; it allocates nothing.
#pragma once

#include <cstdint>

namespace ranvier {

class LossScaler {
 public:
  // initial_scale: a finite float32 > 0; growth_steps >= 1 (std::invalid_argument otherwise).
  LossScaler(double initial_scale, std::int64_t growth_steps);

  float scale() const { return scale_; }
  void set_scale(float s);  // finite, >= 0
  std::int64_t step_counter() const { return counter_; }
  void set_step_counter(std::int64_t c);  // >= 0
  std::int64_t growth_steps() const { return growth_steps_; }

  // The pre-pass over the n gradients g (scaled by scale()): returns true when the step
  // goes ahead (g unscaled in place), false when it is skipped (g left unspecified). The
  // scale and counter are updated either way, as above.
  bool pre_step(float* g, std::int64_t n);

  // Steps skipped since construction (for tests and the profile).
  std::int64_t skipped_steps() const { return skipped_; }

 private:
  float scale_;
  std::int64_t counter_ = 0;
  std::int64_t growth_steps_;
  std::int64_t skipped_ = 0;
};

}  // namespace ranvier
