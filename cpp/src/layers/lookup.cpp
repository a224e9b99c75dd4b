// IntegerLookup and StringLookup: see layers/lookup.h. The vocabulary is in the config
// ("vocabulary", Keras's layout), so the model file holds it; the rows below read it.
#include "layers/lookup.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layer_table.h"
#include "layers/parallel.h"

namespace ranvier {

namespace {

constexpr std::int64_t kMaxDepth = std::int64_t{1} << 24;  // indices travel as exact float32

// A key for a message: printable ASCII as is, other bytes as \xNN, cut after 60 bytes.
std::string shown_key(std::string_view k) {
  std::string s = "'";
  const std::size_t n = std::min<std::size_t>(k.size(), 60);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(k[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      s += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      s += "\\x";
      s += hex[c >> 4];
      s += hex[c & 15];
    }
  }
  if (k.size() > n) s += "...";
  return s + "'";
}
std::string shown_key(std::int64_t k) { return std::to_string(k); }

std::int64_t floormod(std::int64_t x, std::int64_t m) {
  const std::int64_t r = x % m;
  return r < 0 ? r + m : r;
}

}  // namespace

IndexLookup::IndexLookup(Config c) : cfg_(std::move(c)) {
  oov_start_ = (cfg_.has_mask && cfg_.mode == Mode::int_) ? 1 : 0;
  token_start_ = oov_start_ + cfg_.num_oov_indices;
  if (cfg_.strings) {
    strings_.reserve(cfg_.string_tokens.size());
    for (const auto& t : cfg_.string_tokens)
      if (!strings_.insert(t)) throw std::invalid_argument("the vocabulary repeats " + shown_key(t));
    cfg_.string_tokens.clear();
    cfg_.string_tokens.shrink_to_fit();
  } else {
    ints_.reserve(cfg_.int_tokens.size());
    for (const auto t : cfg_.int_tokens)
      if (!ints_.insert(t)) throw std::invalid_argument("the vocabulary repeats " + shown_key(t));
    cfg_.int_tokens.clear();
    cfg_.int_tokens.shrink_to_fit();
  }
  if (cfg_.mode == Mode::int_) cfg_.depth = vocabulary_size();
}

std::int64_t IndexLookup::build(std::int64_t in_features) {
  if (in_features <= 0)
    throw std::invalid_argument(std::string(type_name()) + ": input must have at least one feature, got " +
                                std::to_string(in_features));
  in_ = in_features;
  if (cfg_.mode == Mode::int_) out_ = in_;
  else if (cfg_.mode == Mode::one_hot) {
    if (in_ > (std::int64_t{1} << 40) / cfg_.depth)
      throw std::invalid_argument(std::string(type_name()) + ": output_mode=\"one_hot\" of " + std::to_string(in_) +
                                  " values per sample at depth " + std::to_string(cfg_.depth) +
                                  " is more than 2**40 outputs per sample");
    out_ = in_ * cfg_.depth;
  } else {
    out_ = cfg_.depth;
  }
  return out_;
}

std::int64_t IndexLookup::index_of(std::string_view key) const {
  if (cfg_.has_mask && key == cfg_.mask_string) return cfg_.mode == Mode::int_ ? 0 : -1;
  const std::int64_t i = strings_.find(key);
  if (i >= 0) return token_start_ + i;
  const std::int64_t m = cfg_.num_oov_indices;
  if (m == 0) return -2;
  if (m == 1) return oov_start_;
  const std::uint64_t h = cfg_.salted ? lookup_hash::siphash24(cfg_.salt0, cfg_.salt1, key.data(), key.size())
                                      : lookup_hash::fingerprint64(key.data(), key.size());
  return oov_start_ + static_cast<std::int64_t>(h % static_cast<std::uint64_t>(m));
}

std::int64_t IndexLookup::index_of(std::int64_t key) const {
  if (cfg_.has_mask && key == cfg_.mask_int) return cfg_.mode == Mode::int_ ? 0 : -1;
  const std::int64_t i = ints_.find(key);
  if (i >= 0) return token_start_ + i;
  const std::int64_t m = cfg_.num_oov_indices;
  if (m == 0) return -2;
  if (m == 1) return oov_start_;
  if (!cfg_.hash_ints) return oov_start_ + floormod(key, m);
  const std::string text = std::to_string(key);  // tf.strings.as_string
  const std::uint64_t h = cfg_.salted ? lookup_hash::siphash24(cfg_.salt0, cfg_.salt1, text.data(), text.size())
                                      : lookup_hash::fingerprint64(text.data(), text.size());
  return oov_start_ + static_cast<std::int64_t>(h % static_cast<std::uint64_t>(m));
}

template <class Key, class Out>
void IndexLookup::encode_impl(const Key* keys, std::int64_t n, Out* out) const {
  if (n <= 0) return;
  std::atomic<std::int64_t> first_bad{n};
  layers_detail::parallel_ranges(n, 64, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t i = r0; i < r1; ++i) {
      const std::int64_t k = index_of(keys[i]);
      if (k == -2) {
        std::int64_t cur = first_bad.load();
        while (i < cur && !first_bad.compare_exchange_weak(cur, i)) {
        }
        out[i] = static_cast<Out>(-1);
        continue;
      }
      out[i] = static_cast<Out>(k);
    }
  });
  const std::int64_t bad = first_bad.load();
  if (bad < n)
    throw std::invalid_argument(std::string(type_name()) + ": When `num_oov_indices=0` all inputs should be in "
                                "vocabulary, found OOV values [" + shown_key(keys[bad]) +
                                "], consider setting `num_oov_indices=1`.");
}

void IndexLookup::encode(const std::string_view* keys, std::int64_t n, float* out) const {
  if (!cfg_.strings)
    throw std::invalid_argument("IntegerLookup: the keys must be integers (int64), got strings");
  encode_impl(keys, n, out);
}

void IndexLookup::encode(const std::string* keys, std::int64_t n, float* out) const {
  if (!cfg_.strings)
    throw std::invalid_argument("IntegerLookup: the keys must be integers (int64), got strings");
  std::vector<std::string_view> v(keys, keys + (n > 0 ? n : 0));
  encode_impl(v.data(), n, out);
}

void IndexLookup::encode(const std::int64_t* keys, std::int64_t n, float* out) const {
  if (cfg_.strings) throw std::invalid_argument("StringLookup: the keys must be strings, got integers");
  encode_impl(keys, n, out);
}

void IndexLookup::encode_indices(const std::string_view* keys, std::int64_t n, std::int64_t* out) const {
  if (!cfg_.strings)
    throw std::invalid_argument("IntegerLookup: the keys must be integers (int64), got strings");
  encode_impl(keys, n, out);
}

void IndexLookup::encode_indices(const std::int64_t* keys, std::int64_t n, std::int64_t* out) const {
  if (cfg_.strings) throw std::invalid_argument("StringLookup: the keys must be strings, got integers");
  encode_impl(keys, n, out);
}

void IndexLookup::bad_index(float v) const {
  const bool encoded_mask = cfg_.mode != Mode::int_;
  throw std::invalid_argument(std::string(type_name()) + ": got index " + cfg::shown(static_cast<double>(v)) +
                              "; its inputs are the indices its encode step gives (integers in [0, " +
                              std::to_string(cfg_.depth) + ")" + (encoded_mask ? ", or -1 for the mask" : "") +
                              "): pass the raw keys to the model, which encodes them first");
}

double IndexLookup::forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) {
  (void)ctx;
  const std::int64_t total = batch * in_;
  const float depth = static_cast<float>(cfg_.depth);
  const bool allow_mask = cfg_.mode != Mode::int_;
  for (std::int64_t i = 0; i < total; ++i) {  // validate first: no out-of-bounds write, ever
    const float v = x[i];
    if (!(v >= 0.0f && v < depth && v == std::floor(v)) && !(allow_mask && v == -1.0f)) bad_index(v);
  }
  const std::int64_t in = in_, out = out_, d = cfg_.depth;
  const Mode mode = cfg_.mode;
  const float* idf = cfg_.idf_weights.empty() ? nullptr : cfg_.idf_weights.data();
  if (mode == Mode::int_) {
    if (x != y && total > 0) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(total));
    return 0.0;
  }
  layers_detail::parallel_ranges(batch, in + out, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * in;
      float* yr = y + r * out;
      std::fill(yr, yr + out, 0.0f);
      for (std::int64_t j = 0; j < in; ++j) {
        if (xr[j] < 0.0f) continue;  // the mask
        const std::int64_t k = static_cast<std::int64_t>(xr[j]);
        switch (mode) {
          case Mode::one_hot: yr[j * d + k] = 1.0f; break;
          case Mode::multi_hot: yr[k] = 1.0f; break;
          default: yr[k] += 1.0f; break;  // count, tf_idf
        }
      }
      if (mode == Mode::tf_idf && idf)
        for (std::int64_t k = 0; k < out; ++k) yr[k] *= idf[k];
    }
  });
  return 0.0;
}

void IndexLookup::backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) {
  (void)x; (void)y; (void)dy; (void)pre;
  if (dx && batch > 0) std::memset(dx, 0, sizeof(float) * static_cast<std::size_t>(batch * in_));
}

// ---------------------------------------------------------------- config
namespace {

using json::Value;

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

IndexLookup::Mode mode_of(const Value& c, const std::string& cls) {
  const Value* m = c.find("output_mode");
  if (!m || m->is_null()) return IndexLookup::Mode::int_;
  if (m->is_string()) {
    const std::string& s = m->as_string();
    if (s == "int") return IndexLookup::Mode::int_;
    if (s == "one_hot") return IndexLookup::Mode::one_hot;
    if (s == "multi_hot" || s == "binary") return IndexLookup::Mode::multi_hot;
    if (s == "count") return IndexLookup::Mode::count;
    if (s == "tf_idf" || s == "tf-idf") return IndexLookup::Mode::tf_idf;
  }
  fail("Unknown value for `output_mode` argument of " + cls + ". Allowed values are: ('int', 'one_hot', "
       "'multi_hot', 'count', 'tf_idf'). Received: output_mode=" + (m->is_string() ? m->as_string() : cfg::shown(*m)));
}

const char* mode_name(IndexLookup::Mode m) {
  switch (m) {
    case IndexLookup::Mode::int_: return "int";
    case IndexLookup::Mode::one_hot: return "one_hot";
    case IndexLookup::Mode::multi_hot: return "multi_hot";
    case IndexLookup::Mode::count: return "count";
    default: return "tf_idf";
  }
}

// An optional integer argument (null: `def`).
bool read_int(const Value& c, const char* key, std::int64_t& out, const std::string& where) {
  const Value* v = c.find(key);
  if (!v || v->is_null()) return false;
  if (!v->is_number()) fail(where + ": `" + key + "` must be an integer, got " + cfg::shown(*v));
  try {
    out = v->as_int(key);
  } catch (const std::invalid_argument&) {
    fail(where + ": `" + key + "` must be an integer in the int64 range, got " + cfg::shown(*v));
  }
  return true;
}

// A token of the layer's key type: a string (StringLookup) or an int64 (IntegerLookup).
struct Token {
  bool null = true;
  std::string s;
  std::int64_t i = 0;
  bool operator==(const Token& o) const { return null == o.null && s == o.s && i == o.i; }
};

Token read_token(const Value& v, bool strings, const std::string& what, const std::string& where) {
  Token t;
  if (v.is_null()) return t;
  t.null = false;
  if (strings) {
    if (!v.is_string()) fail(where + ": " + what + " must be a string, got " + cfg::shown(v));
    t.s = v.as_string();
  } else {
    if (!v.is_number()) fail(where + ": " + what + " must be an integer, got " + cfg::shown(v));
    try {
      t.i = v.as_int("token");
    } catch (const std::invalid_argument&) {
      fail(where + ": " + what + " must be an integer in the int64 range, got " + cfg::shown(v));
    }
  }
  return t;
}

std::string token_text(const Token& t, bool strings) {
  if (t.null) return "None";
  return strings ? shown_key(t.s) : std::to_string(t.i);
}

IndexLookup::Config parse_config(const Value& c, bool strings, const std::string& where) {
  const std::string cls = strings ? "StringLookup" : "IntegerLookup";
  IndexLookup::Config k;
  k.strings = strings;
  k.mode = mode_of(c, cls);
  if (cfg::get_bool(c, "invert", false, where))
    fail(where + ": invert=True maps indices back to keys (" + (strings ? "strings" : "int64 keys") +
         "), which do not flow through ranvier's float32 network; call the layer directly on NumPy data "
         "instead (an inverted layer cannot be part of a model)");
  if (cfg::get_bool(c, "sparse", false, where))
    fail(where + ": `sparse=True` cannot be used with ranvier (dense outputs only). Received: sparse=True");
  if (!strings) {
    const Value* vd = c.find("vocabulary_dtype");
    if (vd && !vd->is_null() && !(vd->is_string() && vd->as_string() == "int64"))
      fail("Only `vocabulary_dtype='int64'` is supported at this time. Received: vocabulary_dtype=" + cfg::shown(*vd));
  }
  std::int64_t max_tokens = 0;
  const bool has_max = read_int(c, "max_tokens", max_tokens, where);
  if (has_max && max_tokens <= 1)
    fail("If set, `max_tokens` must be greater than 1. Received: max_tokens=" + std::to_string(max_tokens));
  const bool pad = cfg::get_bool(c, "pad_to_max_tokens", false, where);
  if (pad && !has_max) fail("If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None");
  std::int64_t num_oov = 1;
  read_int(c, "num_oov_indices", num_oov, where);
  if (num_oov < 0)
    fail("`num_oov_indices` must be greater than or equal to 0. Received: num_oov_indices=" + std::to_string(num_oov));
  if (num_oov >= kMaxDepth) fail(where + ": num_oov_indices=" + std::to_string(num_oov) + " is more than 2**24");
  k.num_oov_indices = num_oov;
  std::string oov_method = "floormod";
  if (const Value* om = c.find("oov_method"); om && !om->is_null()) {
    if (!om->is_string() || (om->as_string() != "floormod" && om->as_string() != "farmhash"))
      fail("Unknown value for `oov_method` argument of " + cls + ". Allowed values are: ('floormod', 'farmhash'). "
           "Received: oov_method=" + (om->is_string() ? om->as_string() : cfg::shown(*om)));
    oov_method = om->as_string();
  }
  k.hash_ints = !strings && oov_method == "farmhash";
  if (const Value* salt = c.find("salt"); salt && !salt->is_null()) {
    if (!strings && oov_method != "farmhash")
      fail("`salt` can only be used when `oov_method='farmhash'`. Received: oov_method=" + oov_method);
    std::vector<const Value*> parts;
    if (salt->is_array() && salt->as_array().size() == 2) parts = {&salt->as_array()[0], &salt->as_array()[1]};
    else if (salt->is_number()) parts = {salt, salt};
    std::uint64_t s[2] = {0, 0};
    bool ok = parts.size() == 2;
    for (std::size_t i = 0; ok && i < 2; ++i) {
      if (!parts[i]->is_number()) { ok = false; break; }
      try {
        s[i] = static_cast<std::uint64_t>(parts[i]->as_int("salt"));  // a negative salt wraps, as tf's uint64 key
      } catch (const std::invalid_argument&) {
        try {
          s[i] = parts[i]->as_uint("salt");
        } catch (const std::invalid_argument&) {
          ok = false;
        }
      }
    }
    if (!ok)
      fail("The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, or a single integer. "
           "Received: salt=" + cfg::shown(*salt));
    k.salted = true;
    k.salt0 = s[0];
    k.salt1 = s[1];
  }
  const Value* mask_v = c.find("mask_token");
  const Token mask = mask_v ? read_token(*mask_v, strings, "`mask_token`", where) : Token();
  const Value* oov_v = c.find("oov_token");
  Token oov;
  if (!oov_v) {
    oov.null = false;
    if (strings) oov.s = "[UNK]";
    else oov.i = -1;
  } else {
    oov = read_token(*oov_v, strings, "`oov_token`", where);
  }
  k.has_mask = !mask.null;
  k.mask_string = mask.s;
  k.mask_int = mask.i;
  const std::int64_t oov_start = (k.has_mask && k.mode == IndexLookup::Mode::int_) ? 1 : 0;
  const std::int64_t token_start = oov_start + num_oov;

  const Value* vocab = c.find("vocabulary");
  const bool no_vocab = !vocab || vocab->is_null();
  if (no_vocab && k.mode == IndexLookup::Mode::int_)
    fail(where + ": the layer has no vocabulary: pass `vocabulary` or call `adapt(data)` before using it");
  if (no_vocab)
    fail("When using `output_mode=" + std::string(mode_name(k.mode)) + "` and `pad_to_max_tokens=False`, you must "
         "set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call "
         "`adapt` with some sample data.");
  if (!no_vocab && vocab->is_string())
    fail(where + ": a vocabulary file path is not supported here; pass the vocabulary as a list");
  if (!no_vocab && !vocab->is_array()) fail(where + ": `vocabulary` must be a list, got " + cfg::shown(*vocab));
  static const std::vector<Value> kNone;
  const auto& items = no_vocab ? kNone : vocab->as_array();
  if (!no_vocab && items.empty()) fail("Cannot set an empty vocabulary. Received: vocabulary=[]");
  std::vector<Token> all;
  all.reserve(items.size());
  for (const auto& v : items) {
    if (v.is_null()) fail(where + ": `vocabulary` holds a null");
    all.push_back(read_token(v, strings, "each `vocabulary` entry", where));
  }
  // Keras: a vocabulary may start with exactly the special tokens, else they are prepended.
  bool found_special = !no_vocab && static_cast<std::int64_t>(all.size()) >= token_start;
  for (std::int64_t i = 0; found_special && i < token_start; ++i)
    found_special = all[static_cast<std::size_t>(i)] == (i < oov_start ? mask : oov);
  const std::size_t first = found_special ? static_cast<std::size_t>(token_start) : 0;
  if (k.has_mask)
    for (std::size_t i = first; i < all.size(); ++i)
      if (all[i] == mask)
        fail("Found reserved mask token at unexpected location in `vocabulary`. Note that passed `vocabulary` does "
             "not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or include them "
             "only at the start of the vocabulary in precisely this order. Received: mask_token=" +
             token_text(mask, strings) + " at vocabulary index " + std::to_string(i));
  const std::int64_t n_tokens = static_cast<std::int64_t>(all.size() - first);
  const std::int64_t vocab_size = token_start + n_tokens;
  if (has_max && vocab_size > max_tokens)
    fail("Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary size is " +
         std::to_string(vocab_size) + "; `max_tokens` is " + std::to_string(max_tokens) + ".");
  k.depth = pad ? max_tokens : vocab_size;
  if (k.depth > kMaxDepth || vocab_size > kMaxDepth)
    fail(where + ": a vocabulary of " + std::to_string(std::max(vocab_size, k.depth)) +
         " indices is more than ranvier's 2**24 (indices travel as exact float32)");
  if (k.depth < 1 && k.mode != IndexLookup::Mode::int_)
    fail(where + ": the layer encodes into 0 indices (no vocabulary and no OOV index)");
  for (std::size_t i = first; i < all.size(); ++i) {
    if (strings) k.string_tokens.push_back(std::move(all[i].s));
    else k.int_tokens.push_back(all[i].i);
  }
  const Value* idf = c.find("idf_weights");
  const bool has_idf = idf && !idf->is_null();
  if (k.mode == IndexLookup::Mode::tf_idf) {
    if (!has_idf)
      fail("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` argument must also "
           "be provided.");
    if (!idf->is_array()) fail(where + ": `idf_weights` must be a list of numbers");
    const auto& w = idf->as_array();
    if (w.size() != items.size())
      fail("`idf_weights` must be the same length as vocabulary. len(idf_weights) is " + std::to_string(w.size()) +
           "; len(vocabulary) is " + std::to_string(items.size()));
    std::vector<double> ws;
    double sum = 0.0;
    for (const auto& x : w) {
      if (!x.is_number()) fail(where + ": `idf_weights` must be a list of numbers, got " + cfg::shown(x));
      ws.push_back(x.as_double());
      sum += ws.back();
    }
    const float front = found_special ? 0.0f : static_cast<float>(sum / static_cast<double>(ws.size()));
    if (!found_special) k.idf_weights.assign(static_cast<std::size_t>(token_start), front);
    for (double x : ws) k.idf_weights.push_back(static_cast<float>(x));
    k.idf_weights.resize(static_cast<std::size_t>(k.depth), 0.0f);
  } else if (has_idf) {
    fail("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: idf_weights=" +
         cfg::shown(*idf) + " and output_mode=" + mode_name(k.mode));
  }
  return k;
}

template <bool Strings>
std::shared_ptr<Layer> lookup_from_config(const Value& c, const LayerArgs& a) {
  return std::make_shared<IndexLookup>(parse_config(c, Strings, a.where));
}

template <bool Strings>
std::uint64_t lookup_param_count(const Value& c, std::uint64_t in, std::uint64_t* out, const std::string& where) {
  const IndexLookup::Config k = parse_config(c, Strings, where);
  const auto d = static_cast<std::uint64_t>(k.depth);
  if (k.mode == IndexLookup::Mode::int_) *out = in;
  else if (k.mode == IndexLookup::Mode::one_hot) *out = sat_mul(in, d);
  else *out = d;
  return 0;
}

}  // namespace

const LayerRow layer_row_IntegerLookup = {"IntegerLookup", lookup_from_config<false>, lookup_param_count<false>,
                                          false};
const LayerRow layer_row_StringLookup = {"StringLookup", lookup_from_config<true>, lookup_param_count<true>, false};

}  // namespace ranvier
