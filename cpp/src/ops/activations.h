// Activations: forward and backward over row-major (rows x cols) float32 buffers.
// Elementwise kinds ignore the row structure; softmax/log_softmax work per row.
// Implemented with the per-ISA kernels of kernels/f32-vunary through the kernel table.
#pragma once

#include <cmath>
#include <cstdint>

namespace ranvier {

enum class ActKind : int {
  linear = 0, relu, leaky_relu, relu6, elu, selu, celu, gelu, gelu_approx, sigmoid,
  hard_sigmoid, hard_silu, tanh, softplus, softsign, silu, mish, exponential, log_sigmoid,
  softmax, log_softmax,
};

struct ActParams {
  float negative_slope = 0.0f;     // relu, leaky_relu (leaky_relu default 0.2 is set by the caller)
  float max_value = INFINITY;      // relu (INFINITY = None)
  float threshold = 0.0f;          // relu
  float alpha = 1.0f;              // elu, celu
};

// y = f(x); x == y (in place) is allowed.
void activation_forward(ActKind kind, const ActParams& p, const float* x, float* y,
                        std::int64_t rows, std::int64_t cols);

// dx = dL/dx given dy = dL/dy, the input x and the output y of the forward pass.
// dx may alias dy. Either x or y may be null when activation_backward_needs() says
// it is not needed.
void activation_backward(ActKind kind, const ActParams& p, const float* x, const float* y,
                         const float* dy, float* dx, std::int64_t rows, std::int64_t cols);

struct ActNeeds {
  bool input;   // backward reads x
  bool output;  // backward reads y
};
ActNeeds activation_backward_needs(ActKind kind, const ActParams& p);

}  // namespace ranvier
