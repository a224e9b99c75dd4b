// The layer table (cpp/src/layers/layers.def) through C++ alone: every row builds its class
// by name, unknown names list the known ones, the constructor checks give Keras's messages,
// and GaussianNoise (a row whose class lives only in its own .cpp) draws the same noise at
// any thread count and is the identity outside training.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/json.h"
#include "ranvier/model.hpp"
#include "layers/layer_table.h"
#include "layers/layers.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

using ranvier::json::Value;

std::string error_of(const std::string& cls, const Value& cfg) {
  try {
    ranvier::check_layer_config(cls, cfg);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

Value config(const char* key, Value v) {
  Value c = Value::make_object();
  c.set(key, std::move(v));
  return c;
}

ranvier::LayerArgs args(std::int64_t in, std::uint64_t seed = 0) {
  ranvier::LayerArgs a;
  a.in_features = in;
  a.seed = seed;
  a.where = "test";
  return a;
}

}  // namespace

RANVIER_TEST(every_row_builds_its_class_by_name) {
  std::set<std::string> seen;
  for (const auto* row : ranvier::layer_table()) {
    RANVIER_CHECK(seen.insert(row->class_name).second, "%s listed twice", row->class_name);
    RANVIER_CHECK(ranvier::find_layer_row(row->class_name) == row, "%s", row->class_name);
    Value c = Value::make_object();
    c.set("units", Value::make_int(3));
    c.set("rate", Value::make_number(0.5));
    c.set("stddev", Value::make_number(0.1));
    c.set("activation", Value::make_string("relu"));
    Value bins = Value::make_array();
    bins.push_back(Value::make_number(0.5));
    c.set("bin_boundaries", std::move(bins));  // Discretization
    c.set("input_dim", Value::make_int(5));    // Embedding
    c.set("output_dim", Value::make_int(2));
    c.set("num_tokens", Value::make_int(3));   // CategoryEncoding
    Value target = Value::make_array();
    target.push_back(Value::make_int(2));
    target.push_back(Value::make_int(-1));
    c.set("target_shape", std::move(target));  // Reshape
    c.set("n", Value::make_int(2));            // RepeatVector
    Value vocab = Value::make_array();             // the lookup layers: a vocabulary of their key type
    const bool strings = std::string(row->class_name) == "StringLookup";
    vocab.push_back(strings ? Value::make_string("a") : Value::make_int(7));
    c.set("vocabulary", std::move(vocab));
    c.set("axes", Value::make_int(1));             // Dot
    ranvier::LayerArgs a = args(4);
    const std::vector<std::vector<std::int64_t>> two_inputs = {{4}, {4}};
    if (row->merge_shape) a.input_shapes = &two_inputs;  // the merge layers take a list of inputs
    const std::vector<std::int64_t> steps_by_features = {2, 2};
    if (ranvier::layer_needs_sample_shape(row->class_name)) a.sample_shape = &steps_by_features;  // pooling
    const auto layer = ranvier::make_layer(row->class_name, c, a);
    RANVIER_CHECK(std::string(layer->type_name()) == row->class_name, "%s built %s", row->class_name,
                  layer->type_name());
    RANVIER_CHECK(layer->in_features() == 4, "%s", row->class_name);
  }
  RANVIER_CHECK(seen.count("GaussianNoise") == 1 && seen.count("Dense") == 1, "rows");
  RANVIER_CHECK(ranvier::find_layer_row("Conv2D") == nullptr, "unknown row");
  try {
    ranvier::make_layer("Conv2D", Value::make_object(), args(4));
    RANVIER_CHECK(false, "Conv2D built");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    RANVIER_CHECK(m.find("'Conv2D'") != std::string::npos && m.find(ranvier::layer_class_names()) != std::string::npos,
                  "%s", e.what());
  }
}

RANVIER_TEST(constructor_checks_give_keras_messages) {
  RANVIER_CHECK(error_of("Dropout", config("rate", Value::make_number(1.5))) ==
                    "Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                    "Received: rate=1.5",
                "%s", error_of("Dropout", config("rate", Value::make_number(1.5))).c_str());
  RANVIER_CHECK(error_of("Dropout", config("rate", Value::make_string("half"))).find("rate='half'") != std::string::npos,
                "string rate");
  RANVIER_CHECK(error_of("Dropout", config("rate", Value::make_number(0.25))).empty(), "valid rate");
  RANVIER_CHECK(error_of("Dense", config("units", Value::make_int(0))) ==
                    "Received an invalid value for `units`, expected a positive integer. Received: units=0",
                "%s", error_of("Dense", config("units", Value::make_int(0))).c_str());
  RANVIER_CHECK(error_of("Dense", config("units", Value::make_number(2.5))).find("units=2.5") != std::string::npos,
                "float units");
  RANVIER_CHECK(error_of("GaussianNoise", config("stddev", Value::make_number_any(NAN))).find("stddev=nan") !=
                    std::string::npos,
                "nan stddev");
  // the constructors themselves hold the checks
  bool threw = false;
  try {
    ranvier::Dropout d(-0.5f, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "Dropout(-0.5) constructed");
}

RANVIER_TEST(gaussian_noise_is_thread_independent_and_identity_at_inference) {
  const std::int64_t b = 2048, n = 48;
  std::vector<float> x(static_cast<std::size_t>(b * n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97) * 0.01f;
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 3, 4}) {
    ranvier::set_num_threads(threads);
    auto g = ranvier::make_layer("GaussianNoise", config("stddev", Value::make_number(0.5)), args(n, 77));
    g->reserve(b);
    std::vector<float> y(x.size());
    ranvier::ForwardCtx ctx;
    ctx.training = true;
    ctx.step = 5;
    g->forward(x.data(), y.data(), b, ctx);
    outs.push_back(y);
    ctx.training = false;
    g->forward(x.data(), y.data(), b, ctx);
    RANVIER_CHECK(std::memcmp(y.data(), x.data(), x.size() * sizeof(float)) == 0, "not the identity at inference");
    std::vector<float> dy(x.size(), 0.25f), dx(x.size(), 0.0f);
    g->backward(x.data(), y.data(), dy.data(), dx.data(), b, false);
    RANVIER_CHECK(dx == dy, "d/dx != 1");
  }
  ranvier::set_num_threads(0);
  RANVIER_CHECK(outs[0] == outs[1] && outs[0] == outs[2], "noise differs across thread counts");
  RANVIER_CHECK(outs[0] != x, "no noise in training");
}

RANVIER_TEST(cpp_api_adds_a_table_layer_by_name) {
  // The C++ API needs no function per layer: a LayerSpec names the row; a seeded row gets a
  // seed from the model's stream, saved with the file.
  const std::int64_t n = 32;
  std::vector<float> x(static_cast<std::size_t>(n * 4)), y(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 11) * 0.1f;
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 3);
  ranvier::Model m(5);
  m.input(4).add(ranvier::layers::Dense(6, "tanh")).add(ranvier::LayerSpec("GaussianNoise", "{\"stddev\": 0.3}"));
  m.add(ranvier::layers::Dense(1));
  m.compile({"adam", 0.01}, {"mse"});
  ranvier::FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = 8;
  m.fit(x.data(), y.data(), n, 1, fo);
  const std::string path = "test_layer_table_noise.safetensors";
  m.save(path);
  const ranvier::Model loaded = ranvier::Model::load(path);
  std::remove(path.c_str());
  RANVIER_CHECK(loaded.predict(x) == m.predict(x), "predict differs after load");
  std::string msg;
  try {
    ranvier::Model fresh(1);
    fresh.input(4).add(ranvier::LayerSpec("GaussianNoise", "{\"stddev\": 2}"));
  } catch (const std::invalid_argument& e) {
    msg = e.what();
  }
  RANVIER_CHECK(msg.find("Received: stddev=2") != std::string::npos, "stddev 2: '%s'", msg.c_str());
}

// Ids are checked before any read: an out-of-range or fractional id throws naming the layer,
// the value and the range; valid ids gather their rows.
RANVIER_TEST(embedding_validates_ids_and_gathers) {
  Value c = Value::make_object();
  c.set("input_dim", Value::make_int(3));
  c.set("output_dim", Value::make_int(2));
  auto layer = ranvier::make_layer("Embedding", c, args(2));
  std::vector<float> w = {0, 1, 10, 11, 20, 21}, dw(6, -1.0f);
  layer->bind({w.data()}, {dw.data()});
  layer->reserve(2);
  const float x[4] = {2, 0, 1, 1};
  float y[8] = {};
  layer->forward(x, y, 2, ranvier::ForwardCtx());
  const float want[8] = {20, 21, 0, 1, 10, 11, 10, 11};
  for (int i = 0; i < 8; ++i) RANVIER_CHECK(y[i] == want[i], "y[%d] = %g", i, y[i]);
  float dy[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  layer->backward(x, y, dy, nullptr, 2, false);
  const float dwant[6] = {1, 1, 2, 2, 1, 1};
  for (int i = 0; i < 6; ++i) RANVIER_CHECK(dw[i] == dwant[i], "dw[%d] = %g", i, dw[i]);
  for (float bad : {3.0f, -1.0f, 0.5f}) {
    const float xb[4] = {0, 1, bad, 0};
    try {
      layer->forward(xb, y, 2, ranvier::ForwardCtx());
      RANVIER_CHECK(false, "id %g accepted", bad);
    } catch (const std::invalid_argument& e) {
      const std::string m = e.what();
      RANVIER_CHECK(m.find("test: input id") == 0 && m.find("[0, 3)") != std::string::npos &&
                        m.find("sample 1, position 0") != std::string::npos, "%s", e.what());
    }
  }
}

// The C++ API builds an Embedding model by class name: its table starts uniform in
// [-0.05, 0.05] (Keras's default), it trains on integer ids held in floats, and a bad id
// is refused with the layer's message.
RANVIER_TEST(cpp_api_trains_an_embedding_model) {
  const std::int64_t n = 40;
  std::vector<float> x(static_cast<std::size_t>(n * 3)), y(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7) % 10);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 2);
  ranvier::Model m(3);
  m.input(3).add(ranvier::LayerSpec("Embedding", "{\"input_dim\": 10, \"output_dim\": 4}"));
  m.add(ranvier::LayerSpec("Flatten", "{}")).add(ranvier::layers::Dense(1));
  const std::vector<float> before = m.predict(x);
  m.compile({"adam", 0.01}, {"mse"});
  ranvier::FitOptions fo;
  fo.epochs = 3;
  fo.batch_size = 8;
  m.fit(x.data(), y.data(), n, 1, fo);
  RANVIER_CHECK(m.predict(x) != before, "training changed nothing");
  std::vector<float> bad(x.begin(), x.begin() + 3);
  bad[1] = 10.0f;
  std::string msg;
  try {
    m.predict(bad);
  } catch (const std::invalid_argument& e) {
    msg = e.what();
  }
  RANVIER_CHECK(msg.find("Embedding 'embedding': ") == 0 && msg.find("input id 10 (sample 0, position 1)") !=
                    std::string::npos && msg.find("[0, 10)") != std::string::npos,
                "'%s'", msg.c_str());
}

// GlobalAveragePooling1D / GlobalMaxPooling1D on a (3 steps, 2 features) sample: the mean and
// the maximum over the steps; the max gradient shares dy among tied steps (TensorFlow's rule);
// channels_first reduces the last axis; without the sample's shape the build is refused.
RANVIER_TEST(global_pooling_1d_forward_backward_and_shape) {
  const std::vector<std::int64_t> shape = {3, 2};
  ranvier::LayerArgs a = args(6);
  a.sample_shape = &shape;
  const float x[6] = {1, 2, 1, 5, 0, 5};  // steps (1, 2), (1, 5), (0, 5)
  float y[2] = {}, dx[6] = {};
  float dy[2] = {1, 1};
  auto avg = ranvier::make_layer("GlobalAveragePooling1D", Value::make_object(), a);
  RANVIER_CHECK(avg->out_features() == 2, "avg width %lld", static_cast<long long>(avg->out_features()));
  avg->forward(x, y, 1, ranvier::ForwardCtx());
  RANVIER_CHECK(y[0] == 2.0f / 3.0f && y[1] == 4.0f, "avg %g %g", y[0], y[1]);
  avg->backward(x, y, dy, dx, 1, false);
  for (int i = 0; i < 6; ++i) RANVIER_CHECK(dx[i] == 1.0f / 3.0f, "avg dx[%d] = %g", i, dx[i]);
  auto mx = ranvier::make_layer("GlobalMaxPooling1D", Value::make_object(), a);
  mx->forward(x, y, 1, ranvier::ForwardCtx());
  RANVIER_CHECK(y[0] == 1.0f && y[1] == 5.0f, "max %g %g", y[0], y[1]);
  mx->backward(x, y, dy, dx, 1, false);
  const float want[6] = {0.5f, 0, 0.5f, 0.5f, 0, 0.5f};
  for (int i = 0; i < 6; ++i) RANVIER_CHECK(dx[i] == want[i], "max dx[%d] = %g", i, dx[i]);
  auto cf = ranvier::make_layer("GlobalMaxPooling1D", config("data_format", Value::make_string("channels_first")), a);
  RANVIER_CHECK(cf->out_features() == 3, "channels_first width %lld", static_cast<long long>(cf->out_features()));
  float y3[3] = {};
  cf->forward(x, y3, 1, ranvier::ForwardCtx());
  RANVIER_CHECK(y3[0] == 2 && y3[1] == 5 && y3[2] == 5, "channels_first max %g %g %g", y3[0], y3[1], y3[2]);
  const auto out = ranvier::layer_output_sample_shape("GlobalAveragePooling1D",
                                                      config("keepdims", Value::make_bool(true)), shape, 0);
  RANVIER_CHECK(out == std::vector<std::int64_t>({1, 2}), "keepdims shape");
  try {
    ranvier::make_layer("GlobalAveragePooling1D", Value::make_object(), args(6));
    RANVIER_CHECK(false, "built without a sample shape");
  } catch (const std::invalid_argument& e) {
    RANVIER_CHECK(std::string(e.what()).find("per-sample shape") != std::string::npos, "%s", e.what());
  }
}

// The C++ API builds TensorFlow's text-classification model (Embedding, Dropout,
// GlobalAveragePooling1D, Dropout, Dense sigmoid) by class name: the loader tracks the
// (steps, features) shape from the Embedding to the pooling layer, and it trains.
RANVIER_TEST(cpp_api_trains_the_text_classification_model) {
  const std::int64_t n = 64, seq = 6;
  std::vector<float> x(static_cast<std::size_t>(n * seq)), y(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7 + i / 5) % 10);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 2);
  ranvier::Model m(5);
  m.input(seq).add(ranvier::LayerSpec("Embedding", "{\"input_dim\": 10, \"output_dim\": 4}"));
  m.add(ranvier::LayerSpec("Dropout", "{\"rate\": 0.2}"));
  m.add(ranvier::LayerSpec("GlobalAveragePooling1D", "{}"));
  m.add(ranvier::LayerSpec("Dropout", "{\"rate\": 0.2}"));
  m.add(ranvier::LayerSpec("Dense", "{\"units\": 1, \"activation\": \"sigmoid\"}"));
  const std::vector<float> before = m.predict(x);
  RANVIER_CHECK(before.size() == static_cast<std::size_t>(n), "output %zu values", before.size());
  m.compile({"adam", 0.01}, {"binary_crossentropy"});
  ranvier::FitOptions fo;
  fo.epochs = 2;
  fo.batch_size = 16;
  m.fit(x.data(), y.data(), n, 1, fo);
  RANVIER_CHECK(m.predict(x) != before, "training changed nothing");
}
