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
  int kc;  // unused: every tile runs the tier's kc (gemm_kernels_for), so it stays 0
  int mc, nc;  // 0: the kernel file's value
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
// 32 MiB L3; a 2-core VM shared with other jobs, load average 6-11: CPU time, not wall
// time), 1 thread, `bench_gemm_cpp --cpu-time --threads 1 --isa avx512 --rounds 5
// --ukernel avx2-6x16 --ukernel avx512-12x32 --w1` (and --w3, 3 rounds): median GFLOP/s of
// interleaved rounds. Two passes:
//   (a) each tile with its kernel file's kc (6x16: 800, 12x32: 384);
//   (b) both with the tier's kc = 384, as they run now (gemm_kernels_for: the same
//       k-blocks, so the tile choice never changes bits).
//
//                          (a) own kc              (b) kc = 384
//   m x n x k       op     6x16    12x32            6x16    12x32     class -> tile
//   W1 (batch 128)
//   128x256x784     A@B    99.2     97.2           100.6    100.8     other   -> 12x32
//   784x256x128     A^T@B 100.8    105.2           103.7    107.4     tn      -> 12x32
//   128x128x256     A@B   102.1    100.5           103.3    101.6     other   -> 12x32
//   256x128x128     A^T@B 100.3    107.6           104.2    108.4     tn      -> 12x32
//   128x256x128     A@B^T  98.8     97.8           100.1     98.8     other   -> 12x32
//   128x10x128      A@B    52.1     30.3            52.1     30.3     padding -> 6x16
//   128x10x128      A^T@B  46.2     29.3            48.1     29.6     padding -> 6x16
//   128x128x10      A@B^T  60.0     73.4            61.7     74.5     short_k -> 12x32
//   W3 (batch 512)
//   512x2048x1024   A@B   103.4    100.9            97.4     99.0     other   -> 12x32
//   1024x2048x512   A^T@B 105.6    101.9                              tn      -> 12x32
//   512x2048x2048   A@B    96.5     98.9            97.1     99.9     other   -> 12x32
//   2048x2048x512   A^T@B 100.9     95.4                              tn      -> 12x32
//   512x2048x2048   A@B^T  99.2     97.3            95.7     92.6     other   -> 12x32
//   512x10x2048     A@B    64.2     30.6                              padding -> 6x16
//   2048x10x512     A^T@B  53.3     34.2                              padding -> 6x16
//   512x2048x10     A@B^T  47.2     58.9                              short_k -> 12x32
//   other shapes (3 rounds, (a)): 2048x128x512 A^T@B 82.2 / 105.3; 2048x512x512 A^T@B
//   96.0 / 100.6; 1024x2048x512 A^T@B again 96.4 / 101.9.
//
// The 5-10% lead of the 6x16 tile on W1's 128x256x784 seen earlier (with its own kc) is
// within 1-3% here, in either direction between passes: ties stay with the tier's widest
// tile (the one every other CPU runs). What remains is padding: a 10-unit output layer
// fills 10 of the 12x32 tile's 32 columns but 10 of the 6x16 tile's 16, and on Zen 4 a zmm
// FMA costs two ymm FMAs, so the narrow tile is 1.6-2x faster there (on a CPU with
// full-width AVX-512 units the two waste the same time, hence a Zen 4 row only).
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
     GemmTile::avx512_12x32, 64, kAnySize, {{0, 0, 0, 0}, {0, 0, 0, 128}, {0, 0, 0, 128}}},
    {"amd-zen4", "AuthenticAMD", 0x19, 0x60, 0x7F, GemmTile::avx512_12x32, GemmTile::avx512_12x32,
     GemmTile::avx512_12x32, 64, kAnySize, {{0, 0, 0, 0}, {0, 0, 0, 128}, {0, 0, 0, 128}}},
    {"amd-zen4", "AuthenticAMD", 0x19, 0xA0, 0xAF, GemmTile::avx512_12x32, GemmTile::avx512_12x32,
     GemmTile::avx512_12x32, 64, kAnySize, {{0, 0, 0, 0}, {0, 0, 0, 128}, {0, 0, 0, 128}}},
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

GemmKernels gemm_kernels_for(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k) {
  (void)trans_b;
  const int forced = gemm_detail::gemm_tuning().ukernel;
  GemmTile tile = widest_available();
  if (forced >= 0) {
    if (gemm_tile_available(static_cast<GemmTile>(forced))) tile = static_cast<GemmTile>(forced);
  } else if (tile == GemmTile::avx512_12x32) {
    if (const ArchConfig* c = find_config()) {
      const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
      tile = k < c->short_k_max                          ? c->short_k_tile
             : (trans_a && flops <= c->tn_max_flops)    ? c->tn_tile
                                                        : c->other_tile;
      const GemmTile other = tile == GemmTile::avx512_12x32 ? GemmTile::avx2_6x16 : GemmTile::avx512_12x32;
      if (padded(gemm_tile_kernels(tile), m, n) * 0.9 > padded(gemm_tile_kernels(other), m, n)) tile = other;
      if (!gemm_tile_available(tile)) tile = widest_available();
    }
  }
  // Every tile runs with the tier's k-blocking (the widest tile's kc, kernels().gemm.kc):
  // the tiles' per-element arithmetic is the same (an FMA chain from 0 over each k-block,
  // p ascending, then the same epilogue), so with the same k-blocks the choice of tile
  // never changes a bit, and a row of C has the same bits whatever the batch around it
  // (the GEMV of a 1-row Dense forward relies on it; f32-gemv uses kernels().gemm.kc).
  GemmKernels g = gemm_tile_kernels(tile);
  g.kc = kernels().gemm.kc;
  // The one-column and rank-1 kernels and the packers' block transpose are the tier's own whatever the
  // tile (the widest vectors are the fastest; both give the same bits on every tile).
  const GemmKernels& tier = kernels().gemm;
  if (tier.column) g.column = tier.column;
  if (tier.outer) g.outer = tier.outer;
  if (tier.transpose) {
    g.transpose = tier.transpose;
    g.transpose_block = tier.transpose_block;
  }
  return g;
}

}  // namespace ranvier
