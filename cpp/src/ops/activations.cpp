// Activations: the rows of activations.def, and forward/backward through the f32-vunary
// kernels of the active ISA, threaded over contiguous ranges (elementwise) or rows
// (softmax) above a measured size.
#include "ops/activations.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "dispatch/dispatch.h"
#include "ops/parallel.h"
#include "ops/vmath.h"

namespace ranvier {

namespace {

VunaryParams to_kernel_params(const ActParams& p) {
  return VunaryParams{p.negative_slope, p.max_value, p.threshold, p.alpha};
}

// The values of the rows' shape, cost and reads columns.
constexpr bool kRowwise_eltwise = false, kRowwise_rowwise = true;
constexpr bool kCheap_cheap = true, kCheap_transcendental = false;
constexpr ActNeeds kReads_none{false, false}, kReads_x{true, false}, kReads_y{false, true}, kReads_xy{true, true};

constexpr ActInfo kActInfo[] = {
#define RANVIER_ACTIVATION(name, shape, cost, reads, params) \
  {#name, kRowwise_##shape, kCheap_##cost, kReads_##reads, params},
#include "kernels/f32-vunary/activations.def"
};
static_assert(sizeof(kActInfo) / sizeof(kActInfo[0]) == kActKindCount, "one row per kind");

// Elements per thread below which a second thread does not pay. Measured (2 threads vs 1,
// medians; idle 16-core Xeon, AVX-512 kernels, OMP_WAIT_POLICY=passive, where waking the
// team costs ~15-20 us; with spinning threads, the common case inside a training loop, it
// costs a few us): break-even at ~2^17 elements in all for relu, 2^15-2^16 for sigmoid,
// 2^14 for gelu and for softmax over 128 columns. The piecewise-linear kinds (memory bound,
// ~0.1 ns/element) thus need 64K elements per thread, the transcendental ones 8K (a
// compromise between the two wake-up costs). The macros exist for that benchmark only.
#ifndef RANVIER_ACT_MIN_PER_THREAD_CHEAP
#define RANVIER_ACT_MIN_PER_THREAD_CHEAP (1 << 16)
#endif
#ifndef RANVIER_ACT_MIN_PER_THREAD
#define RANVIER_ACT_MIN_PER_THREAD (1 << 13)
#endif
std::int64_t min_elements_per_thread(ActKind kind) {
  return activation_info(kind).cheap ? RANVIER_ACT_MIN_PER_THREAD_CHEAP : RANVIER_ACT_MIN_PER_THREAD;
}

// ActParams's fields by name (the keys of the rows' params).
struct ParamField {
  const char* key;
  float ActParams::*field;
};
const ParamField kParamFields[] = {{"negative_slope", &ActParams::negative_slope},
                                   {"max_value", &ActParams::max_value},
                                   {"threshold", &ActParams::threshold},
                                   {"alpha", &ActParams::alpha}};

}  // namespace

const ActInfo& activation_info(ActKind kind) {
  const int k = static_cast<int>(kind);
  if (k < 0 || k >= kActKindCount)
    throw std::invalid_argument("activation: unknown ActKind " + std::to_string(k));
  return kActInfo[k];
}

const std::vector<std::pair<const char*, ActKind>>& activation_aliases() {
  static const std::vector<std::pair<const char*, ActKind>> aliases = {
#define RANVIER_ACTIVATION(...)
#define RANVIER_ACTIVATION_ALIAS(alias, name) {#alias, ActKind::name},
#include "kernels/f32-vunary/activations.def"
  };
  return aliases;
}

bool activation_from_name(const std::string& name, ActKind* kind) {
  for (int k = 0; k < kActKindCount; ++k)
    if (name == kActInfo[k].name) {
      *kind = static_cast<ActKind>(k);
      return true;
    }
  for (const auto& a : activation_aliases())
    if (name == a.first) {
      *kind = a.second;
      return true;
    }
  return false;
}

std::vector<std::pair<std::string, double>> activation_param_defaults(ActKind kind) {
  std::vector<std::pair<std::string, double>> out;
  const std::string spec = activation_info(kind).params;
  std::size_t i = 0;
  while (i < spec.size()) {
    const std::size_t end = std::min(spec.find(' ', i), spec.size());
    const std::string item = spec.substr(i, end - i);
    const std::size_t eq = item.find('=');
    if (eq != std::string::npos) {
      const std::string value = item.substr(eq + 1);
      out.emplace_back(item.substr(0, eq), value == "inf" ? HUGE_VAL : std::strtod(value.c_str(), nullptr));
    }
    i = end + 1;
  }
  return out;
}

bool set_activation_param(ActParams& p, const std::string& key, float value) {
  for (const auto& f : kParamFields)
    if (key == f.key) {
      p.*(f.field) = value;
      return true;
    }
  return false;
}

ActParams activation_default_params(ActKind kind) {
  ActParams p;
  for (const auto& kv : activation_param_defaults(kind)) set_activation_param(p, kv.first, static_cast<float>(kv.second));
  return p;
}

ActNeeds activation_backward_needs(ActKind kind, const ActParams& p) {
  const ActInfo& info = activation_info(kind);
  // relu's kernel reads y when negative_slope == 0 and threshold >= 0, x otherwise
  if (kind == ActKind::relu)
    return (p.negative_slope == 0.0f && p.threshold >= 0.0f) ? ActNeeds{false, true} : ActNeeds{true, false};
  return info.reads;
}

void activation_forward(ActKind kind, const ActParams& p, const float* x, float* y, std::int64_t rows,
                        std::int64_t cols) {
  const bool rowwise = activation_info(kind).rowwise;
  if (rows <= 0 || cols <= 0) return;
  const VunaryKernels& k = kernels().vunary;
  if (rowwise) {
    const VunaryRowFwdFn fn = k.row_forward[static_cast<int>(kind)];
    parallel_rows(rows, cols, RANVIER_ACT_MIN_PER_THREAD, [&](std::int64_t r0, std::int64_t r1) {
      fn(x + r0 * cols, y + r0 * cols, r1 - r0, cols);
    });
    return;
  }
  const VunaryFwdFn fn = k.forward[static_cast<int>(kind)];
  const VunaryParams kp = to_kernel_params(p);
  parallel_range(rows * cols, min_elements_per_thread(kind),
                 [&](std::int64_t b, std::int64_t e) { fn(x + b, y + b, e - b, &kp); });
}

void activation_backward(ActKind kind, const ActParams& p, const float* x, const float* y, const float* dy,
                         float* dx, std::int64_t rows, std::int64_t cols) {
  const bool rowwise = activation_info(kind).rowwise;
  if (rows <= 0 || cols <= 0) return;
  const ActNeeds needs = activation_backward_needs(kind, p);
  if ((needs.input && !x) || (needs.output && !y))
    throw std::invalid_argument("activation_backward: this activation needs the forward pass's " +
                                std::string(needs.input && !x ? "input x" : "output y"));
  const VunaryKernels& k = kernels().vunary;
  if (rowwise) {
    const VunaryRowBwdFn fn = k.row_backward[static_cast<int>(kind)];
    parallel_rows(rows, cols, RANVIER_ACT_MIN_PER_THREAD, [&](std::int64_t r0, std::int64_t r1) {
      fn(y + r0 * cols, dy + r0 * cols, dx + r0 * cols, r1 - r0, cols);
    });
    return;
  }
  const VunaryBwdFn fn = k.backward[static_cast<int>(kind)];
  const VunaryParams kp = to_kernel_params(p);
  parallel_range(rows * cols, min_elements_per_thread(kind), [&](std::int64_t b, std::int64_t e) {
    fn(x ? x + b : nullptr, y ? y + b : nullptr, dy + b, dx + b, e - b, &kp);
  });
}

void vmath_apply(VmathOp op, const float* x, float* y, std::int64_t n) {
  if (op < 0 || op >= kVmathCount) throw std::invalid_argument("vmath_apply: unknown op " + std::to_string(op));
  const VunaryFwdFn fn = kernels().vunary.math[op];
  parallel_range(n, RANVIER_ACT_MIN_PER_THREAD,
                 [&](std::int64_t b, std::int64_t e) { fn(x + b, y + b, e - b, nullptr); });
}

}  // namespace ranvier
