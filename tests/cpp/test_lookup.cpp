// IntegerLookup / StringLookup in C++ alone: the OOV hashes against values TensorFlow gives,
// encode (Keras's index layout, mask, OOV buckets), forward per output mode, the index checks,
// and the C++ API encoding raw strings for a model built in C++.
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/json.h"
#include "layers/layer_table.h"
#include "layers/lookup.h"
#include "layers/lookup_hash.h"
#include "ranvier/model.hpp"
#include "testing.h"

namespace {

using ranvier::json::Value;

Value strings(const std::vector<std::string>& v) {
  Value a = Value::make_array();
  for (const auto& s : v) a.push_back(Value::make_string(s));
  return a;
}

std::shared_ptr<ranvier::IndexLookup> lookup(const char* cls, Value cfg, std::int64_t in) {
  ranvier::LayerArgs a;
  a.in_features = in;
  a.where = "test";
  auto l = std::dynamic_pointer_cast<ranvier::IndexLookup>(ranvier::make_layer(cls, cfg, a));
  if (!l) throw std::logic_error("not a lookup");
  return l;
}

std::string error_of(const char* cls, const Value& cfg) {
  try {
    ranvier::check_layer_config(cls, cfg);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

RANVIER_TEST(lookup_hashes_match_tensorflow) {
  // tf.strings.to_hash_bucket_fast(s, 2**63 - 1) and to_hash_bucket_strong(s, 2**63 - 1, key=[1, 2])
  const std::vector<std::string> s = {"", "a", "hello", "[UNK]", "abcdefghijklmnopqrstuvwxyz0123456789",
                                      std::string(100, 'x')};
  const std::uint64_t fast[] = {1936946117179621456ull, 3694432073954588132ull, 3786372426573024489ull,
                                8599703842344042473ull, 8687174851251846139ull, 6590480085648050719ull};
  const std::uint64_t strong[] = {443797209252341628ull, 5158252350249958646ull, 2957200328589801622ull,
                                  5833591543435515331ull, 1050565319752141690ull, 1638981394980189463ull};
  const std::uint64_t m = (std::uint64_t{1} << 63) - 1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    RANVIER_CHECK(ranvier::lookup_hash::fingerprint64(s[i].data(), s[i].size()) % m == fast[i], "fast %zu", i);
    RANVIER_CHECK(ranvier::lookup_hash::siphash24(1, 2, s[i].data(), s[i].size()) % m == strong[i], "strong %zu", i);
  }
}

RANVIER_TEST(lookup_encodes_with_keras_layout) {
  // mask "" (index 0), 2 OOV slots (1, 2), vocabulary a, b, c (3, 4, 5)
  Value c = Value::make_object();
  c.set("vocabulary", strings({"a", "b", "c"}));
  c.set("mask_token", Value::make_string(""));
  c.set("num_oov_indices", Value::make_int(2));
  auto l = lookup("StringLookup", c, 1);
  RANVIER_CHECK(l->vocabulary_size() == 6, "size %lld", static_cast<long long>(l->vocabulary_size()));
  const std::vector<std::string> keys = {"a", "", "c", "zz", "b", "[UNK]"};
  std::vector<float> out(keys.size());
  l->encode(keys.data(), static_cast<std::int64_t>(keys.size()), out.data());
  RANVIER_CHECK(out[0] == 3 && out[1] == 0 && out[2] == 5 && out[4] == 4, "in-vocabulary keys");
  for (int i : {3, 5}) {
    const auto h = ranvier::lookup_hash::fingerprint64(keys[static_cast<std::size_t>(i)].data(),
                                                       keys[static_cast<std::size_t>(i)].size());
    RANVIER_CHECK(out[static_cast<std::size_t>(i)] == static_cast<float>(1 + h % 2), "OOV bucket of key %d", i);
  }
  // IntegerLookup: floormod buckets, with the mask at 0 (measured in Keras: 7->2, 8->1, 9->2, -3->2)
  Value ic = Value::make_object();
  Value iv = Value::make_array();
  for (int v : {10, 20, 30}) iv.push_back(Value::make_int(v));
  ic.set("vocabulary", iv);
  ic.set("mask_token", Value::make_int(0));
  ic.set("num_oov_indices", Value::make_int(2));
  auto il = lookup("IntegerLookup", ic, 1);
  const std::int64_t ik[] = {0, 10, 7, 8, 9, -3, 20};
  const float want[] = {0, 3, 2, 1, 2, 2, 4};
  float io[7];
  il->encode(ik, 7, io);
  for (int i = 0; i < 7; ++i) RANVIER_CHECK(io[i] == want[i], "key %d: %g", i, io[i]);
  bool threw = false;
  try {
    il->encode(keys.data(), 1, out.data());  // strings into an IntegerLookup
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "strings accepted by IntegerLookup");
}

RANVIER_TEST(lookup_forward_modes_and_index_checks) {
  Value c = Value::make_object();
  c.set("vocabulary", strings({"a", "b", "c"}));
  c.set("output_mode", Value::make_string("count"));
  c.set("mask_token", Value::make_string(""));
  auto l = lookup("StringLookup", c, 3);  // depth 4: [UNK], a, b, c (no mask slot outside int mode)
  RANVIER_CHECK(l->out_features() == 4, "count width");
  const std::vector<std::string> keys = {"a", "a", "", "zz", "c", "c"};
  std::vector<float> idx(6), y(8);
  l->encode(keys.data(), 6, idx.data());
  RANVIER_CHECK(idx[2] == -1.0f, "the mask encodes to -1 outside int mode");
  l->forward(idx.data(), y.data(), 2, ranvier::ForwardCtx());
  const float want[] = {0, 2, 0, 0, 1, 0, 0, 2};
  for (int i = 0; i < 8; ++i) RANVIER_CHECK(y[static_cast<std::size_t>(i)] == want[i], "count %d: %g", i, y[i]);
  // one_hot of 3 values per sample: 3 * depth wide
  c.set("output_mode", Value::make_string("one_hot"));
  auto oh = lookup("StringLookup", c, 3);
  RANVIER_CHECK(oh->out_features() == 12, "one_hot width");
  std::vector<float> y2(24);
  oh->forward(idx.data(), y2.data(), 2, ranvier::ForwardCtx());
  RANVIER_CHECK(y2[1] == 1 && y2[4 + 1] == 1 && y2[8 + 0] == 0 && y2[8 + 1] == 0, "one_hot rows");
  for (float bad : {4.0f, 1.5f, -2.0f, NAN}) {
    bool threw = false;
    float x[3] = {0, 1, bad};
    try {
      oh->forward(x, y2.data(), 1, ranvier::ForwardCtx());
    } catch (const std::invalid_argument& e) {
      threw = std::string(e.what()).find("StringLookup") != std::string::npos;
    }
    RANVIER_CHECK(threw, "index %g accepted", bad);
  }
}

RANVIER_TEST(lookup_config_checks) {
  Value c = Value::make_object();
  c.set("vocabulary", strings({"a", "b", "a"}));
  RANVIER_CHECK(error_of("StringLookup", c).find("repeat") != std::string::npos, "%s", error_of("StringLookup", c).c_str());
  c.set("vocabulary", strings({}));
  RANVIER_CHECK(error_of("StringLookup", c).find("empty vocabulary") != std::string::npos, "empty");
  c.set("vocabulary", strings({"a", "b", "c"}));
  c.set("max_tokens", Value::make_int(3));
  RANVIER_CHECK(error_of("StringLookup", c).find("larger than the maximum") != std::string::npos, "max_tokens");
  c.set("max_tokens", Value());
  c.set("invert", Value::make_bool(true));
  RANVIER_CHECK(error_of("StringLookup", c).find("invert") != std::string::npos, "invert");
  c.set("invert", Value::make_bool(false));
  c.set("mask_token", Value::make_string("b"));
  RANVIER_CHECK(error_of("StringLookup", c).find("mask token") != std::string::npos, "mask inside");
  c.set("mask_token", Value());
  c.set("vocabulary", Value());
  RANVIER_CHECK(error_of("StringLookup", c).find("vocabulary") != std::string::npos, "no vocabulary");
}

RANVIER_TEST(cpp_api_encodes_raw_strings) {
  ranvier::Model m(3);
  Value c = Value::make_object();
  c.set("name", Value::make_string("colour"));
  c.set("vocabulary", strings({"red", "green"}));
  c.set("output_mode", Value::make_string("one_hot"));
  m.input(1).add(ranvier::LayerSpec("StringLookup", ranvier::json::dump(c)))
      .add(ranvier::layers::Dense(2, "linear", true, "out"));
  const std::vector<std::string> keys = {"green", "blue", "red"};
  const std::vector<float> idx = m.encode_strings(keys);
  RANVIER_CHECK(idx.size() == 3 && idx[0] == 2 && idx[1] == 0 && idx[2] == 1, "indices");
  const char* raw[] = {"green", "blue", "red"};
  std::vector<float> idx2(3);
  m.encode_strings(raw, nullptr, 3, idx2.data(), "colour");
  RANVIER_CHECK(idx2 == idx, "char* keys");
  const std::vector<float> y = m.predict(idx);
  const std::vector<float> w = m.get_weight("out/kernel"), b = m.get_weight("out/bias");
  for (int r = 0; r < 3; ++r)
    for (int j = 0; j < 2; ++j) {
      const float want = w[static_cast<std::size_t>(idx[static_cast<std::size_t>(r)]) * 2 + static_cast<std::size_t>(j)] +
                         b[static_cast<std::size_t>(j)];
      RANVIER_CHECK(std::fabs(y[static_cast<std::size_t>(r * 2 + j)] - want) < 1e-6f, "row %d col %d", r, j);
    }
  bool threw = false;
  try {
    std::int64_t k = 1;
    float o = 0;
    m.encode_ints(&k, 1, &o);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "encode_ints on a StringLookup");
}

RANVIER_TEST(cpp_api_lookup_layer_specs_train_and_save) {
  ranvier::Model m(5);
  m.input(2).add(ranvier::layers::IntegerLookup({3, 17, 99}, "multi_hot")).add(ranvier::layers::Dense(1));
  const std::int64_t keys[] = {3, 17, 99, 5, 17, 17, 3, 99};
  std::vector<float> x(8);
  m.encode_ints(keys, 8, x.data());
  const float want[] = {1, 2, 3, 0, 2, 2, 1, 3};
  for (int i = 0; i < 8; ++i) RANVIER_CHECK(x[static_cast<std::size_t>(i)] == want[i], "key %d", i);
  const std::vector<float> y = {1, 0, 1, 0};
  m.compile({"sgd", 0.1}, {"mse"});
  ranvier::FitOptions fo;
  fo.epochs = 3;
  fo.batch_size = 2;
  m.fit(x.data(), y.data(), 4, 1, fo);
  const std::string path = "test_lookup_cpp.safetensors";
  m.save(path);
  ranvier::Model back = ranvier::Model::load(path);
  std::vector<float> x2(8);
  back.encode_ints(keys, 8, x2.data());
  RANVIER_CHECK(x2 == x, "the loaded model's vocabulary");
  RANVIER_CHECK(back.predict(x2) == m.predict(x), "the loaded model's predictions");
  std::remove(path.c_str());
  bool threw = false;
  try {
    ranvier::layers::StringLookup({"a", "a"});
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("repeat") != std::string::npos;
  }
  RANVIER_CHECK(threw, "a repeated term accepted");
}
