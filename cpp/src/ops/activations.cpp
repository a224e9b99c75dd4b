// Activations: forward/backward through the f32-vunary kernels of the active ISA,
// threaded over contiguous ranges (elementwise) or rows (softmax) above a measured size.
#include "ops/activations.h"

#include <stdexcept>
#include <string>

#include "dispatch/dispatch.h"
#include "ops/parallel.h"
#include "ops/vmath.h"

namespace ranvier {

// The kernel table is indexed by ActKind.
static_assert(static_cast<int>(ActKind::linear) == kVunaryLinear, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::relu) == kVunaryRelu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::leaky_relu) == kVunaryLeakyRelu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::relu6) == kVunaryRelu6, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::elu) == kVunaryElu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::selu) == kVunarySelu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::celu) == kVunaryCelu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::gelu) == kVunaryGelu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::gelu_approx) == kVunaryGeluApprox, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::sigmoid) == kVunarySigmoid, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::hard_sigmoid) == kVunaryHardSigmoid, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::hard_silu) == kVunaryHardSilu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::tanh) == kVunaryTanh, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::softplus) == kVunarySoftplus, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::softsign) == kVunarySoftsign, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::silu) == kVunarySilu, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::mish) == kVunaryMish, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::exponential) == kVunaryExponential, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::log_sigmoid) == kVunaryLogSigmoid, "ActKind/VunaryOp order");
static_assert(static_cast<int>(ActKind::softmax) == kVunaryElementwiseCount, "ActKind/VunaryOp order");

namespace {

VunaryParams to_kernel_params(const ActParams& p) {
  return VunaryParams{p.negative_slope, p.max_value, p.threshold, p.alpha};
}

bool is_rowwise(ActKind kind) { return kind == ActKind::softmax || kind == ActKind::log_softmax; }

void check_kind(ActKind kind) {
  const int k = static_cast<int>(kind);
  if (k < 0 || k > static_cast<int>(ActKind::log_softmax))
    throw std::invalid_argument("activation: unknown ActKind " + std::to_string(k));
}

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
  switch (kind) {
    case ActKind::linear:
    case ActKind::relu:
    case ActKind::leaky_relu:
    case ActKind::relu6:
    case ActKind::hard_sigmoid:
    case ActKind::hard_silu:
    case ActKind::softsign:
      return RANVIER_ACT_MIN_PER_THREAD_CHEAP;
    default:
      return RANVIER_ACT_MIN_PER_THREAD;
  }
}

}  // namespace

ActNeeds activation_backward_needs(ActKind kind, const ActParams& p) {
  check_kind(kind);
  switch (kind) {
    case ActKind::linear: return {false, false};
    case ActKind::relu:
      // the kernel reads y when negative_slope == 0 and threshold >= 0, x otherwise
      return (p.negative_slope == 0.0f && p.threshold >= 0.0f) ? ActNeeds{false, true} : ActNeeds{true, false};
    case ActKind::relu6:
    case ActKind::sigmoid:
    case ActKind::tanh:
    case ActKind::exponential:
    case ActKind::softmax:
    case ActKind::log_softmax: return {false, true};
    case ActKind::elu:
    case ActKind::selu:
    case ActKind::celu: return {true, true};
    default: return {true, false};
  }
}

void activation_forward(ActKind kind, const ActParams& p, const float* x, float* y, std::int64_t rows,
                        std::int64_t cols) {
  check_kind(kind);
  if (rows <= 0 || cols <= 0) return;
  const VunaryKernels& k = kernels().vunary;
  if (is_rowwise(kind)) {
    const VunaryRowFwdFn fn = kind == ActKind::softmax ? k.softmax : k.log_softmax;
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
  check_kind(kind);
  if (rows <= 0 || cols <= 0) return;
  const ActNeeds needs = activation_backward_needs(kind, p);
  if ((needs.input && !x) || (needs.output && !y))
    throw std::invalid_argument("activation_backward: this activation needs the forward pass's " +
                                std::string(needs.input && !x ? "input x" : "output y"));
  const VunaryKernels& k = kernels().vunary;
  if (is_rowwise(kind)) {
    const VunaryRowBwdFn fn = kind == ActKind::softmax ? k.softmax_backward : k.log_softmax_backward;
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
