// Loads a ranvier model file and prints its predictions, one row per line.
//
//   predict MODEL [INPUT]
//
// INPUT is a raw file of little-endian float32 values, n rows of input_size() each
// (e.g. numpy's x.astype("<f4").tofile(path)); without it, one row of zeros is used.
// Output: one line per row, values printed with 9 significant digits (round-trips a
// float32 exactly).
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <vector>

#include <ranvier/ranvier.hpp>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s MODEL [INPUT.f32]\n", argv[0]);
    return 2;
  }
  try {
    const ranvier::Model model = ranvier::Model::load(argv[1]);
    const std::int64_t in = model.input_size(), out = model.output_size();
    std::vector<float> x(static_cast<std::size_t>(in), 0.0f);
    if (argc == 3) {
      std::ifstream f(argv[2], std::ios::binary);
      if (!f) {
        std::fprintf(stderr, "cannot open %s\n", argv[2]);
        return 1;
      }
      std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (bytes.size() % (sizeof(float) * static_cast<std::size_t>(in)) != 0) {
        std::fprintf(stderr, "%s holds %zu bytes, not a whole number of rows of %lld floats\n", argv[2],
                     bytes.size(), static_cast<long long>(in));
        return 1;
      }
      x.resize(bytes.size() / sizeof(float));
      std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(x.data()));
    }
    const std::vector<float> y = model.predict(x);
    const std::size_t rows = y.size() / static_cast<std::size_t>(out);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < out; ++j)
        std::printf(j ? " %.9g" : "%.9g", static_cast<double>(y[r * static_cast<std::size_t>(out) + static_cast<std::size_t>(j)]));
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
