// gemm_config: which float32 micro-kernel (register tile) and blocking sgemm uses for a
// shape, per microarchitecture, from measurement (as XNNPACK's per-uarch configs do).
//
// A kernel tier (RANVIER_ISA, set_isa) decides which tiles may run: scalar-4x8 always,
// avx2-6x16 from the avx2 tier up, avx512-12x32 on the avx512 tiers. Within the tier, a
// table keyed by the CPUID vendor, family and model (gemm_config.cpp, with the
// measurements that chose each row) maps a shape class to a tile; CPUs without a row get
// the tier's widest tile for every shape. The choice is a function of (CPU, tier, shape)
// only, never of the thread count; and since every tile runs the tier's k-blocking, the
// choice does not change bits at all (see gemm_kernels_for).
//
// Tests and benchmarks force one tile: the environment variable RANVIER_GEMM_UKERNEL
// (read when the GEMM tuning is first used or reset), gemm_detail::gemm_tuning().ukernel,
// or _core._gemm_tuning(ukernel=...). A forced tile above the active tier is capped to
// the tier's widest tile, as RANVIER_ISA caps and never raises.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/f32-gemm/gemm-ukernel.h"

namespace ranvier {

enum class GemmTile : int { scalar_4x8 = 0, avx2_6x16 = 1, avx512_12x32 = 2 };
constexpr int kGemmTileCount = 3;

// "scalar-4x8", "avx2-6x16", "avx512-12x32".
const char* gemm_tile_name(GemmTile tile);
// Parses one of those names; false for anything else.
bool parse_gemm_tile(const std::string& name, GemmTile* out);
// Whether the active kernel tier may run `tile` (compiled in, and the tier is at or above
// the tile's ISA).
bool gemm_tile_available(GemmTile tile);

// The name of the per-microarchitecture row in use on this CPU ("default" when none).
const char* gemm_config_name();

// The tile and blocking sgemm uses for op(A) (m x k) @ op(B) (k x n) on this CPU and the
// active tier: the forced tile when one is set (capped to the tier), else the config row's
// choice for the shape's class. Every tile runs with the tier's k-blocking
// (kernels().gemm.kc), so which tile runs never changes the result's bits on a tier; the
// bits differ between tiers, as before. Blocking overrides of gemm_tuning() are applied by
// sgemm.
GemmKernels gemm_kernels_for(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k);

// The kernels of one tile with this CPU's blocking for it, and the tile file's own kc.
const GemmKernels& gemm_tile_kernels(GemmTile tile);

}  // namespace ranvier
