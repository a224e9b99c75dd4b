// io/: strict JSON and the safetensors validator (C++ side; the Python tests and the
// fuzz test cover the same code through the binding).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "testing.h"

namespace {

bool json_throws(const std::string& s) {
  try {
    ranvier::json::parse(s);
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

std::string header_error(const std::vector<std::uint8_t>& b) {
  try {
    ranvier::io::parse_header(b.data(), b.size(), b.size());
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::vector<std::uint8_t> make_file(const std::string& header, std::size_t data_bytes) {
  std::vector<std::uint8_t> b(8 + header.size() + data_bytes, 0);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(n >> (8 * i));
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

}  // namespace

RANVIER_TEST(json_parses_and_dumps) {
  using ranvier::json::Value;
  const Value v = ranvier::json::parse(R"( {"a": [1, -2.5e3, true, null], "b": "x\u00e9\ud83d\ude00\n"} )");
  RANVIER_CHECK(v.is_object() && v.as_object().size() == 2, "object");
  RANVIER_CHECK(v.find("a")->as_array()[0].as_uint() == 1, "int");
  RANVIER_CHECK(v.find("a")->as_array()[1].as_double() == -2500.0, "double");
  RANVIER_CHECK(v.find("b")->as_string() == "x\xc3\xa9\xf0\x9f\x98\x80\n", "escapes decoded");
  RANVIER_CHECK(ranvier::json::dump(v) == R"({"a": [1, -2.5e3, true, null], "b": "x\u00e9\ud83d\ude00\n"})",
                "dump: %s", ranvier::json::dump(v).c_str());
  RANVIER_CHECK(ranvier::json::parse("18446744073709551615").as_uint() == 18446744073709551615ull, "u64 max");
  RANVIER_CHECK(Value::make_number(0.001).number_text() == "0.001", "%s", Value::make_number(0.001).number_text().c_str());
  RANVIER_CHECK(Value::make_number(3.0).number_text() == "3.0", "%s", Value::make_number(3.0).number_text().c_str());
}

RANVIER_TEST(json_is_strict) {
  const char* bad[] = {"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\":1,\"a\":2}", "01", "1.", ".5", "1e", "+1",
                       "NaN", "Infinity", "[1] x", "\"\\x\"", "\"a\nb\"", "\"\\ud800\"", "\"\\udc00\"",
                       "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "tru", "nul", "//c\n1", "{1:2}", "[\"a\" \"b\"]"};
  for (const char* s : bad) RANVIER_CHECK(json_throws(s), "accepted invalid JSON <%s>", s);
  // Nesting limit: no stack overflow on deep input.
  std::string deep(100000, '[');
  RANVIER_CHECK(json_throws(deep), "deep nesting accepted");
  std::string ok(64, '[');
  ok += std::string(64, ']');
  RANVIER_CHECK(!json_throws(ok), "64 levels refused");
  RANVIER_CHECK(json_throws(std::string(65, '[') + std::string(65, ']')), "65 levels accepted");
  // Value budget.
  bool threw = false;
  try {
    ranvier::json::parse("[1,2,3,4]", 9, 8, 4);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "value budget not enforced");
  // Exact integers.
  using ranvier::json::parse;
  const char* not_uint[] = {"-1", "1.0", "1e3", "18446744073709551616", "0.5"};
  for (const char* s : not_uint) {
    bool t = false;
    try {
      parse(s).as_uint();
    } catch (const std::invalid_argument&) {
      t = true;
    }
    RANVIER_CHECK(t, "as_uint accepted %s", s);
  }
}

RANVIER_TEST(safetensors_roundtrip) {
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const float b[2] = {-1.5f, 7.25f};
  std::vector<ranvier::io::TensorOut> ts = {{"layers/dense/kernel", {2, 3}, a}, {"layers/dense/bias", {2}, b},
                                            {"empty", {0, 4}, nullptr}};
  auto bytes = ranvier::io::serialize(ts, {{"format", "ranvier"}, {"format_version", "1"}});
  auto h = ranvier::io::parse_header(bytes.data(), bytes.size(), bytes.size());
  RANVIER_CHECK(h.data_start % 8 == 0, "data section aligned to 8: %llu", (unsigned long long)h.data_start);
  RANVIER_CHECK(h.tensors.size() == 3 && h.tensors[0].name == "layers/dense/kernel", "tensors");
  RANVIER_CHECK(h.tensors[0].shape == std::vector<std::int64_t>({2, 3}), "shape");
  RANVIER_CHECK(*h.find_meta("format") == "ranvier", "metadata");
  ranvier::io::check_ranvier(h);

  const std::string path = "ranvier_test_io_roundtrip.safetensors";
  ranvier::io::atomic_write(path, bytes.data(), bytes.size());
  auto f = ranvier::io::read_file(path);
  float out[6];

  f.read_f32(*f.header.find_tensor("layers/dense/kernel"), out);
  RANVIER_CHECK(std::memcmp(out, a, sizeof a) == 0, "kernel data");
  f.read_f32(*f.header.find_tensor("layers/dense/bias"), out);
  RANVIER_CHECK(out[0] == -1.5f && out[1] == 7.25f, "bias data");
  std::remove(path.c_str());
}

RANVIER_TEST(safetensors_rejects_hostile_headers) {
  struct Case {
    std::string header;
    std::size_t data;
    const char* expect;
  };
  const Case cases[] = {
      {"[]", 0, "does not start with '{'"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON"},
      {"{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "does not match"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,0]}}", 0, "does not match"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "beyond the data section"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "> end"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "trailing bytes"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown field"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "needs"},
      {"{\"__metadata__\":{\"k\":1}}", 0, "must be a string"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e2]}}", 4, "non-negative integer"},
  };
  for (const auto& c : cases) {
    const std::string err = header_error(make_file(c.header, c.data));
    RANVIER_CHECK(contains(err, c.expect), "header %s: expected '%s', got '%s'", c.header.c_str(), c.expect,
                  err.c_str());
  }
  // Length field larger than the file, absurd lengths, short files.
  std::vector<std::uint8_t> b = make_file("{}", 0);
  b[0] = 0xff;
  b[7] = 0x7f;
  RANVIER_CHECK(contains(header_error(b), "only"), "%s", header_error(b).c_str());
  std::vector<std::uint8_t> tiny = {1, 2, 3};
  RANVIER_CHECK(contains(header_error(tiny), "too short"), "%s", header_error(tiny).c_str());
  // Version and format checks.
  auto ok = make_file("{\"__metadata__\":{\"format\":\"ranvier\",\"format_version\":\"2\"}}", 0);
  auto h = ranvier::io::parse_header(ok.data(), ok.size(), ok.size());
  std::string err;
  try {
    ranvier::io::check_ranvier(h);
  } catch (const std::invalid_argument& e) {
    err = e.what();
  }
  RANVIER_CHECK(contains(err, "newer"), "%s", err.c_str());
}

RANVIER_TEST(safetensors_missing_file_is_runtime_error) {
  bool threw = false;
  try {
    ranvier::io::read_file("/nonexistent/ranvier/model.safetensors");
  } catch (const std::runtime_error& e) {
    threw = contains(e.what(), "cannot open");
  }
  RANVIER_CHECK(threw, "missing file");
}

// ---------------------------------------------------------------- the public C++ and C APIs
#include "ranvier/c_api.h"
#include "ranvier/model.hpp"

namespace {

// y = sum of the first 3 features (a regression a small MLP learns quickly).
void make_data(std::vector<float>& x, std::vector<float>& y, int n, int d) {
  std::uint64_t s = 7;
  x.resize(static_cast<std::size_t>(n * d));
  y.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    float t = 0;
    for (int j = 0; j < d; ++j) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const float v = static_cast<float>((s >> 40) & 0xffff) / 65536.0f - 0.5f;
      x[static_cast<std::size_t>(i * d + j)] = v;
      if (j < 3) t += v;
    }
    y[static_cast<std::size_t>(i)] = t;
  }
}

}  // namespace

RANVIER_TEST(cpp_api_train_save_load_resume) {
  const int n = 256, d = 6;
  std::vector<float> x, y;
  make_data(x, y, n, d);
  auto make = [] {
    ranvier::Model m(3);
    m.input(6)
        .add(ranvier::layers::Dense(16, "relu"))
        .add(ranvier::layers::Dropout(0.1))
        .add(ranvier::layers::BatchNormalization())
        .add(ranvier::layers::Dense(1));
    m.compile({"adam", 0.01}, {"mse"});
    return m;
  };
  ranvier::FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = 32;
  fo.seed = 11;
  ranvier::Model a = make();
  const double before = a.evaluate(x.data(), y.data(), n, 1);
  ranvier::History h = a.fit(x.data(), y.data(), n, 1, fo);
  RANVIER_CHECK(h.loss.size() == 2, "history");
  RANVIER_CHECK(a.evaluate(x.data(), y.data(), n, 1) < before, "training lowers the loss");
  RANVIER_CHECK(a.iterations() == 2 * 8, "iterations %lld", static_cast<long long>(a.iterations()));
  const std::string path = "ranvier_test_cpp_api.safetensors";
  a.save(path);

  ranvier::Model b = ranvier::Model::load(path);
  RANVIER_CHECK(b.compiled(), "restored compile state");
  RANVIER_CHECK(b.iterations() == a.iterations(), "restored iterations");
  RANVIER_CHECK(b.input_size() == 6 && b.output_size() == 1, "sizes");
  const auto pa = a.predict(x), pb = b.predict(x);
  RANVIER_CHECK(pa == pb, "loaded model predicts bit-identically");
  // Resume: fit 2 epochs, save, load, fit 1 more == fit 3 epochs at once (weights,
  // BatchNormalization statistics and predictions bit for bit).
  fo.epochs = 1;
  a.fit(x.data(), y.data(), n, 1, fo);
  b.fit(x.data(), y.data(), n, 1, fo);
  ranvier::Model c = make();
  fo.epochs = 3;
  c.fit(x.data(), y.data(), n, 1, fo);
  RANVIER_CHECK(a.weight_names() == b.weight_names(), "weight names");
  for (const auto& w : a.weight_names()) {
    RANVIER_CHECK(a.get_weight(w) == b.get_weight(w), "resumed weight %s differs", w.c_str());
    RANVIER_CHECK(a.get_weight(w) == c.get_weight(w), "fit 2+1 differs from fit 3 in %s", w.c_str());
  }
  RANVIER_CHECK(b.iterations() == 24, "iterations after resume %lld", static_cast<long long>(b.iterations()));
  std::remove(path.c_str());

  // C API on a saved file.
  a.save(path);
  ranvier_model* cm = nullptr;
  RANVIER_CHECK(ranvier_model_load(path.c_str(), &cm) == RANVIER_OK, "%s", ranvier_last_error());
  RANVIER_CHECK(ranvier_model_input_size(cm) == 6 && ranvier_model_output_size(cm) == 1, "C sizes");
  std::vector<float> out(static_cast<std::size_t>(n));
  RANVIER_CHECK(ranvier_model_predict(cm, x.data(), n, out.data(), n) == RANVIER_OK, "%s", ranvier_last_error());
  RANVIER_CHECK(out == a.predict(x), "C API predicts as the C++ API");
  RANVIER_CHECK(ranvier_model_predict(cm, x.data(), n, out.data(), n - 1) == RANVIER_ERROR_INVALID_ARGUMENT,
                "short output buffer refused");
  RANVIER_CHECK(contains(ranvier_last_error(), "out holds"), "%s", ranvier_last_error());
  ranvier_model_free(cm);
  ranvier_model* bad_model = nullptr;
  RANVIER_CHECK(ranvier_model_load("/nonexistent.safetensors", &bad_model) == RANVIER_ERROR_IO && !bad_model,
                "missing file");
  RANVIER_CHECK(contains(ranvier_last_error(), "cannot open"), "%s", ranvier_last_error());
  std::remove(path.c_str());
}

// Random byte mutations of a real model file through the whole C++ loader (header
// validation, metadata, architecture, weights): only std::invalid_argument may come
// out. (Run under RANVIER_SANITIZE=ON to catch memory errors as well.)
RANVIER_TEST(io_mutated_model_files_never_crash) {
  ranvier::Model m(5);
  m.input(4).add(ranvier::layers::Dense(6, "relu")).add(ranvier::layers::BatchNormalization())
      .add(ranvier::layers::Dropout(0.25)).add(ranvier::layers::Dense(2, "softmax"));
  m.compile({"sgd", 0.1}, {"sparse_categorical_crossentropy"});
  const std::string path = "ranvier_test_io_mutations.safetensors";
  m.save(path);
  std::vector<std::uint8_t> base;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    int c;
    while ((c = std::fgetc(f)) != EOF) base.push_back(static_cast<std::uint8_t>(c));
    std::fclose(f);
  }
  std::uint64_t s = 12345;
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return s >> 33;
  };
  int accepted = 0, refused = 0, other = 0;
  for (int it = 0; it < 3000; ++it) {
    std::vector<std::uint8_t> b = base;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % b.size();
      switch (next() % 4) {
        case 0: b[pos] = static_cast<std::uint8_t>(next()); break;
        case 1: b[pos] ^= static_cast<std::uint8_t>(1u << (next() % 8)); break;
        case 2: b.resize(pos); break;
        default: b.insert(b.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<std::uint8_t>(next())); break;
      }
      if (b.empty()) b.push_back(0);
    }
    try {
      auto h = ranvier::io::parse_header(b.data(), b.size(), b.size());
      ranvier::io::File f;
      f.header = h;
      f.data.assign(b.begin() + static_cast<std::ptrdiff_t>(h.data_start), b.end());
      auto lm = ranvier::io::load_model(f);
      std::vector<float> x(4, 0.5f), y(2);
      lm.net->predict(x.data(), 1, y.data(), 1);
      ++accepted;
    } catch (const std::invalid_argument&) {
      ++refused;
    } catch (const std::exception& e) {
      ++other;
      std::printf("  unexpected exception: %s\n", e.what());
    }
  }
  RANVIER_CHECK(other == 0, "%d mutations raised something other than invalid_argument", other);
  RANVIER_CHECK(accepted > 0 && refused > 0, "accepted %d refused %d", accepted, refused);
  std::remove(path.c_str());
}

// Every file Model::save writes loads back: a model the loaders would refuse (more layers
// than a model file holds) is refused by save, which writes nothing.
RANVIER_TEST(save_refuses_a_model_no_loader_would_open) {
  const std::string path = "ranvier_test_io_too_many_layers.safetensors";
  std::remove(path.c_str());
  ranvier::Model m(1);
  m.input(2);
  for (std::size_t i = 0; i < ranvier::io::kMaxLayers + 1; ++i) m.add(ranvier::layers::Dense(2));
  bool refused = false;
  try {
    m.save(path);
  } catch (const std::invalid_argument& e) {
    refused = std::strstr(e.what(), "cannot be saved") != nullptr && std::strstr(e.what(), "at most 2048") != nullptr;
  }
  RANVIER_CHECK(refused, "%s", "save of 2049 layers was not refused with the loaders' reason");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  RANVIER_CHECK(f == nullptr, "%s", "a refused save wrote a file");
  if (f) std::fclose(f);
  ranvier::Model ok(1);
  ok.input(2);
  for (std::size_t i = 0; i < ranvier::io::kMaxLayers; ++i) ok.add(ranvier::layers::Dense(2));
  ok.save(path);
  const ranvier::Model back = ranvier::Model::load(path);
  RANVIER_CHECK(back.input_size() == 2, "input_size %lld", static_cast<long long>(back.input_size()));
  std::remove(path.c_str());
}
