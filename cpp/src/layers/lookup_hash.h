// layers/lookup_hash: the hashes Keras's lookup layers put out-of-vocabulary keys into OOV
// buckets with (num_oov_indices > 1), reproduced bit for bit, and the hash tables the
// lookup layers find their keys in.
// - fingerprint64: FarmHash's Fingerprint64 (farmhashna::Hash64), what TensorFlow's
//   tf.strings.to_hash_bucket_fast uses: bucket = fingerprint64(bytes) % num_buckets.
// - siphash24: SipHash-2-4 with a 128-bit key (k0, k1), what tf.strings.to_hash_bucket_strong
//   uses with key=[k0, k1] (Keras's `salt`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ranvier {
namespace lookup_hash {

std::uint64_t fingerprint64(const char* s, std::size_t len);
std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1, const char* s, std::size_t len);

// Keys -> dense ids 0..size()-1 (insertion order), open addressing. find() returns -1 for
// an absent key. insert() returns false when the key is already present.
class StringTable {
 public:
  void reserve(std::size_t n);
  bool insert(std::string_view key);
  std::int64_t find(std::string_view key) const;
  std::size_t size() const { return off_.size() - 1; }
  std::string_view key(std::size_t i) const {
    return std::string_view(blob_.data() + off_[i], static_cast<std::size_t>(off_[i + 1] - off_[i]));
  }

 private:
  void rehash(std::size_t slots);
  std::string blob_;
  std::vector<std::uint64_t> off_{0};
  std::vector<std::uint64_t> hash_;   // per key
  // (high 32 bits of the key's hash) << 32 | (id + 1); 0: empty. One cache line per probe
  // before the key's bytes are compared.
  std::vector<std::uint64_t> slots_;
};

class IntTable {
 public:
  void reserve(std::size_t n);
  bool insert(std::int64_t key);
  std::int64_t find(std::int64_t key) const;
  std::size_t size() const { return keys_.size(); }
  std::int64_t key(std::size_t i) const { return keys_[i]; }

 private:
  void rehash(std::size_t slots);
  std::vector<std::int64_t> keys_;
  std::vector<std::int32_t> slots_;
};

}  // namespace lookup_hash
}  // namespace ranvier
