// Per-microarchitecture choice of the float32 GEMM tile (contract in gemm_config.h).
#include "gemm/gemm_config.h"

#include <cstring>
#include <limits>

#include "dispatch/cpu_features.h"
#include "dispatch/dispatch.h"
#include "gemm/gemm_tuning.h"

namespace ranvier {

void fill_gemm_scalar(GemmKernels& k);
#ifdef RANVIER_HAVE_AVX2
void fill_gemm_avx2(GemmKernels& k);
#endif
#ifdef RANVIER_HAVE_AVX512
void fill_gemm_avx512(GemmKernels& k);
#endif

namespace {

struct TileInfo {
  const char* name;
  Isa isa;  // the lowest tier that may run it
};
constexpr TileInfo kTiles[kGemmTileCount] = {
    {"scalar-4x8", Isa::scalar}, {"avx2-6x16", Isa::avx2}, {"avx512-12x32", Isa::avx512}};

bool compiled(GemmTile t) {
  switch (t) {
    case GemmTile::scalar_4x8: return true;
#ifdef RANVIER_HAVE_AVX2
    case GemmTile::avx2_6x16: return true;
#endif
#ifdef RANVIER_HAVE_AVX512
    case GemmTile::avx512_12x32: return true;
#endif
    default: return false;
  }
}

struct Blocking {
  int kc, mc, nc;  // 0: the kernel file's value
  int a_in_place_max_cols;  // GemmKernels::a_in_place_max_cols
};

// One row of the table: the CPUs it matches, the tile per shape class, and blocking.
//
// Shape classes (op(A) is m x k, op(B) k x n, FLOPs = 2*m*n*k), tested in this order:
//   short_k:   k < short_k_max (few FMAs per tile: the store epilogue dominates, and the
//              wider tile runs half as many of them)
//   tn:        op(A) = A^T (a layer's dW = X^T @ dZ), up to tn_max_flops
//   other:     everything else
// then a padding check: when the chosen tile computes over 1/0.9 times more padded
// elements of C than the other SIMD tile would (a 10-unit output layer fills 10 of the
// 12x32 tile's 32 columns and 10 of the 6x16 tile's 16), the other tile runs it.
struct ArchConfig {
  const char* name;
  const char* vendor;
  int family;
  int model_lo, model_hi;  // inclusive
  // Tiles on the avx512 tiers (below them the tier's widest tile runs every shape).
  GemmTile short_k_tile, tn_tile, other_tile;
  std::int64_t short_k_max;
  double tn_max_flops;
  Blocking blocking[kGemmTileCount];
};

constexpr double kAnySize = std::numeric_limits<double>::infinity();

// ---- the table -------------------------------------------------------------------------
//
// AMD Zen 4 (family 0x19: models 0x10-0x1F Genoa, 0x60-0x7F Raphael/Phoenix, 0xA0-0xAF
// Bergamo/Siena) executes AVX-512 as two 256-bit halves: a zmm FMA costs two ymm FMAs, so
// the 12x32 tile's only gains are fewer loads and broadcasts per FMA and fewer epilogues,
// and its losses are twice the column padding and a wider B panel to transpose.
//
// Measured 2026-12-07 on an AMD EPYC (Zen 4, family 0x19 model 0x11; 1 MiB L2 per core,
// 32 MiB L3; a 2-core VM shared with other jobs, load average 6-9: CPU time, not wall
// time), 1 thread, `bench_gemm_cpp --cpu-time --threads 1 --isa avx512 --rounds 5
// --ukernel avx2-6x16 --ukernel avx512-12x32 --w1` (and --w3 with 3 rounds): median GFLOP/s
// of interleaved rounds, each tile with its kernel file's blocking.
//
//   m x n x k       op     avx2-6x16  avx512-12x32   class
//   W1 (batch 128)
//   128x256x784     A@B       99.2       97.2        other     (kc=800 for both: 100.0 / 99.3)
//   784x256x128     A^T@B    100.8      105.2        tn
//   128x128x256     A@B      102.1      100.5        other
//   256x128x128     A^T@B    100.3      107.6        tn
//   128x256x128     A@B^T     98.8       97.8        other
//   128x10x128      A@B       52.1       30.3        padding -> 6x16
//   128x10x128      A^T@B     46.2       29.3        padding -> 6x16
//   128x128x10      A@B^T     60.0       73.4        short_k
//   128x784x256     A@B^T     98.3       90.3        other     (bench_gemm.py's fwd784_dX)
//   W3 (batch 512)
//   512x2048x1024   A@B      103.4      100.9        other
//   1024x2048x512   A^T@B    105.6      101.9        tn        (again: 96.4 / 101.9)
//   512x2048x2048   A@B       96.5       98.9        other     (within the rounds' spread)
//   2048x2048x512   A^T@B    100.9       95.4        tn        (again: 98.9 / 97.1)
//   512x2048x2048   A@B^T     99.2       97.3        other
//   512x10x2048     A@B       64.2       30.6        padding -> 6x16
//   2048x10x512     A^T@B     53.3       34.2        padding -> 6x16
//   512x2048x10     A@B^T     47.2       58.9        short_k
//   other dW shapes (3 rounds):
//   2048x128x512    A^T@B     82.2      105.3        tn
//   2048x512x512    A^T@B     96.0      100.6        tn
// so every A^T@B takes the 12x32 tile (the large ones are a tie within the rounds' spread);
//
// Ties (within 2-3%, under the spread of the rounds) go to the 6x16 tile, which pads less.
//
// A read in place up to 128 columns (Blocking::a_in_place_max_cols; the driver's own rule
// packs A past 4 NR columns): what a part of a 2-thread column split of W1's first layer
// sees. Same command with --pack-a always / never, GFLOP/s packed / in place:
//   128x128x784 A@B    12x32:  94.5 / 100.1     6x16:  95.9 / 104.3
//   784x128x128 A^T@B  12x32: 102.4 / 106.6     6x16:  99.6 /  99.7
//   128x64x256  A@B    12x32:  94.4 /  99.7     6x16:  94.1 / 102.9
//   and past 128 columns packing wins again:
//   128x256x784 A@B    12x32:  97.7 /  87.8     6x16:  98.4 /  84.6
constexpr ArchConfig kConfigs[] = {
    {"amd-zen4", "AuthenticAMD", 0x19, 0x10, 0x1F, GemmTile::avx512_12x32, GemmTile::avx512_12x32,
     GemmTile::avx2_6x16, 64, kAnySize, {{0, 0, 0, 0}, {0, 0, 0, 128}, {0, 0, 0, 128}}},
    {"amd-zen4", "AuthenticAMD", 0x19, 0x60, 0x7F, GemmTile::avx512_12x32, GemmTile::avx512_12x32,
     GemmTile::avx2_6x16, 64, kAnySize, {{0, 0, 0, 0}, {0, 0, 0, 128}, {0, 0, 0, 128}}},
    {"amd-zen4", "AuthenticAMD", 0x19, 0xA0, 0xAF, GemmTile::avx512_12x32, GemmTile::avx512_12x32,
     GemmTile::avx2_6x16, 64, kAnySize, {{0, 0, 0, 0}, {0, 0, 0, 128}, {0, 0, 0, 128}}},
};

const ArchConfig* find_config() {
  static const ArchConfig* cfg = [] () -> const ArchConfig* {
    const CpuFeatures& f = cpu_features();
    for (const ArchConfig& c : kConfigs)
      if (std::strcmp(f.vendor, c.vendor) == 0 && f.family == c.family && f.model >= c.model_lo &&
          f.model <= c.model_hi)
        return &c;
    return nullptr;
  }();
  return cfg;
}

GemmTile widest_available() {
  for (int t = kGemmTileCount - 1; t > 0; --t)
    if (gemm_tile_available(static_cast<GemmTile>(t))) return static_cast<GemmTile>(t);
  return GemmTile::scalar_4x8;
}

}  // namespace

const char* gemm_tile_name(GemmTile tile) {
  const int i = static_cast<int>(tile);
  return i >= 0 && i < kGemmTileCount ? kTiles[i].name : "unknown";
}

bool parse_gemm_tile(const std::string& name, GemmTile* out) {
  for (int i = 0; i < kGemmTileCount; ++i)
    if (name == kTiles[i].name) {
      *out = static_cast<GemmTile>(i);
      return true;
    }
  return false;
}

bool gemm_tile_available(GemmTile tile) {
  const int i = static_cast<int>(tile);
  if (i < 0 || i >= kGemmTileCount || !compiled(tile)) return false;
  const Isa active = active_isa();
  return active >= kTiles[i].isa;
}

const char* gemm_config_name() {
  const ArchConfig* c = find_config();
  return c ? c->name : "default";
}

namespace {
GemmKernels make_tile_kernels(GemmTile tile) {
  GemmKernels g;
  switch (tile) {
#ifdef RANVIER_HAVE_AVX512
    case GemmTile::avx512_12x32: fill_gemm_avx512(g); break;
#endif
#ifdef RANVIER_HAVE_AVX2
    case GemmTile::avx2_6x16: fill_gemm_avx2(g); break;
#endif
    default: fill_gemm_scalar(g); break;
  }
  if (const ArchConfig* c = find_config()) {
    const Blocking& b = c->blocking[static_cast<int>(tile)];
    if (b.kc > 0) g.kc = b.kc;
    if (b.mc > 0 && b.mc % g.mr == 0) g.mc = b.mc;
    if (b.nc > 0 && b.nc % g.nr == 0) g.nc = b.nc;
    g.a_in_place_max_cols = b.a_in_place_max_cols;
  }
  return g;
}
}  // namespace

const GemmKernels& gemm_tile_kernels(GemmTile tile) {
  // Built once: the tiles and this CPU's blocking for them do not change in a process.
  static const struct Table {
    GemmKernels k[kGemmTileCount];
    Table() {
      for (int i = 0; i < kGemmTileCount; ++i) k[i] = make_tile_kernels(static_cast<GemmTile>(i));
    }
  } table;
  return table.k[static_cast<int>(tile)];
}

namespace {
// Elements of C the tile computes, padding included.
double padded(const GemmKernels& g, std::int64_t m, std::int64_t n) {
  return static_cast<double>((m + g.mr - 1) / g.mr * g.mr) * static_cast<double>((n + g.nr - 1) / g.nr * g.nr);
}
}  // namespace

const GemmKernels& gemm_kernels_for(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k) {
  (void)trans_b;
  const int forced = gemm_detail::gemm_tuning().ukernel;
  GemmTile tile = widest_available();
  if (forced >= 0) {
    if (gemm_tile_available(static_cast<GemmTile>(forced))) tile = static_cast<GemmTile>(forced);
    return gemm_tile_kernels(tile);
  }
  if (tile != GemmTile::avx512_12x32) return gemm_tile_kernels(tile);
  const ArchConfig* c = find_config();
  if (!c) return gemm_tile_kernels(tile);
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  tile = k < c->short_k_max                              ? c->short_k_tile
         : (trans_a && flops <= c->tn_max_flops)    ? c->tn_tile
                                                        : c->other_tile;
  const GemmTile other = tile == GemmTile::avx512_12x32 ? GemmTile::avx2_6x16 : GemmTile::avx512_12x32;
  if (padded(gemm_tile_kernels(tile), m, n) * 0.9 > padded(gemm_tile_kernels(other), m, n)) tile = other;
  return gemm_tile_kernels(tile);
}

}  // namespace ranvier
