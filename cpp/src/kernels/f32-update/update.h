// f32 fused optimizer updates over the flat parameter buffer: the kernel-table entry.
//
// One kernel = one pass over a contiguous range [0, n) of the flat buffers in which
// every element shares the same per-tensor settings (the driver in
// cpp/src/optimizers/ cuts the buffer into such ranges and hands them to threads).
// Per element, in Keras 3's order of operations (keras/src/optimizers/base_optimizer.py):
//   g <- g * gscale                         (1/loss_scale_factor and the clip-by-norm factor)
//   g <- clip(g, -clipvalue, clipvalue)     when a->clip
//   w <- w - w * wd_lr                      when a->decay (decoupled weight decay, wd * lr_t)
//   the optimizer's rule (w and its slots)  (spec 3.3; constants precomputed in a->h)
//   ema <- m * ema + (1 - m) * w            when ema != nullptr (m = a->ema_momentum)
// g is read only. Slots are the optimizer's state buffers, in the order the rule lists.
// Kernels never allocate, never start threads and never read past n (tails are masked).
#pragma once

#include <cstdint>

namespace ranvier {

struct UpdateArgs {
  float lr = 0.0f;            // learning rate at this step
  float gscale = 1.0f;        // gradient multiplier applied first
  float clipvalue = 0.0f;     // bound when clip != 0
  float wd_lr = 0.0f;         // weight_decay * lr when decay != 0
  float ema_momentum = 0.0f;  // EMA momentum (0 on the first step) when ema != nullptr
  int clip = 0;
  int decay = 0;
  int flag = 0;               // rule-specific switches, see each rule below
  float h[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // rule-specific constants, see each rule below
};

// Rules (slots; constants h[]; flag bits). t = update step (1-based).
//  sgd          ()                             w -= lr*g
//  sgd_momentum (momentum)  h0 = mu; flag 1 = nesterov
//  rmsprop      (velocity[, momentum][, average_gradient])
//               h0 = rho, h1 = 1-rho, h2 = eps, h3 = momentum; flag 1 = centered, 2 = momentum>0
//  adagrad      (accumulator)  h0 = eps
//  adadelta     (accumulated_grad, accumulated_delta_var)  h0 = rho, h1 = 1-rho, h2 = eps
//  adam         (momentum, velocity[, velocity_hat])
//               h0 = 1-b1, h1 = 1-b2, h2 = alpha = lr*sqrt(1-b2^t)/(1-b1^t), h3 = eps; flag 1 = amsgrad
//  adamax       (momentum, norm)  h0 = 1-b1, h1 = b2, h2 = 1-b1^t, h3 = eps
//  nadam        (momentum, velocity)  h0 = 1-b1, h1 = 1-b2, h2 = u_{t+1}/(1-prod_{t+1}),
//               h3 = (1-u_t)/(1-prod_t), h4 = 1-b2^t, h5 = eps
//  lion         (momentum)  h0 = b1, h1 = 1-b1, h2 = b2, h3 = 1-b2
//  ftrl         (accumulator, linear)  h0 = -learning_rate_power, h1 = 2*l2' (l2 + beta/(2 lr)),
//               h2 = 2*l2_shrinkage, h3 = l1; flag 0 = general power (powf per lane),
//               1 = power -0.5 (sqrt), 2 = power 0
using UpdateFn = void (*)(std::int64_t n, float* w, const float* g, float* const* slots, float* ema,
                          const UpdateArgs* a);

struct UpdateKernels {
  const char* name = nullptr;
  UpdateFn sgd = nullptr;
  UpdateFn sgd_momentum = nullptr;
  UpdateFn rmsprop = nullptr;
  UpdateFn adagrad = nullptr;
  UpdateFn adadelta = nullptr;
  UpdateFn adam = nullptr;
  UpdateFn adamax = nullptr;
  UpdateFn nadam = nullptr;
  UpdateFn lion = nullptr;
  UpdateFn ftrl = nullptr;

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
