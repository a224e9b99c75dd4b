// Functional (graph) models in the model file, through the C++ and C APIs: a 2-input,
// 2-output graph with a shared layer and merge layers, written as Keras's functional config,
// loaded, predicted against a double-precision reference written here, trained, saved,
// reloaded and resumed bit for bit; hostile graphs refused with std::invalid_argument.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/model_io.h"
#include "io/safetensors.h"
#include "ranvier/c_api.h"
#include "ranvier/model.hpp"
#include "testing.h"

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string tensor(const std::string& layer, int node, int width) {
  return R"({"class_name": "__keras_tensor__", "config": {"shape": [null, )" + std::to_string(width) +
         R"(], "dtype": "float32", "keras_history": [")" + layer + "\", " + std::to_string(node) + ", 0]}}";
}

std::string call(const std::string& arg) { return R"({"args": [)" + arg + R"(], "kwargs": {}})"; }

std::string layer(const std::string& cls, const std::string& name, const std::string& cfg, const std::string& nodes) {
  return R"({"module": "keras.layers", "class_name": ")" + cls + R"(", "name": ")" + name +
         R"(", "config": {"name": ")" + name + "\"" + (cfg.empty() ? "" : ", " + cfg) + R"(}, "inbound_nodes": [)" +
         nodes + "]}";
}

// a (3) -> d1 Dense(4, relu) -> shared Dense(4) -> s1
// b (2) -> e Dense(4, tanh)  -> shared (2nd call) -> s2
// out1 = Dense(2)(Concatenate([s1, s2])); out2 = Dense(1, sigmoid)(Add([s1, s2]))
struct Spec {
  std::string out1_input = "cat";  // mutations for the hostile cases
  int shared_second_node = 1;
};

std::string architecture(const Spec& s = Spec()) {
  const std::string layers =
      layer("InputLayer", "a", R"("batch_shape": [null, 3], "dtype": "float32")", "") + ", " +
      layer("InputLayer", "b", R"("batch_shape": [null, 2], "dtype": "float32")", "") + ", " +
      layer("Dense", "d1", R"("units": 4, "activation": "relu")", call(tensor("a", 0, 3))) + ", " +
      layer("Dense", "e", R"("units": 4, "activation": "tanh")", call(tensor("b", 0, 2))) + ", " +
      layer("Dense", "shared", R"("units": 4)", call(tensor("d1", 0, 4)) + ", " + call(tensor("e", 0, 4))) + ", " +
      layer("Concatenate", "cat", R"("axis": -1)",
            call("[" + tensor("shared", 0, 4) + ", " + tensor("shared", s.shared_second_node, 4) + "]")) + ", " +
      layer("Add", "add", "", call("[" + tensor("shared", 0, 4) + ", " + tensor("shared", 1, 4) + "]")) + ", " +
      layer("Dense", "out1", R"("units": 2)", call(tensor(s.out1_input, 0, 8))) + ", " +
      layer("Dense", "out2", R"("units": 1, "activation": "sigmoid")", call(tensor("add", 0, 4)));
  return R"({"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "g", )"
         R"("trainable": true, "layers": [)" + layers +
         R"(], "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["out1", 0, 0], ["out2", 0, 0]]}})";
}

struct Weights {
  std::vector<std::pair<std::string, std::vector<float>>> w;  // name -> values (shapes below)
  std::vector<float> get(const std::string& n) const {
    for (const auto& kv : w)
      if (kv.first == n) return kv.second;
    return {};
  }
};

const std::vector<std::pair<std::string, std::vector<std::int64_t>>> kShapes = {
    {"d1/kernel", {3, 4}}, {"d1/bias", {4}},   {"e/kernel", {2, 4}},    {"e/bias", {4}},   {"shared/kernel", {4, 4}},
    {"shared/bias", {4}},  {"out1/kernel", {8, 2}}, {"out1/bias", {2}}, {"out2/kernel", {4, 1}}, {"out2/bias", {1}}};

Weights make_weights() {
  Weights w;
  std::uint64_t s = 77;
  for (const auto& kv : kShapes) {
    std::int64_t n = 1;
    for (auto d : kv.second) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<float>((s >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
    w.w.emplace_back(kv.first, v);
  }
  return w;
}

void write_model(const std::string& path, const std::string& arch, const Weights& w, bool skip_last = false) {
  std::vector<ranvier::io::TensorOut> t;
  for (std::size_t i = 0; i < kShapes.size(); ++i) {
    if (skip_last && i + 1 == kShapes.size()) continue;
    t.push_back(ranvier::io::TensorOut{"layers/" + kShapes[i].first, kShapes[i].second, w.w[i].second.data()});
  }
  ranvier::io::write_file(path, t,
                          {{"format", "ranvier"}, {"format_version", "1"}, {"contents", "model"}, {"architecture", arch}});
}

// y = act(x W + b) in double
std::vector<double> dense(const std::vector<double>& x, std::size_t n, const std::vector<float>& k,
                          const std::vector<float>& b, std::size_t in, std::size_t out, const char* act) {
  std::vector<double> y(n * out);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < out; ++j) {
      double a = b[j];
      for (std::size_t i = 0; i < in; ++i) a += x[r * in + i] * static_cast<double>(k[i * out + j]);
      if (std::string(act) == "relu") a = a > 0 ? a : 0;
      if (std::string(act) == "tanh") a = std::tanh(a);
      if (std::string(act) == "sigmoid") a = 1.0 / (1.0 + std::exp(-a));
      y[r * out + j] = a;
    }
  return y;
}

void reference(const Weights& w, const std::vector<float>& a, const std::vector<float>& b, std::size_t n,
               std::vector<double>& o1, std::vector<double>& o2) {
  const std::vector<double> A(a.begin(), a.end()), B(b.begin(), b.end());
  const auto d1 = dense(A, n, w.get("d1/kernel"), w.get("d1/bias"), 3, 4, "relu");
  const auto e = dense(B, n, w.get("e/kernel"), w.get("e/bias"), 2, 4, "tanh");
  const auto s1 = dense(d1, n, w.get("shared/kernel"), w.get("shared/bias"), 4, 4, "linear");
  const auto s2 = dense(e, n, w.get("shared/kernel"), w.get("shared/bias"), 4, 4, "linear");
  std::vector<double> cat(n * 8), add(n * 4);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < 4; ++j) {
      cat[r * 8 + j] = s1[r * 4 + j];
      cat[r * 8 + 4 + j] = s2[r * 4 + j];
      add[r * 4 + j] = s1[r * 4 + j] + s2[r * 4 + j];
    }
  o1 = dense(cat, n, w.get("out1/kernel"), w.get("out1/bias"), 8, 2, "linear");
  o2 = dense(add, n, w.get("out2/kernel"), w.get("out2/bias"), 4, 1, "sigmoid");
}

std::vector<float> data(std::size_t count, std::uint64_t seed) {
  std::vector<float> v(count);
  for (auto& x : v) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>((seed >> 40) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

bool close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (std::fabs(got[i] - want[i]) > tol * (1.0 + std::fabs(want[i]))) return false;
  return true;
}

}  // namespace

RANVIER_TEST(graph_file_loads_and_predicts_two_inputs_two_outputs) {
  const std::string path = "ranvier_test_graph_io.safetensors";
  const Weights w = make_weights();
  write_model(path, architecture(), w);
  const ranvier::Model m = ranvier::Model::load(path);
  RANVIER_CHECK(m.num_inputs() == 2 && m.num_outputs() == 2, "counts %d %d", m.num_inputs(), m.num_outputs());
  RANVIER_CHECK(m.input_name(0) == "a" && m.input_name(1) == "b", "input names");
  RANVIER_CHECK(m.output_name(0) == "out1" && m.output_name(1) == "out2", "output names");
  RANVIER_CHECK(m.input_width(0) == 3 && m.input_width(1) == 2 && m.output_width(0) == 2 && m.output_width(1) == 1,
                "widths");
  RANVIER_CHECK(m.input_dtype(1) == "float32", "dtype");
  // The shared layer's weights are stored once.
  RANVIER_CHECK(m.weight_names().size() == kShapes.size(), "weights %zu", m.weight_names().size());
  const std::size_t n = 37;
  const auto a = data(n * 3, 1), b = data(n * 2, 2);
  std::vector<double> r1, r2;
  reference(w, a, b, n, r1, r2);
  const auto ys = m.predict(std::vector<std::vector<float>>{a, b}, 8);
  RANVIER_CHECK(ys.size() == 2 && close(ys[0], r1, 1e-5) && close(ys[1], r2, 1e-5), "predictions vs the reference");
  // Batch size does not change the numbers; the pointer form agrees.
  std::vector<float> o1(n * 2), o2(n);
  m.predict({a.data(), b.data()}, static_cast<std::int64_t>(n), {o1.data(), o2.data()}, 256);
  RANVIER_CHECK(o1 == ys[0] && o2 == ys[1], "predict(xs, n, outs) == predict(vectors)");
  try {
    m.predict(a, 32);
    RANVIER_CHECK(false, "single-input predict on a 2-input model");
  } catch (const std::invalid_argument& e) {
    RANVIER_CHECK(contains(e.what(), "2 input(s)"), "%s", e.what());
  }
  try {
    (void)m.predict(std::vector<std::vector<float>>{a, data(n * 2 + 2, 3)}, 8);
    RANVIER_CHECK(false, "rows mismatch");
  } catch (const std::invalid_argument& e) {
    RANVIER_CHECK(contains(e.what(), "input 'b'"), "%s", e.what());
  }

  // C API
  ranvier_model* cm = nullptr;
  RANVIER_CHECK(ranvier_model_load(path.c_str(), &cm) == RANVIER_OK, "%s", ranvier_last_error());
  RANVIER_CHECK(ranvier_model_num_inputs(cm) == 2 && ranvier_model_num_outputs(cm) == 2, "C counts");
  RANVIER_CHECK(std::string(ranvier_model_input_name(cm, 1)) == "b" && ranvier_model_input_name(cm, 2) == nullptr,
                "C names");
  RANVIER_CHECK(std::string(ranvier_model_output_name(cm, 0)) == "out1", "C output name");
  RANVIER_CHECK(ranvier_model_input_width(cm, 0) == 3 && ranvier_model_output_width(cm, 1) == 1 &&
                    ranvier_model_output_width(cm, 5) == 0,
                "C widths");
  const float* xs[2] = {a.data(), b.data()};
  std::vector<float> c1(n * 2), c2(n);
  float* outs[2] = {c1.data(), c2.data()};
  std::int64_t lens[2] = {static_cast<std::int64_t>(n * 2), static_cast<std::int64_t>(n)};
  RANVIER_CHECK(ranvier_model_predict_multi(cm, xs, 2, static_cast<std::int64_t>(n), outs, lens, 2) == RANVIER_OK,
                "%s", ranvier_last_error());
  RANVIER_CHECK(c1 == o1 && c2 == o2, "C predictions");
  lens[1] = static_cast<std::int64_t>(n) - 1;
  RANVIER_CHECK(ranvier_model_predict_multi(cm, xs, 2, static_cast<std::int64_t>(n), outs, lens, 2) ==
                    RANVIER_ERROR_INVALID_ARGUMENT && contains(ranvier_last_error(), "out2"),
                "%s", ranvier_last_error());
  RANVIER_CHECK(ranvier_model_predict_multi(cm, xs, 1, static_cast<std::int64_t>(n), outs, lens, 2) ==
                    RANVIER_ERROR_INVALID_ARGUMENT && contains(ranvier_last_error(), "2 input(s)"),
                "%s", ranvier_last_error());
  std::vector<float> one(n);
  RANVIER_CHECK(ranvier_model_predict(cm, a.data(), static_cast<std::int64_t>(n), one.data(),
                                      static_cast<std::int64_t>(n)) == RANVIER_ERROR_INVALID_ARGUMENT,
                "single predict refused");
  float enc = 0;
  const char* key = "x";
  RANVIER_CHECK(ranvier_model_encode_input_strings(cm, 0, &key, nullptr, 1, &enc, 1) == RANVIER_ERROR_INVALID_ARGUMENT &&
                    contains(ranvier_last_error(), "input 'a'"),
                "%s", ranvier_last_error());
  ranvier_model_free(cm);
  std::remove(path.c_str());
}

RANVIER_TEST(graph_model_trains_saves_and_resumes_exactly) {
  const std::string path = "ranvier_test_graph_train.safetensors", path2 = "ranvier_test_graph_train2.safetensors";
  write_model(path, architecture(), make_weights());
  const std::size_t n = 64;
  const auto a = data(n * 3, 5), b = data(n * 2, 6), y1 = data(n * 2, 7);
  std::vector<float> y2(n);
  for (std::size_t i = 0; i < n; ++i) y2[i] = a[i * 3] > 0 ? 1.0f : 0.0f;
  ranvier::FitOptions fo;
  fo.batch_size = 16;
  fo.epochs = 2;
  fo.seed = 3;
  const std::vector<const float*> xs = {a.data(), b.data()}, ys = {y1.data(), y2.data()};
  auto make = [&] {
    ranvier::Model m = ranvier::Model::load(path);
    m.compile({"adam", 0.01}, {{"mse"}, {"binary_crossentropy"}}, {1.0, 0.5});
    return m;
  };
  ranvier::Model m = make();
  const double before = m.evaluate(xs, ys, {2, 1}, static_cast<std::int64_t>(n));
  m.fit(xs, ys, {2, 1}, static_cast<std::int64_t>(n), fo);
  RANVIER_CHECK(m.evaluate(xs, ys, {2, 1}, static_cast<std::int64_t>(n)) < before, "training lowers the loss");
  RANVIER_CHECK(m.iterations() == 8, "iterations %lld", static_cast<long long>(m.iterations()));
  m.save(path2);
  ranvier::Model r = ranvier::Model::load(path2);
  RANVIER_CHECK(r.compiled() && r.iterations() == 8, "restored compile state");
  const auto pm = m.predict(std::vector<std::vector<float>>{a, b}), pr = r.predict(std::vector<std::vector<float>>{a, b});
  RANVIER_CHECK(pm == pr, "reloaded graph predicts bit for bit");
  fo.epochs = 1;
  m.fit(xs, ys, {2, 1}, static_cast<std::int64_t>(n), fo);
  r.fit(xs, ys, {2, 1}, static_cast<std::int64_t>(n), fo);
  ranvier::Model c = make();
  fo.epochs = 3;
  c.fit(xs, ys, {2, 1}, static_cast<std::int64_t>(n), fo);
  for (const auto& name : m.weight_names()) {
    RANVIER_CHECK(m.get_weight(name) == r.get_weight(name), "resumed weight %s differs", name.c_str());
    RANVIER_CHECK(m.get_weight(name) == c.get_weight(name), "fit 2+1 differs from fit 3 in %s", name.c_str());
  }
  std::remove(path.c_str());
  std::remove(path2.c_str());
}

RANVIER_TEST(hostile_graph_files_are_refused_naming_the_layer) {
  const std::string path = "ranvier_test_graph_hostile.safetensors";
  const Weights w = make_weights();
  struct Case {
    std::string arch;
    std::string expect;
    bool skip_last = false;
  };
  Spec cycle;
  cycle.out1_input = "out1";  // out1 called on its own output
  Spec unknown;
  unknown.out1_input = "nowhere";
  Spec bad_node;
  bad_node.shared_second_node = 2;  // 'shared' is called twice: nodes 0 and 1
  std::string swapped = architecture();
  swapped.replace(swapped.find(R"("input_layers": [["a", 0, 0], ["b", 0, 0]])"), 42,
                  R"("input_layers": [["a", 0, 0], ["zz", 0, 0]])");
  const std::vector<Case> cases = {
      {architecture(cycle), "cycle"},
      {architecture(unknown), "'nowhere', which is no layer"},
      {architecture(bad_node), "call 2 of layer 'shared', which is called 2 time(s)"},
      {swapped, "'zz'"},
      {architecture(), "'out2'", true},
  };
  for (const auto& c : cases) {
    write_model(path, c.arch, w, c.skip_last);
    try {
      (void)ranvier::Model::load(path);
      RANVIER_CHECK(false, "accepted: %s", c.expect.c_str());
    } catch (const std::invalid_argument& e) {
      RANVIER_CHECK(contains(e.what(), c.expect) && contains(e.what(), "invalid model file"), "%s (wanted %s)",
                    e.what(), c.expect.c_str());
    }
    // The check Python runs before it builds anything refuses it the same way.
    const auto f = ranvier::io::read_file(path);
    try {
      ranvier::io::check_model(f.header, true);
      RANVIER_CHECK(false, "check_model accepted: %s", c.expect.c_str());
    } catch (const std::invalid_argument& e) {
      RANVIER_CHECK(contains(e.what(), c.expect), "%s", e.what());
    }
  }
  std::remove(path.c_str());
}

// Random byte mutations of a graph model file through the whole C++ loader: only
// std::invalid_argument may come out, and whatever loads predicts without crashing.
RANVIER_TEST(graph_mutated_model_files_never_crash) {
  const std::string path = "ranvier_test_graph_mutations.safetensors";
  write_model(path, architecture(), make_weights());
  std::vector<std::uint8_t> base;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    int c;
    while ((c = std::fgetc(f)) != EOF) base.push_back(static_cast<std::uint8_t>(c));
    std::fclose(f);
  }
  std::remove(path.c_str());
  // mutate the header (where the architecture is) more than the weights
  const auto h0 = ranvier::io::parse_header(base.data(), base.size(), base.size());
  const std::size_t header_end = static_cast<std::size_t>(h0.data_start);
  std::uint64_t s = 2024;
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return s >> 33;
  };
  int accepted = 0, refused = 0, other = 0;
  for (int it = 0; it < 2000; ++it) {
    std::vector<std::uint8_t> b = base;
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = 8 + next() % (header_end - 8);
      switch (next() % 3) {
        case 0: b[pos] = static_cast<std::uint8_t>("0123456789[]{}\",:abdeinoutlsh"[next() % 29]); break;
        case 1: b[pos] ^= static_cast<std::uint8_t>(1u << (next() % 8)); break;
        default: b[pos] = ' '; break;
      }
    }
    try {
      auto h = ranvier::io::parse_header(b.data(), b.size(), b.size());
      ranvier::io::File f;
      f.header = h;
      f.data.assign(b.begin() + static_cast<std::ptrdiff_t>(h.data_start), b.end());
      auto lm = ranvier::io::load_model(f);
      std::vector<std::vector<float>> xs;
      std::vector<const float*> px;
      std::vector<std::vector<float>> ys(static_cast<std::size_t>(lm.net->num_outputs()));
      std::vector<float*> py;
      for (int i = 0; i < lm.net->num_inputs(); ++i)
        xs.emplace_back(static_cast<std::size_t>(lm.net->input_features(i)) * 2, 0.25f);
      for (const auto& x : xs) px.push_back(x.data());
      for (int j = 0; j < lm.net->num_outputs(); ++j) {
        ys[static_cast<std::size_t>(j)].resize(static_cast<std::size_t>(lm.net->output_features(j)) * 2);
        py.push_back(ys[static_cast<std::size_t>(j)].data());
      }
      lm.net->predict(px, 2, py, 2);
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
}

// The C++ API builds the same graph (inputs, calls, a layer called again by name, merge
// layers, two outputs), trains it, saves it in Keras's functional layout, and loads it back.
RANVIER_TEST(cpp_api_builds_trains_and_saves_a_graph) {
  const std::string path = "ranvier_test_graph_built.safetensors";
  auto build = [] {
    ranvier::Model m(11);
    const auto a = m.add_input("a", {3}), b = m.add_input("b", {2});
    const auto d1 = m.call(ranvier::layers::Dense(4, "relu", true, "d1"), {a});
    const auto e = m.call(ranvier::layers::Dense(4, "tanh", true, "e"), {b});
    const auto s1 = m.call(ranvier::layers::Dense(4, "linear", true, "shared"), {d1});
    const auto s2 = m.call("shared", {e});
    const auto cat = m.call(ranvier::LayerSpec("Concatenate", R"({"axis": -1})"), {s1, s2});
    const auto add = m.call(ranvier::LayerSpec("Add", "{}"), {s1, s2});
    m.set_outputs({m.call(ranvier::layers::Dense(2, "linear", true, "out1"), {cat}),
                   m.call(ranvier::layers::Dense(1, "sigmoid", true, "out2"), {add})});
    return m;
  };
  ranvier::Model m = build();
  RANVIER_CHECK(m.num_inputs() == 2 && m.num_outputs() == 2 && m.output_name(1) == "out2", "structure");
  RANVIER_CHECK(m.weight_names().size() == kShapes.size(), "the shared layer holds one set of weights");
  // Its numbers are the reference graph's with its weights.
  Weights w;
  for (const auto& kv : kShapes) w.w.emplace_back(kv.first, m.get_weight(kv.first));
  const std::size_t n = 21;
  const auto a = data(n * 3, 8), b = data(n * 2, 9);
  std::vector<double> r1, r2;
  reference(w, a, b, n, r1, r2);
  const auto ys = m.predict(std::vector<std::vector<float>>{a, b});
  RANVIER_CHECK(close(ys[0], r1, 1e-5) && close(ys[1], r2, 1e-5), "built graph vs the reference");
  std::vector<float> y1 = data(n * 2, 10), y2(n, 1.0f);
  m.compile({"sgd", 0.05}, {{"mse"}, {"binary_crossentropy"}}, {});
  ranvier::FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = 8;
  m.fit({a.data(), b.data()}, {y1.data(), y2.data()}, {2, 1}, static_cast<std::int64_t>(n), fo);
  m.save(path);
  const ranvier::Model r = ranvier::Model::load(path);
  RANVIER_CHECK(r.compiled() && r.iterations() == m.iterations(), "compile state");
  RANVIER_CHECK(r.predict(std::vector<std::vector<float>>{a, b}) == m.predict(std::vector<std::vector<float>>{a, b}),
                "reloaded predictions");
  std::remove(path.c_str());
  // Misuse is refused where it happens.
  ranvier::Model bad(1);
  const auto x = bad.add_input("x", {2});
  try {
    bad.call("nope", {x});
    RANVIER_CHECK(false, "unknown layer called");
  } catch (const std::invalid_argument& e) {
    RANVIER_CHECK(contains(e.what(), "'nope'"), "%s", e.what());
  }
  try {
    bad.add(ranvier::layers::Dense(1));
    RANVIER_CHECK(false, "add on a functional model");
  } catch (const std::logic_error& e) {
    RANVIER_CHECK(contains(e.what(), "call()"), "%s", e.what());
  }
  try {
    bad.call(ranvier::layers::Dense(1), {ranvier::Model::Tensor{5, 0}});
    RANVIER_CHECK(false, "foreign tensor");
  } catch (const std::invalid_argument& e) {
    RANVIER_CHECK(contains(e.what(), "not one of this model's"), "%s", e.what());
  }
}
