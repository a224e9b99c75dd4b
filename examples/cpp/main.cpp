// Loads a ranvier model file and prints its predictions, one row per line.
//
//   predict MODEL [INPUT ...]
//
// One INPUT file per model input, in the model's input order (a model with a dict of inputs:
// sorted by name; the app prints the inputs it expects when the count is wrong):
//   - a float32 input: raw little-endian float32 values, n rows of its width each
//     (numpy's x.astype("<f4").tofile(path));
//   - an "int64" input (it feeds an IntegerLookup): raw little-endian int64 keys;
//   - a "string" input (it feeds a StringLookup): a text file, one key per line.
// The keys are encoded by the model's lookup layer, as Python's predict does. Without INPUT
// files, one row of zeros (float32 inputs only). Output: one line per row, the values of
// every output in order, with 9 significant digits (round-trips a float32 exactly).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <ranvier/ranvier.hpp>

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Input i's floats (keys encoded by its lookup layer) from `path`; rows receives the row count.
std::vector<float> read_input(const ranvier::Model& model, int i, const std::string& path, std::int64_t& rows) {
  const std::int64_t w = model.input_width(i);
  const std::string dtype = model.input_dtype(i);
  std::vector<float> x;
  if (dtype == "string") {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot open " + path);
    std::vector<std::string> keys;
    for (std::string line; std::getline(f, line);) keys.push_back(line);
    if (keys.size() % static_cast<std::size_t>(w) != 0)
      throw std::runtime_error(path + " holds " + std::to_string(keys.size()) + " keys, not rows of " +
                               std::to_string(w));
    x = model.encode_input_strings(i, keys);
  } else {
    const std::vector<char> bytes = read_bytes(path);
    const std::size_t item = dtype == "int64" ? sizeof(std::int64_t) : sizeof(float);
    if (bytes.size() % (item * static_cast<std::size_t>(w)) != 0)
      throw std::runtime_error(path + " holds " + std::to_string(bytes.size()) + " bytes, not rows of " +
                               std::to_string(w) + " " + dtype + " values");
    x.resize(bytes.size() / item);
    if (dtype == "int64") {
      std::vector<std::int64_t> keys(x.size());
      std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(keys.data()));
      model.encode_input_ints(i, keys.data(), static_cast<std::int64_t>(keys.size()), x.data());
    } else {
      std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(x.data()));
    }
  }
  rows = static_cast<std::int64_t>(x.size()) / w;
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [INPUT ...]\n", argv[0]);
    return 2;
  }
  try {
    const ranvier::Model model = ranvier::Model::load(argv[1]);
    const int ni = model.num_inputs(), no = model.num_outputs();
    if (argc != 2 && argc != 2 + ni) {
      std::fprintf(stderr, "%s takes %d input file(s):", argv[1], ni);
      for (int i = 0; i < ni; ++i)
        std::fprintf(stderr, " %s (%s, %lld per row)", model.input_name(i).c_str(), model.input_dtype(i).c_str(),
                     static_cast<long long>(model.input_width(i)));
      std::fprintf(stderr, "\n");
      return 2;
    }
    std::vector<std::vector<float>> xs;
    std::int64_t n = -1;
    for (int i = 0; i < ni; ++i) {
      std::int64_t rows = 1;
      if (argc == 2) {
        if (model.input_dtype(i) != "float32")
          throw std::runtime_error("input '" + model.input_name(i) + "' takes " + model.input_dtype(i) + " keys: pass a file");
        xs.emplace_back(static_cast<std::size_t>(model.input_width(i)), 0.0f);
      } else {
        xs.push_back(read_input(model, i, argv[2 + i], rows));
      }
      if (n >= 0 && rows != n)
        throw std::runtime_error("input '" + model.input_name(i) + "' has " + std::to_string(rows) + " rows, not " +
                                 std::to_string(n));
      n = rows;
    }
    const std::vector<std::vector<float>> ys = model.predict(xs);
    for (std::int64_t r = 0; r < n; ++r) {
      bool first = true;
      for (int j = 0; j < no; ++j) {
        const std::int64_t k = model.output_width(j);
        for (std::int64_t c = 0; c < k; ++c) {
          std::printf(first ? "%.9g" : " %.9g", static_cast<double>(ys[static_cast<std::size_t>(j)]
                                                                        [static_cast<std::size_t>(r * k + c)]));
          first = false;
        }
      }
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
