// Learning-rate schedules evaluated from the step count, as Keras 3 does
// (keras/src/optimizers/schedules/learning_rate_schedule.py).
#pragma once

#include <cstdint>
#include <vector>

namespace ranvier {

enum class ScheduleKind : int {
  constant = 0,           // the optimizer's learning_rate (a float32 variable in Keras)
  exponential_decay,      // lr0 * rate^(s/ds)            (staircase: floor(s/ds))
  piecewise_constant_decay,  // values[i] on (b_{i-1}, b_i]
  inverse_time_decay,     // lr0 / (1 + rate * s/ds)      (staircase: floor(s/ds))
  polynomial_decay,       // (lr0 - end) * (1 - s'/ds')^power + end
  cosine_decay,           // cosine decay, optional linear warmup
  cosine_decay_restarts,  // SGDR
  external,               // a Python callable: the caller sets the value before each step
};

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::constant;
  double initial_learning_rate = 0.001;
  double decay_steps = 1.0;           // decay_steps, or first_decay_steps for restarts
  double decay_rate = 0.0;            // exponential / inverse time
  bool staircase = false;             // exponential / inverse time
  double end_learning_rate = 0.0001;  // polynomial
  double power = 1.0;                 // polynomial
  bool cycle = false;                 // polynomial
  double alpha = 0.0;                 // cosine, restarts
  bool has_warmup = false;            // cosine: warmup_target is not None
  double warmup_target = 0.0;         // cosine
  double warmup_steps = 0.0;          // cosine
  double t_mul = 2.0, m_mul = 1.0;    // restarts
  std::vector<double> boundaries, values;  // piecewise constant
};

// Throws std::invalid_argument naming the argument (decay_steps <= 0, ...).
void validate_schedule(const ScheduleConfig& s);

// The schedule's learning rate at optimizer step `step` (the pre-increment iteration
// count), computed in double and rounded once to float32. Piecewise-constant boundaries
// are compared against the integer step after truncation to integers, as Keras casts
// them to the step's integer dtype. Not for constant/external (returns NaN).
float schedule_value(const ScheduleConfig& s, std::int64_t step);
// Same formulas for a real-valued step (boundaries compared as reals).
float schedule_value_real(const ScheduleConfig& s, double step);

}  // namespace ranvier
