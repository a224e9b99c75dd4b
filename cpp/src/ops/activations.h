// Activations: forward and backward over row-major (rows x cols) float32 buffers.
// Elementwise kinds ignore the row structure; softmax/log_softmax work per row.
// Implemented with the per-ISA kernels of kernels/f32-vunary through the kernel table.
// The kinds, their names, aliases and parameters are the rows of
// kernels/f32-vunary/activations.def.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ranvier {

// What a backward kernel reads besides dy.
struct ActNeeds {
  bool input;   // backward reads x
  bool output;  // backward reads y
};

// One kind per row of kernels/f32-vunary/activations.def, in its order.
enum class ActKind : int {
#define RANVIER_ACTIVATION(name, ...) name,
#include "kernels/f32-vunary/activations.def"
};
constexpr int kActKindCount = 0
#define RANVIER_ACTIVATION(name, ...) +1
#include "kernels/f32-vunary/activations.def"
    ;

// The parameters the kinds take; each kind's own defaults are in activations.def
// (activation_default_params).
struct ActParams {
  float negative_slope = 0.0f;     // relu, leaky_relu
  float max_value = INFINITY;      // relu (INFINITY = None)
  float threshold = 0.0f;          // relu
  float alpha = 1.0f;              // elu, celu
};

// One row of activations.def.
struct ActInfo {
  const char* name;
  bool rowwise;        // along the last axis (softmax, log_softmax)
  bool cheap;          // memory bound: the larger thread threshold
  ActNeeds reads;      // what the backward kernel reads (relu: by its parameters)
  const char* params;  // "key=default ..." (see activation_param_defaults)
};
// The row of `kind`; throws std::invalid_argument for a kind out of range.
const ActInfo& activation_info(ActKind kind);
// The kind named `name` (a row's name or an alias, exact); false when there is none.
bool activation_from_name(const std::string& name, ActKind* kind);
// The aliases of activations.def: (alias, kind).
const std::vector<std::pair<const char*, ActKind>>& activation_aliases();
// The parameters `kind` takes, with its defaults, in its row's order.
std::vector<std::pair<std::string, double>> activation_param_defaults(ActKind kind);
// ActParams with `kind`'s defaults (leaky_relu: negative_slope 0.2).
ActParams activation_default_params(ActKind kind);
// Sets the ActParams field `key`; false when there is no such field.
bool set_activation_param(ActParams& p, const std::string& key, float value);

// y = f(x); x == y (in place) is allowed.
void activation_forward(ActKind kind, const ActParams& p, const float* x, float* y,
                        std::int64_t rows, std::int64_t cols);

// dx = dL/dx given dy = dL/dy, the input x and the output y of the forward pass.
// dx may alias dy. Either x or y may be null when activation_backward_needs() says
// it is not needed.
void activation_backward(ActKind kind, const ActParams& p, const float* x, const float* y,
                         const float* dy, float* dx, std::int64_t rows, std::int64_t cols);

ActNeeds activation_backward_needs(ActKind kind, const ActParams& p);

}  // namespace ranvier
