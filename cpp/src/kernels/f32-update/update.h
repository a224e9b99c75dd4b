// f32 fused optimizer updates over the flat parameter buffer: the kernel-table entry.
//
// One kernel = one pass over a contiguous range [0, n) of the flat buffers in which
// every element shares the same per-tensor settings (the driver in
// cpp/src/optimizers/ cuts the buffer into such ranges and hands them to threads).
// Per element, in Keras 3's order of operations (keras/src/optimizers/base_optimizer.py):
//   g <- g * gscale                         (1/loss_scale_factor and the clip-by-norm factor)
//   g <- clip(g, -clipvalue, clipvalue)     when a->clip
//   w <- w - w * wd_lr                      when a->decay (decoupled weight decay, wd * lr_t)
//   the optimizer's rule (w and its slots)  (constants precomputed in the rule's *Args)
//   ema <- m * ema + (1 - m) * w            when ema != nullptr (m = a->ema_momentum)
// g is read only. Slots are the optimizer's state buffers, in the order the rule lists.
// Kernels never allocate, never start threads and never read past n (tails are masked).
#pragma once

#include <cstdint>

namespace ranvier {

// Each rule's constants, precomputed once per step by the optimizer (optimizers/rules.cpp).
// t = update step (1-based).
struct SgdMomentumArgs {       // slots (momentum)
  float momentum = 0.0f;
  int nesterov = 0;
};
struct RmspropArgs {           // slots (velocity[, momentum][, average_gradient])
  float rho = 0.0f, one_minus_rho = 0.0f, epsilon = 0.0f, momentum = 0.0f;
  int centered = 0, use_momentum = 0;  // use_momentum: momentum > 0 (the slot exists)
};
struct AdagradArgs {           // slots (accumulator)
  float epsilon = 0.0f;
};
struct AdadeltaArgs {          // slots (accumulated_grad, accumulated_delta_var)
  float rho = 0.0f, one_minus_rho = 0.0f, epsilon = 0.0f;
};
struct AdamArgs {              // slots (momentum, velocity[, velocity_hat])
  float one_minus_beta_1 = 0.0f, one_minus_beta_2 = 0.0f;
  float alpha = 0.0f;          // lr * sqrt(1 - b2^t) / (1 - b1^t)
  float epsilon = 0.0f;
  int amsgrad = 0;
};
struct AdamaxArgs {            // slots (momentum, norm)
  float one_minus_beta_1 = 0.0f, beta_2 = 0.0f;
  float bias_correction_1 = 0.0f;  // 1 - b1^t
  float epsilon = 0.0f;
};
struct NadamArgs {             // slots (momentum, velocity)
  float one_minus_beta_1 = 0.0f, one_minus_beta_2 = 0.0f;
  float m_coef = 0.0f;         // u_{t+1} / (1 - prod_{t+1})
  float g_coef = 0.0f;         // (1 - u_t) / (1 - prod_t)
  float bias_correction_2 = 0.0f;  // 1 - b2^t
  float epsilon = 0.0f;
};
struct LionArgs {              // slots (momentum)
  float beta_1 = 0.0f, one_minus_beta_1 = 0.0f, beta_2 = 0.0f, one_minus_beta_2 = 0.0f;
};
struct FtrlArgs {              // slots (accumulator, linear)
  float power = 0.0f;          // -learning_rate_power
  float l2_x2 = 0.0f;          // 2 * (l2 + beta / (2 lr))
  float shrinkage_x2 = 0.0f;   // 2 * l2_shrinkage
  float l1 = 0.0f;
  int power_kind = 0;          // 0 = general (powf per lane), 1 = power -0.5 (sqrt), 2 = power 0
};
struct LambArgs {              // slots (momentum, velocity); layer-wise, two passes
  float one_minus_beta_1 = 0.0f, one_minus_beta_2 = 0.0f;
  float bias_correction_1 = 0.0f, bias_correction_2 = 0.0f;  // 1 - b1^t, 1 - b2^t
  float epsilon = 0.0f;
  float ratio_lr = 0.0f;       // second pass: the tensor's trust ratio * lr
};

struct UpdateArgs {
  float lr = 0.0f;            // learning rate at this step
  float gscale = 1.0f;        // gradient multiplier applied first
  float clipvalue = 0.0f;     // bound when clip != 0
  float wd_lr = 0.0f;         // weight_decay * lr when decay != 0
  float ema_momentum = 0.0f;  // EMA momentum (0 on the first step) when ema != nullptr
  int clip = 0;
  int decay = 0;
  // the rule's own constants: only the member of the running rule is read
  SgdMomentumArgs sgd_momentum;
  RmspropArgs rmsprop;
  AdagradArgs adagrad;
  AdadeltaArgs adadelta;
  AdamArgs adam;
  AdamaxArgs adamax;
  NadamArgs nadam;
  LionArgs lion;
  FtrlArgs ftrl;
  LambArgs lamb;
};

// The rules: sgd is w -= lr*g; each other rule's slots and constants are its *Args above.
using UpdateFn = void (*)(std::int64_t n, float* w, const float* g, float* const* slots, float* ema,
                          const UpdateArgs* a);

// A layer-wise rule's first pass over one fixed block of a tensor: gradient scale ->
// clipvalue -> decoupled weight decay (w is stored decayed) -> the rule's slot updates,
// then adds two sums of squares over [0, n) to stats[0] and stats[1] (the rule says
// which; e.g. w and the update direction), in a fixed order that depends only on n.
using UpdateStatsFn = void (*)(std::int64_t n, float* w, const float* g, float* const* slots, const UpdateArgs* a,
                               double* stats);

// The kernel table's rule entries: X(rule, function type). update.inl defines k_<rule>.
#define RANVIER_UPDATE_RULES(X) \
  X(sgd, UpdateFn)              \
  X(sgd_momentum, UpdateFn)     \
  X(rmsprop, UpdateFn)          \
  X(adagrad, UpdateFn)          \
  X(adadelta, UpdateFn)         \
  X(adam, UpdateFn)             \
  X(adamax, UpdateFn)           \
  X(nadam, UpdateFn)            \
  X(lion, UpdateFn)             \
  X(ftrl, UpdateFn)              \
  X(lamb_stats, UpdateStatsFn)   \
  X(lamb, UpdateFn)

struct UpdateKernels {
  const char* name = nullptr;
#define RANVIER_UPDATE_RULE_ENTRY(rule, type) type rule = nullptr;
  RANVIER_UPDATE_RULES(RANVIER_UPDATE_RULE_ENTRY)
#undef RANVIER_UPDATE_RULE_ENTRY

  // sum of x[i]^2 over [0, n), in a fixed order (the result depends only on x and n,
  // never on threads). Used for clipnorm / global_clipnorm on fixed-size blocks.
  float (*sumsq)(std::int64_t n, const float* x) = nullptr;
  // acc[i] += g[i] * scale  (gradient accumulation, non-update steps)
  void (*accumulate)(std::int64_t n, float* acc, const float* g, float scale) = nullptr;
  // g[i] = (g[i] * a + acc[i]) * b; acc[i] = 0  (gradient accumulation, update step)
  void (*accumulate_finish)(std::int64_t n, float* g, float* acc, float a, float b) = nullptr;
  // ema[i] = m * ema[i] + (1 - m) * w[i]  (EMA on steps that do not update w)
  void (*ema)(std::int64_t n, float* ema, const float* w, float m) = nullptr;
  // a[i] = b[i] + s * c[i]  (STREAM triad: the bench's memory-bandwidth yardstick)
  void (*triad)(std::int64_t n, float* a, const float* b, const float* c, float s) = nullptr;
};

}  // namespace ranvier
