// Weight regularization (Keras L1 / L2 / L1L2) and weight constraints (MaxNorm,
// NonNeg, UnitNorm, MinMaxNorm), shared by the layers.
#pragma once

#include <cstdint>

namespace ranvier {

// penalty(w) = l1 * sum|w| + l2 * sum w^2   (Keras: no 1/2 on the L2 term)
struct Penalty {
  float l1 = 0.0f;
  float l2 = 0.0f;
  bool active() const { return l1 != 0.0f || l2 != 0.0f; }
};

// Returns scale * penalty(w) over n values (accumulated in double, fixed order).
// With g != null also adds scale * dpenalty/dw = scale * (l1 * sign(w) + 2 * l2 * w) to g
// (sign(0) = 0).
double penalty_apply(const Penalty& p, const float* w, float* g, std::int64_t n, float scale = 1.0f);

enum class ConstraintKind : int { none = 0, max_norm = 1, non_neg = 2, unit_norm = 3, min_max_norm = 4 };

// A weight of shape (rows, cols) row-major (a 1-D weight of n values is (n, 1)).
// axis: 0 = norms over the rows, one per column (Keras axis=0 of a Dense kernel: the
// weights into each unit); 1 = norms over the columns, one per row; -1 = one norm
// over every element. Norms are sqrt(sum w^2); as Keras,
//   max_norm:     w *= clip(norm, 0, max_value) / (1e-7 + norm)
//   unit_norm:    w /= 1e-7 + norm
//   min_max_norm: w *= (rate * clip(norm, min_value, max_value) + (1 - rate) * norm) / (1e-7 + norm)
//   non_neg:      w = max(w, 0)
struct Constraint {
  ConstraintKind kind = ConstraintKind::none;
  float max_value = 2.0f;
  float min_value = 0.0f;
  float rate = 1.0f;
  int axis = 0;
  bool active() const { return kind != ConstraintKind::none; }
};

// ws: cols doubles of workspace (used by axis 0), so this never allocates.
void constraint_apply(const Constraint& c, float* w, std::int64_t rows, std::int64_t cols, double* ws);

}  // namespace ranvier
