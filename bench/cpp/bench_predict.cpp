// Single-sample and batch predict timing through ranvier's public C++ API (W4 of
// bench/bench_train.py, which builds and runs this program).
//
//   bench_predict MODEL INPUT.f32 THREADS [SECONDS]
//
// INPUT.f32 holds rows of input_size() little-endian float32 values. The program times
// Model::predict on one row (rotating through the rows) for about SECONDS seconds and on
// a batch of all the rows, and prints one JSON line:
//   {"single_us": median microseconds per 1-row predict, "calls": n,
//    "batch": rows, "batch_s": median seconds per batch predict}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <vector>

#include <ranvier/ranvier.hpp>

namespace {
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
    std::printf("{\"single_us\": %.4f, \"calls\": %zu, \"batch\": %lld, \"batch_s\": %.6g}\n", median(ts),
                ts.size(), static_cast<long long>(rows), median(tb));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
