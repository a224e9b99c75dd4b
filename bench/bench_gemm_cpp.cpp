// C++ GEMM benchmark: ranvier::sgemm in a loop, no Python in the way.
//
//   cmake -S . -B build/bench -G Ninja -DRANVIER_BUILD_BENCH=ON && cmake --build build/bench -j2
//   ./build/bench/bench_gemm_cpp                       # the default table, every supported SIMD ISA
//   ./build/bench/bench_gemm_cpp --threads 2 --isa avx2 --pack-a never --min-flops 0 32 64 64 nn
//   ./build/bench/bench_gemm_cpp --threshold           # 1 vs 2 threads over sizes (the threshold)
//   ./build/bench/bench_gemm_cpp --cpu-time --threads 1  # CPU time: steadier on a shared machine
//   ./build/bench/bench_gemm_cpp --w1 --rounds 7 --ukernel avx2-6x16 --ukernel avx512-12x32 --ukernel config
//       # W1's GEMMs (forward, dW, dX) per forced micro-kernel, interleaved: round r runs every
//       # (shape, tile) once, ~30 ms each; medians over the rounds (gemm/gemm_config.cpp's table)
//   --ukernel before: the 12x32 tile with A packed by the whole-problem rule (the driver
//   before the per-CPU table), for before/after comparisons in one interleaved run.
//   --w3: W3's GEMMs; --bf16: bgemm (mixed_bfloat16) instead of sgemm. The load average is
//   printed with every table (on a shared machine, read it first).
//
// Prints GFLOP/s as the median of several repeats (each repeat runs ~50 ms of calls).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <ctime>
#include <vector>

#include "dispatch/cpu_features.h"
#include "dispatch/dispatch.h"
#include "gemm/bf16_gemm.h"
#include "gemm/gemm.h"
#include "gemm/gemm_config.h"
#include "gemm/gemm_tuning.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"

namespace {

struct Shape {
  long m, n, k;
  bool ta, tb;
};

bool g_cpu_time = false;  // --cpu-time: process CPU seconds instead of wall seconds
bool g_bf16 = false;      // --bf16: time bgemm (mixed_bfloat16) instead of sgemm

// Wall time, or with --cpu-time the process's CPU time: for 1-thread tuning on a shared
// machine (time slices lost to other processes do not count; cache sharing still does).
double now() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds per call.
double time_gemm(const Shape& s, int threads, int repeats, double target_s) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> A(static_cast<size_t>(s.m * s.k)), B(static_cast<size_t>(s.k * s.n)),
      C(static_cast<size_t>(s.m * s.n));
  for (auto& x : A) x = d(rng);
  for (auto& x : B) x = d(rng);
  const long lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  auto call = [&] {
    (g_bf16 ? ranvier::bgemm : ranvier::sgemm)(s.ta, s.tb, s.m, s.n, s.k, 1.0f, A.data(), lda, B.data(), ldb, 0.0f,
                                               C.data(), s.n, ranvier::GemmEpilogue{}, threads);
  };
  call();
  double t0 = now();
  long iters = 0;
  while (now() - t0 < 0.02) {
    call();
    ++iters;
  }
  const long per = std::max(1L, static_cast<long>(iters * target_s / (now() - t0)));
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    t0 = now();
    for (long i = 0; i < per; ++i) call();
    times.push_back((now() - t0) / static_cast<double>(per));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string loadavg() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "n/a";
  char buf[128] = {0};
  const bool ok = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  if (!ok) return "n/a";
  std::string s(buf);
  // the three averages only
  std::size_t pos = 0;
  for (int i = 0; i < 3 && pos != std::string::npos; ++i) pos = s.find(' ', pos + 1);
  return s.substr(0, pos);
}

double gflops(const Shape& s, double sec) { return 2.0 * s.m * s.n * s.k / sec * 1e-9; }

const char* tname(const Shape& s) {
  static const char* names[] = {"A@B", "A@B^T", "A^T@B", "A^T@B^T"};
  return names[(s.ta ? 2 : 0) + (s.tb ? 1 : 0)];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<ranvier::Isa> isas = ranvier::supported_isas();
  if (isas.size() > 1) isas.erase(isas.begin());  // default: the SIMD ISAs, not scalar
  std::vector<int> thread_counts{1, 2};
  int repeats = 7;
  bool threshold = false, isa_given = false;
  int rounds = 0;                     // --rounds R: interleaved rounds (medians), see above
  std::vector<int> ukernels;          // --ukernel NAME|config (-1: the config table's choice)
  std::vector<Shape> shapes;
  auto& tune = ranvier::gemm_detail::gemm_tuning();
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--isa" && i + 1 < argc) {
      ranvier::Isa isa;
      if (!ranvier::parse_isa(argv[++i], &isa)) return 2;
      if (!isa_given) isas.clear();  // --isa may be repeated
      isa_given = true;
      isas.push_back(isa);
    } else if (a == "--threads" && i + 1 < argc) {
      thread_counts = {std::atoi(argv[++i])};
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::atoi(argv[++i]);
    } else if (a == "--pack-a" && i + 1 < argc) {
      std::string v = argv[++i];
      tune.pack_a = v == "always" ? ranvier::gemm_detail::PackMode::always
                    : v == "never" ? ranvier::gemm_detail::PackMode::never
                                   : ranvier::gemm_detail::PackMode::automatic;
    } else if (a == "--pack-b" && i + 1 < argc) {
      std::string v = argv[++i];
      tune.pack_b = v == "always" ? ranvier::gemm_detail::PackMode::always
                    : v == "never" ? ranvier::gemm_detail::PackMode::never
                                   : ranvier::gemm_detail::PackMode::automatic;
    } else if (a == "--kc" && i + 1 < argc) {
      tune.kc = std::atoi(argv[++i]);
    } else if (a == "--mc" && i + 1 < argc) {
      tune.mc = std::atoi(argv[++i]);
    } else if (a == "--nc" && i + 1 < argc) {
      tune.nc = std::atoi(argv[++i]);
    } else if (a == "--min-flops" && i + 1 < argc) {
      tune.parallel_min_flops = std::atof(argv[++i]);
    } else if (a == "--ukernel" && i + 1 < argc) {
      std::string v = argv[++i];
      ranvier::GemmTile t;
      if (v == "config") {
        ukernels.push_back(-1);
      } else if (v == "before") {  // the driver before the per-CPU table: the 12x32 tile, A packed by the whole-problem rule
        ukernels.push_back(-2);
      } else if (ranvier::parse_gemm_tile(v, &t)) {
        ukernels.push_back(static_cast<int>(t));
      } else {
        std::fprintf(stderr, "--ukernel %s: expected scalar-4x8, avx2-6x16, avx512-12x32, config or before\n",
                     v.c_str());
        return 2;
      }
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--w1") {
      // W1 (784-256-128-10, batch 128): forward X@W, dW = X^T@dZ, dX = dZ@W^T per layer
      // (no dX for the first layer). m x n x k as the positional arguments take them.
      for (const char* w : {"128", "256", "784", "nn", "784", "256", "128", "tn", "128", "128", "256", "nn",
                            "256", "128", "128", "tn", "128", "256", "128", "nt", "128", "10", "128", "nn",
                            "128", "10", "128", "tn", "128", "128", "10", "nt"})
        pos.emplace_back(w);
    } else if (a == "--w3") {
      // W3 (1024-2048-2048-10, batch 512).
      for (const char* w : {"512", "2048", "1024", "nn", "1024", "2048", "512", "tn", "512", "2048", "2048", "nn",
                            "2048", "2048", "512", "tn", "512", "2048", "2048", "nt", "512", "10", "2048", "nn",
                            "2048", "10", "512", "tn", "512", "2048", "10", "nt"})
        pos.emplace_back(w);
    } else if (a == "--gemm-chunks" && i + 1 < argc) {  // parts per thread (runtime/pool.h)
      ranvier::pool_detail::pool_tuning().gemm_chunks_per_thread = std::atoi(argv[++i]);
    } else if (a == "--bf16") {
      g_bf16 = true;
    } else if (a == "--cpu-time") {
      g_cpu_time = true;
    } else if (a == "--threshold") {
      threshold = true;
    } else {
      pos.push_back(a);
    }
  }
  for (size_t i = 0; i + 2 < pos.size();) {
    Shape s{std::atol(pos[i].c_str()), std::atol(pos[i + 1].c_str()), std::atol(pos[i + 2].c_str()), false, false};
    i += 3;
    if (i < pos.size() && pos[i].size() == 2 && (pos[i][0] == 'n' || pos[i][0] == 't')) {
      s.ta = pos[i][0] == 't';
      s.tb = pos[i][1] == 't';
      ++i;
    }
    shapes.push_back(s);
  }

  if (threshold) {
    // 1 thread vs 2 threads (forced, threshold 0) over square-ish sizes: where 2 wins.
    tune.parallel_min_flops = 0.0;
    ranvier::set_isa(isas.back());
    std::printf("isa %s\n", ranvier::isa_name(isas.back()));
    std::printf("%-18s %12s %12s %12s %8s\n", "m x n x k", "MFLOP", "1 thr GF/s", "2 thr GF/s", "2/1");
    const long sizes[][3] = {{16, 64, 64},   {32, 64, 64},   {32, 128, 64},  {64, 64, 128},  {64, 128, 128},
                             {64, 256, 128}, {128, 128, 128}, {128, 256, 128}, {128, 256, 256},
                             {128, 784, 256}, {256, 256, 256}, {256, 512, 256}};
    for (auto& z : sizes) {
      Shape s{z[0], z[1], z[2], false, false};
      const double t1 = time_gemm(s, 1, repeats, 0.05), t2 = time_gemm(s, 2, repeats, 0.05);
      char name[64];
      std::snprintf(name, sizeof name, "%ldx%ldx%ld", s.m, s.n, s.k);
      std::printf("%-18s %12.3f %12.1f %12.1f %8.2f\n", name, 2.0 * s.m * s.n * s.k * 1e-6, gflops(s, t1),
                  gflops(s, t2), t1 / t2);
    }
    return 0;
  }

  if (shapes.empty())
    // The forward product of two dense layers, their backprop products (dW = X^T @ dY,
    // dX = dY @ W^T), a square GEMM and the small-batch layer.
    shapes = {{32, 64, 64, false, false},     {128, 256, 784, false, false}, {784, 256, 128, true, false},
              {128, 784, 256, false, true},   {512, 2048, 2048, false, false}, {2048, 2048, 512, true, false},
              {512, 2048, 2048, false, true}, {2048, 2048, 2048, false, false}};
  const ranvier::CpuFeatures& cf = ranvier::cpu_features();
  std::printf("cpu %s family 0x%x model 0x%x, gemm config %s, loadavg %s%s\n", cf.vendor, cf.family, cf.model,
              ranvier::gemm_config_name(), loadavg().c_str(), g_cpu_time ? ", CPU time" : ", wall time");
  if (ukernels.empty()) ukernels.push_back(-1);
  if (rounds > 0) {
    // Interleaved: for each shape and thread count, round r times every (isa, tile) once.
    std::printf("%-8s %-14s %-8s %-16s %4s %10s %10s %10s\n", "isa", "ukernel", "op", "m x n x k", "thr", "med GF/s",
                "min", "max");
    for (int t : thread_counts) {
      // Seconds of one call of every shape, per variant and round (the step's GEMM time).
      std::vector<std::vector<double>> step(isas.size() * ukernels.size(), std::vector<double>(rounds, 0.0));
      for (const auto& s : shapes) {
        std::vector<std::vector<double>> g(isas.size() * ukernels.size());
        for (int r = 0; r < rounds; ++r)
          for (std::size_t v = 0; v < g.size(); ++v) {
            ranvier::set_isa(isas[v / ukernels.size()]);
            const int u = ukernels[v % ukernels.size()];
            tune.ukernel = u == -2 ? static_cast<int>(ranvier::GemmTile::avx512_12x32) : u;
            tune.a_in_place_max_cols = u == -2 ? 0 : -1;
            const double sec = time_gemm(s, t, 1, 0.03);
            step[v][r] += sec;
            g[v].push_back(gflops(s, sec));
          }
        for (std::size_t v = 0; v < g.size(); ++v) {
          std::sort(g[v].begin(), g[v].end());
          const int u = ukernels[v % ukernels.size()];
          char name[64];
          std::snprintf(name, sizeof name, "%ldx%ldx%ld", s.m, s.n, s.k);
          std::printf("%-8s %-14s %-8s %-16s %4d %10.1f %10.1f %10.1f\n", ranvier::isa_name(isas[v / ukernels.size()]),
                      u == -2 ? "before" : u < 0 ? "config" : ranvier::gemm_tile_name(static_cast<ranvier::GemmTile>(u)), tname(s), name, t,
                      g[v][g[v].size() / 2], g[v].front(), g[v].back());
        }
        std::fflush(stdout);
      }
      if (shapes.size() > 1)
        for (std::size_t v = 0; v < step.size(); ++v) {
          const int u = ukernels[v % ukernels.size()];
          std::sort(step[v].begin(), step[v].end());
          std::printf("%-8s %-14s every shape once (a training step's GEMMs), %d thr: median %.1f us\n",
                      ranvier::isa_name(isas[v / ukernels.size()]),
                      u == -2 ? "before" : u < 0 ? "config" : ranvier::gemm_tile_name(static_cast<ranvier::GemmTile>(u)),
                      t, step[v][step[v].size() / 2] * 1e6);
        }
    }
    std::printf("loadavg at the end %s\n", loadavg().c_str());
    return 0;
  }
  tune.ukernel = ukernels.front();
  std::printf("%-8s %-8s %-20s %4s %12s %10s\n", "isa", "op", "m x n x k", "thr", "us/call", "GFLOP/s");
  for (auto isa : isas) {
    ranvier::set_isa(isa);
    for (const auto& s : shapes)
      for (int t : thread_counts) {
        const double sec = time_gemm(s, t, repeats, 0.05);
        char name[64];
        std::snprintf(name, sizeof name, "%ldx%ldx%ld", s.m, s.n, s.k);
        std::printf("%-8s %-8s %-20s %4d %12.2f %10.1f\n", ranvier::isa_name(isa), tname(s), name, t, sec * 1e6,
                    gflops(s, sec));
      }
  }
  return 0;
}
