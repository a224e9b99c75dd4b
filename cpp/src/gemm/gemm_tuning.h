// Internal knobs of the GEMM driver, for tests and benchmarks only (not a public API).
// Tests use them to force each code path (packed / unpacked A, threads on small
// problems); the defaults are the measured values documented in gemm.cpp.
#pragma once

namespace ranvier {
namespace gemm_detail {

// Whether an operand is packed: by the driver's measured rule, always, or never (where
// the kernels can read it in place).
enum class PackMode : int { automatic = 0, always = 1, never = 2 };

struct GemmTuning {
  // Problems with fewer than this many FLOPs (2*m*n*k) run on one thread.
  double parallel_min_flops;
  // Whether op(A) is packed (`never`: read in place, row-major or, transposed, as
  // column-major panels).
  PackMode pack_a;
  // Whether op(B) is packed. `never` still packs when B is transposed or alpha != 1.
  PackMode pack_b;
  // Cache blocking overrides for tuning experiments; 0 = the kernel table's value.
  // kc any positive value, nc rounded up to whole NR panels, mc a multiple of the
  // kernel's MR (else ignored).
  int kc, mc, nc;
  // Whether the few-rows kernel (GemmKernels::skinny) may take problems with m <=
  // skinny_max_m (false: they go through the tiled micro-kernel like every other shape).
  bool skinny;
  // The f32 micro-kernel (register tile) forced on every sgemm, a GemmTile as int, or -1:
  // the per-microarchitecture table's choice (gemm/gemm_config.h). A tile above the active
  // kernel tier is capped to the tier's widest. The default comes from the environment
  // variable RANVIER_GEMM_UKERNEL (scalar-4x8 | avx2-6x16 | avx512-12x32; another value
  // throws std::invalid_argument from the first GEMM).
  int ukernel;
  // Overrides GemmKernels::a_in_place_max_cols (the per-CPU value) when >= 0 (benchmarks:
  // 0 gives the driver's rule before the per-part choice).
  int a_in_place_max_cols;
};

// The process-wide tuning (not thread-safe to change while a GEMM runs).
GemmTuning& gemm_tuning();
// The measured defaults.
GemmTuning gemm_default_tuning();

// How many times the driver's packing buffers have been (re)allocated in this process,
// all threads together: repeating a GEMM of the same or a smaller size must not move it.
long gemm_buffer_allocations();

}  // namespace gemm_detail
}  // namespace ranvier
