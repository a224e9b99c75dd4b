// Single-sample and batch predict timing through ranvier's public C++ API (W4 of
// bench/bench_train.py, which builds and runs this program).
//
//   bench_predict MODEL INPUT.f32 THREADS [SECONDS]
//
// INPUT.f32 holds rows of input_size() little-endian float32 values. The program times
// Model::predict on one row (rotating through the rows) for about SECONDS seconds and on
// a batch of all the rows, and prints one JSON line:
//   {"single_us": median microseconds per 1-row predict, "calls": n,
//    "batch": rows, "batch_s": median seconds per batch predict,
//    "read_us": median microseconds to read count_params() floats once (a plain sum over
//    a buffer of the weights' size, on the calling thread: the memory floor of a 1-row
//    predict on one core, which must stream every weight)}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include <ranvier/ranvier.hpp>

namespace {
// The sum of a[0, n) (n a multiple of 64) with 8 independent vector sums, so the loads bound
// it: AVX2 where the CPU has it (32-byte loads, as wide as Zen 4's load ports), else plain
// code with 8 scalar sums.
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2"))) float read_all_avx2(const float* a, std::size_t n) {
  __m256 s[8];
  for (auto& v : s) v = _mm256_setzero_ps();
  for (std::size_t i = 0; i < n; i += 64)
    for (int j = 0; j < 8; ++j) s[j] = _mm256_add_ps(s[j], _mm256_loadu_ps(a + i + 8 * j));
  for (int j = 1; j < 8; ++j) s[0] = _mm256_add_ps(s[0], s[j]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s[0]);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif
float read_all(const float* a, std::size_t n) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return read_all_avx2(a, n);
#endif
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t i = 0; i < n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + static_cast<std::size_t>(j)];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL INPUT.f32 THREADS [SECONDS]\n", argv[0]);
    return 2;
  }
  try {
    using clock = std::chrono::steady_clock;
    ranvier::set_num_threads(std::atoi(argv[3]));
    const double budget = argc > 4 ? std::atof(argv[4]) : 1.0;
    const ranvier::Model model = ranvier::Model::load(argv[1]);
    const std::int64_t in = model.input_size(), out = model.output_size();
    std::ifstream f(argv[2], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::int64_t rows = static_cast<std::int64_t>(bytes.size() / (sizeof(float) * static_cast<std::size_t>(in)));
    if (rows < 1) {
      std::fprintf(stderr, "no input rows in %s\n", argv[2]);
      return 1;
    }
    std::vector<float> x(static_cast<std::size_t>(rows * in));
    std::copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(x.size() * sizeof(float)),
              reinterpret_cast<char*>(x.data()));
    std::vector<float> y(static_cast<std::size_t>(rows * out));

    for (int i = 0; i < 100; ++i)  // warm-up
      model.predict(x.data() + (i % rows) * in, 1, y.data(), 1);
    std::vector<double> ts;
    const auto end = clock::now() + std::chrono::duration<double>(budget);
    for (std::int64_t i = 0; clock::now() < end || i < 100; ++i) {
      const auto t0 = clock::now();
      model.predict(x.data() + (i % rows) * in, 1, y.data() + (i % rows) * out, 1);
      ts.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count());
    }
    std::vector<double> tb;
    model.predict(x.data(), rows, y.data(), rows);
    for (int r = 0; r < 7; ++r) {
      const auto t0 = clock::now();
      model.predict(x.data(), rows, y.data(), rows);
      tb.push_back(std::chrono::duration<double>(clock::now() - t0).count());
    }
    // The read floor: sum a buffer of the weights' size, 8 independent sums (the loads, not
    // the adds, bound it), as many times as the single-sample loop ran (at least 1000).
    std::vector<float> w(static_cast<std::size_t>(model.count_params() + 63) / 64 * 64, 1e-3f);
    std::vector<double> tr;
    volatile float sink = 0.0f;
    for (std::size_t rep = 0; rep < std::max<std::size_t>(ts.size(), 1000); ++rep) {
      const auto t0 = clock::now();
      sink = sink + read_all(w.data(), w.size());
      tr.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count());
    }
    std::printf("{\"single_us\": %.4f, \"calls\": %zu, \"batch\": %lld, \"batch_s\": %.6g, \"read_us\": %.4f}\n",
                median(ts), ts.size(), static_cast<long long>(rows), median(tb), median(tr));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
