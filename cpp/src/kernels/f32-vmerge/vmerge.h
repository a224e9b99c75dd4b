// f32 merge kernels: the arithmetic of the merge layers (layers/merge.cpp: Add, Subtract,
// Multiply, Average, Maximum, Minimum, Dot) over k input streams of n floats. The
// kernel-table entry.
//
// Contracts (every kernel, every ISA):
// - n >= 0, k >= 1; xs[0..k) are the input streams, read at [xs[i] + off, xs[i] + off + n)
//   (so a thread's range of rows needs no array of its own); the single-stream pointers (y,
//   dy, dx, a, b) are already offset. The output may alias an input exactly but no other
//   overlap is allowed. Kernels never allocate, never start threads and touch
//   no memory outside [p, p + n).
// - Every output element is a function of the same-index input elements only, evaluated
//   in input order (x0 op x1 op x2 ...), so Add / Subtract / Multiply / Average / Maximum /
//   Minimum give the same bits on every ISA (one IEEE operation per step); the reductions
//   (dot) run in a fixed order per ISA (results do not depend on threads).
// - NaN propagates through max/min (np.maximum semantics, on every ISA).
// Only plain types and function pointers live here (included from ISA-flagged files).
#pragma once

#include <cstdint>

namespace ranvier {

// y = x0 + x1 + ... + x(k-1), left to right; then y = y / divisor when divisor != 1
// (Keras's Average divides the sum by the input count).
using VmergeSumFn = void (*)(const float* const* xs, int k, std::int64_t off, float divisor, float* y,
                             std::int64_t n);
// y = x0 * x1 * ... (left to right); the same shape for max (maximum) and min (minimum).
using VmergeNaryFn = void (*)(const float* const* xs, int k, std::int64_t off, float* y, std::int64_t n);
// y = a - b.
using VmergeBinFn = void (*)(const float* a, const float* b, float* y, std::int64_t n);
// y = x * s.
using VmergeScaleFn = void (*)(const float* x, float s, float* y, std::int64_t n);
// y = x / s (Average's gradient: dy / k, rounded as Keras's division).
using VmergeDivFn = void (*)(const float* x, float s, float* y, std::int64_t n);
// dx = dy * prod_{i != skip} xs[i] (Multiply's gradient for input `skip`; the product of
// the others in input order, then times dy: no division, so a zero input is exact).
using VmergeProdExceptFn = void (*)(const float* const* xs, int k, int skip, std::int64_t off, const float* dy,
                                    float* dx, std::int64_t n);
// Maximum's / Minimum's gradient: per element, the first input (in input order) whose value
// equals y receives dy, the others 0; where y is NaN, the last input receives it (TF's
// gradient of maximum(acc, x) chained over the inputs: acc >= x is false on NaN). dxs[i] may be null (no
// gradient wanted for input i); written at dxs[i] + off. dy is read before any dx is
// written, block by block, so a dx may alias dy.
using VmergeRouteFn = void (*)(const float* const* xs, int k, std::int64_t off, const float* y, const float* dy,
                               float* const* dxs, std::int64_t n);
// sum_i a[i] * b[i] in a fixed order (per ISA).
using VmergeDotFn = float (*)(const float* a, const float* b, std::int64_t n);

struct VmergeKernels {
  const char* name = nullptr;
  VmergeSumFn sum = nullptr;
  VmergeNaryFn prod = nullptr;
  VmergeNaryFn max = nullptr;
  VmergeNaryFn min = nullptr;
  VmergeBinFn sub = nullptr;
  VmergeScaleFn scale = nullptr;
  VmergeDivFn div = nullptr;
  VmergeProdExceptFn prod_except = nullptr;
  VmergeRouteFn route = nullptr;
  VmergeDotFn dot = nullptr;
};

}  // namespace ranvier
