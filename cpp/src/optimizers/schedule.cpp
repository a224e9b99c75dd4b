#include "optimizers/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ranvier {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::string num(double x) {
  std::string s = std::to_string(x);
  return s;
}

double eval(const ScheduleConfig& s, double step, bool integer_step) {
  switch (s.kind) {
    case ScheduleKind::exponential_decay: {
      double p = step / s.decay_steps;
      if (s.staircase) p = std::floor(p);
      return s.initial_learning_rate * std::pow(s.decay_rate, p);
    }
    case ScheduleKind::inverse_time_decay: {
      double p = step / s.decay_steps;
      if (s.staircase) p = std::floor(p);
      return s.initial_learning_rate / (1.0 + s.decay_rate * p);
    }
    case ScheduleKind::polynomial_decay: {
      double ds = s.decay_steps;
      double st = step;
      if (s.cycle) {
        const double mult = (st == 0.0) ? 1.0 : std::ceil(st / s.decay_steps);
        ds = ds * mult;
      } else {
        st = std::min(st, ds);
      }
      const double p = st / ds;
      return (s.initial_learning_rate - s.end_learning_rate) * std::pow(1.0 - p, s.power) + s.end_learning_rate;
    }
    case ScheduleKind::cosine_decay: {
      auto decay = [&](double st, double from) {
        const double frac = st / s.decay_steps;
        const double cosine = 0.5 * (1.0 + std::cos(kPi * frac));
        return from * ((1.0 - s.alpha) * cosine + s.alpha);
      };
      if (!s.has_warmup) return decay(std::min(step, s.decay_steps), s.initial_learning_rate);
      const double st = std::min(step, s.decay_steps + s.warmup_steps);
      if (st < s.warmup_steps) {
        const double frac = st / s.warmup_steps;
        return (s.warmup_target - s.initial_learning_rate) * frac + s.initial_learning_rate;
      }
      return decay(st - s.warmup_steps, s.warmup_target);
    }
    case ScheduleKind::cosine_decay_restarts: {
      double frac = step / s.decay_steps;
      double i_restart;
      if (s.t_mul == 1.0) {
        i_restart = std::floor(frac);
        frac -= i_restart;
      } else {
        i_restart = std::floor(std::log(1.0 - frac * (1.0 - s.t_mul)) / std::log(s.t_mul));
        const double sum_r = (1.0 - std::pow(s.t_mul, i_restart)) / (1.0 - s.t_mul);
        frac = (frac - sum_r) / std::pow(s.t_mul, i_restart);
      }
      const double m_fac = std::pow(s.m_mul, i_restart);
      const double cosine = 0.5 * m_fac * (1.0 + std::cos(kPi * frac));
      return s.initial_learning_rate * ((1.0 - s.alpha) * cosine + s.alpha);
    }
    case ScheduleKind::piecewise_constant_decay: {
      const auto& b = s.boundaries;
      const auto& v = s.values;
      auto bound = [&](std::size_t i) { return integer_step ? std::trunc(b[i]) : b[i]; };
      // Keras sums indicator * value over the intervals; exactly one indicator is 1.
      if (step <= bound(0)) return v[0];
      if (step > bound(b.size() - 1)) return v.back();
      for (std::size_t i = 0; i + 1 < b.size(); ++i)
        if (step > bound(i) && step <= bound(i + 1)) return v[i + 1];
      return 0.0;  // NaN step: no interval matches, Keras's sum is 0
    }
    case ScheduleKind::constant:
    case ScheduleKind::external:
      break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

namespace {
// A learning rate, rate or exponent: NaN or negative ones give NaN or negative learning
// rates (a negative decay_rate or power), so NaN weights; refused as in Python.
void check_rate(const char* arg, double v) {
  if (!(v >= 0.0) || !std::isfinite(v))
    throw std::invalid_argument(std::string("Argument `") + arg + "` must be a finite number >= 0. Received: " + arg +
                                "=" + num(v));
}
}  // namespace

void validate_schedule(const ScheduleConfig& s) {
  switch (s.kind) {
    case ScheduleKind::exponential_decay:
    case ScheduleKind::inverse_time_decay:
      check_rate("initial_learning_rate", s.initial_learning_rate);
      check_rate("decay_rate", s.decay_rate);
      break;
    case ScheduleKind::polynomial_decay:
      check_rate("initial_learning_rate", s.initial_learning_rate);
      check_rate("end_learning_rate", s.end_learning_rate);
      check_rate("power", s.power);
      break;
    case ScheduleKind::cosine_decay:
      check_rate("initial_learning_rate", s.initial_learning_rate);
      check_rate("alpha", s.alpha);
      if (s.has_warmup) check_rate("warmup_target", s.warmup_target);
      break;
    case ScheduleKind::cosine_decay_restarts:
      check_rate("initial_learning_rate", s.initial_learning_rate);
      check_rate("alpha", s.alpha);
      check_rate("m_mul", s.m_mul);
      break;
    case ScheduleKind::piecewise_constant_decay:
      for (double v : s.values) check_rate("values", v);
      break;
    case ScheduleKind::constant:
    case ScheduleKind::external:
      break;
  }
  switch (s.kind) {
    case ScheduleKind::exponential_decay:
    case ScheduleKind::inverse_time_decay:
    case ScheduleKind::polynomial_decay:
    case ScheduleKind::cosine_decay:
      if (!(s.decay_steps > 0))
        throw std::invalid_argument("Argument `decay_steps` must be > 0. Received: decay_steps=" + num(s.decay_steps));
      if (s.kind == ScheduleKind::cosine_decay && s.has_warmup && s.warmup_steps < 0)
        throw std::invalid_argument("Argument `warmup_steps` must be >= 0. Received: warmup_steps=" +
                                    num(s.warmup_steps));
      break;
    case ScheduleKind::cosine_decay_restarts:
      if (!(s.decay_steps > 0))
        throw std::invalid_argument("Argument `first_decay_steps` must be > 0. Received: first_decay_steps=" +
                                    num(s.decay_steps));
      if (!(s.t_mul > 0))
        throw std::invalid_argument("Argument `t_mul` must be > 0. Received: t_mul=" + num(s.t_mul));
      break;
    case ScheduleKind::piecewise_constant_decay:
      if (s.boundaries.empty() || s.boundaries.size() + 1 != s.values.size())
        throw std::invalid_argument(
            "The length of boundaries should be 1 less than the length of values (and at least 1). Received: " +
            std::to_string(s.boundaries.size()) + " boundaries and " + std::to_string(s.values.size()) + " values");
      break;
    case ScheduleKind::constant:
    case ScheduleKind::external:
      break;
  }
}

float schedule_value(const ScheduleConfig& s, std::int64_t step) {
  return static_cast<float>(eval(s, static_cast<double>(step), true));
}

float schedule_value_real(const ScheduleConfig& s, double step) { return static_cast<float>(eval(s, step, false)); }

}  // namespace ranvier
