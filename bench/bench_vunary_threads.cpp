// Thread-threshold benchmark for the activation and loss ops: time of one call against
// element count and thread count (medians), with the library's thresholds switched OFF so
// every call runs on the requested threads. Used to set RANVIER_ACT_MIN_PER_THREAD* in
// cpp/src/ops/activations.cpp and RANVIER_LOSS_MIN_PER_THREAD* in cpp/src/losses/losses.cpp.
// Build by hand against a built core (the two op files recompiled with thresholds of 1):
//   g++ -std=c++17 -O2 -fopenmp -DRANVIER_OPENMP=1 -Icpp/src \
//     -DRANVIER_ACT_MIN_PER_THREAD_CHEAP=1 -DRANVIER_ACT_MIN_PER_THREAD=1 \
//     -DRANVIER_LOSS_MIN_PER_THREAD_CHEAP=1 -DRANVIER_LOSS_MIN_PER_THREAD=1 \
//     bench/bench_vunary_threads.cpp cpp/src/ops/activations.cpp cpp/src/losses/losses.cpp \
//     build/<dir>/libranvier_core.a -o build/<dir>/bench_vunary_threads
//   OMP_WAIT_POLICY=passive ./build/<dir>/bench_vunary_threads
#include <chrono>
#include <cstdio>
#include <cmath>
#include <vector>
#include <algorithm>
#include "ops/activations.h"
#include "losses/losses.h"
#include "runtime/runtime.h"
using namespace ranvier;
template <class F> double med(F f) {
  std::vector<double> ts;
  for (int r = 0; r < 9; ++r) {
    int n = 0; auto t0 = std::chrono::steady_clock::now(); double el;
    do { f(); ++n; el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); } while (el < 0.003);
    ts.push_back(el / n);
  }
  std::sort(ts.begin(), ts.end()); return ts[4];
}
int main() {
  const int threads[] = {1, 2, 4, 8, 16};
  std::vector<float> x(1 << 22), y(1 << 22), g(1 << 22), yt(1 << 22);
  for (size_t i = 0; i < x.size(); ++i) { x[i] = std::sin(i * 0.1f) * 4; yt[i] = (i % 7 == 0); }
  std::vector<float> ps(1 << 22);
  struct K { const char* name; int kind; } acts[] = {{"relu", (int)ActKind::relu}, {"sigmoid", (int)ActKind::sigmoid}, {"gelu", (int)ActKind::gelu}, {"softmax128", (int)ActKind::softmax}};
  for (auto a : acts) {
    for (int lg = 11; lg <= 22; ++lg) {
      const long n = 1L << lg;
      std::printf("%-10s n=2^%-2d", a.name, lg);
      for (int t : threads) {
        set_num_threads(t);
        ActParams p;
        const long cols = a.kind == (int)ActKind::softmax ? 128 : n;
        double s = med([&] { activation_forward((ActKind)a.kind, p, x.data(), y.data(), n / cols, cols); });
        std::printf(" %dt %9.2fus", t, s * 1e6);
      }
      std::printf("\n");
    }
  }
  for (int lk : {0, 1}) {
    const LossKind kind = lk ? LossKind::categorical_crossentropy : LossKind::mean_squared_error;
    for (int lg = 11; lg <= 22; ++lg) {
      const long n = 1L << lg, k = 64;
      std::printf("%-10s n=2^%-2d", lk ? "cce64" : "mse64", lg);
      for (int t : threads) {
        set_num_threads(t);
        LossParams p;
        for (size_t i = 0; i < (size_t)n; ++i) y[i] = 0.5f + 0.4f * std::sin(i * 0.3f);
        double s = med([&] { loss_forward_backward(kind, p, yt.data(), k, y.data(), n / k, k, nullptr, 1.0f, ps.data(), g.data()); });
        std::printf(" %dt %9.2fus", t, s * 1e6);
      }
      std::printf("\n");
    }
  }
}
