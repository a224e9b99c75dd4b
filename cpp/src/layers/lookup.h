// layers/lookup: IntegerLookup and StringLookup (keras.layers.IntegerLookup / StringLookup).
//
// Raw keys (strings, int64) never enter the float graph: `encode` maps a column of keys to
// indices before the graph (Python calls it through a binding once per fit/predict on the
// whole column; the C/C++ API on the raw inputs an app passes). The layer's forward then maps
// those indices (float32 holding exact integers) to its output_mode.
//
// Index layout (Keras's): [mask (int mode, when mask_token is set)] [num_oov_indices OOV
// slots] [vocabulary...]. A key of the vocabulary gets its index; the mask token gets 0 in
// "int" mode and is dropped (a zero row) in the other modes; any other key is out of
// vocabulary: with one OOV slot it gets that slot; with several, IntegerLookup puts key x in
// floormod(x, num_oov_indices) (oov_method="floormod") or hashes its decimal text
// ("farmhash"), StringLookup hashes its UTF-8 bytes: FarmHash64 fingerprint, or SipHash-2-4
// keyed by `salt` (as tf.strings.to_hash_bucket_fast / _strong), bucket = hash % num_oov;
// with no OOV slot an OOV key is an error (std::invalid_argument naming it).
//
// Forward, with depth = the vocabulary size (special slots included) or max_tokens when
// pad_to_max_tokens: "int" copies the indices (validated: integers in [0, depth)); "one_hot"
// gives depth values per input value (k inputs: k * depth, Keras's (batch, k, depth));
// "multi_hot" / "count" / "tf_idf" give depth values per sample (1 at / count of / count x idf
// weight of each index the sample holds). The encoded mask (-1) is dropped; any other value
// outside [0, depth) or not an integer is refused (std::invalid_argument naming the layer,
// the value and the range). No weights; dx = 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "layers/layer.h"
#include "layers/lookup_hash.h"

namespace ranvier {

class IndexLookup final : public Layer {
 public:
  enum class Mode { int_, one_hot, multi_hot, count, tf_idf };

  struct Config {
    bool strings = true;                   // StringLookup (else IntegerLookup)
    Mode mode = Mode::int_;
    std::int64_t num_oov_indices = 1;
    bool has_mask = false;
    std::string mask_string;               // StringLookup's mask_token
    std::int64_t mask_int = 0;             // IntegerLookup's mask_token
    bool hash_ints = false;                // IntegerLookup oov_method="farmhash"
    bool salted = false;                   // salt given: SipHash with (salt0, salt1)
    std::uint64_t salt0 = 0, salt1 = 0;
    std::int64_t depth = 0;                // encoding width (vocabulary size or max_tokens)
    std::vector<std::string> string_tokens;  // the vocabulary without special tokens
    std::vector<std::int64_t> int_tokens;
    std::vector<float> idf_weights;        // tf_idf: depth weights
  };

  explicit IndexLookup(Config c);

  const char* type_name() const override { return cfg_.strings ? "StringLookup" : "IntegerLookup"; }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return in_; }
  std::int64_t out_features() const override { return out_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch, bool pre) override;

  bool string_keys() const { return cfg_.strings; }
  Mode mode() const { return cfg_.mode; }
  // Vocabulary size with the special slots (Keras's vocabulary_size()).
  std::int64_t vocabulary_size() const { return token_start_ + static_cast<std::int64_t>(tokens()); }
  std::int64_t depth() const { return cfg_.depth; }

  // Keys -> indices. The mask token gives 0 in "int" mode and -1 (dropped) otherwise.
  // A StringLookup takes strings (string_view: any bytes; std::string), an IntegerLookup
  // int64 keys; the other kind throws std::invalid_argument. Runs over threads for large n.
  void encode(const std::string_view* keys, std::int64_t n, float* out) const;
  void encode(const std::string* keys, std::int64_t n, float* out) const;
  void encode(const std::int64_t* keys, std::int64_t n, float* out) const;
  // The same as int64 indices (Python's eager call returns int64).
  void encode_indices(const std::string_view* keys, std::int64_t n, std::int64_t* out) const;
  void encode_indices(const std::int64_t* keys, std::int64_t n, std::int64_t* out) const;

 private:
  std::size_t tokens() const { return cfg_.strings ? strings_.size() : ints_.size(); }
  std::int64_t index_of(std::string_view key) const;  // -2: OOV with no slot
  std::int64_t index_of(std::int64_t key) const;
  template <class Key, class Out>
  void encode_impl(const Key* keys, std::int64_t n, Out* out) const;
  [[noreturn]] void bad_index(float v) const;

  Config cfg_;
  std::int64_t oov_start_ = 0, token_start_ = 0;
  lookup_hash::StringTable strings_;
  lookup_hash::IntTable ints_;
  std::int64_t in_ = 0, out_ = 0;
};

}  // namespace ranvier
