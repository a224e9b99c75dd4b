#include "layers/lookup_hash.h"

#include <cstring>
#include <utility>

namespace ranvier {
namespace lookup_hash {

namespace {

// ---------------------------------------------------------------- FarmHash (farmhashna)
constexpr std::uint64_t k0 = 0xc3a5c85c97cb3127ULL;
constexpr std::uint64_t k1 = 0xb492b66fbe98f273ULL;
constexpr std::uint64_t k2 = 0x9ae16a3b2f90404fULL;

inline std::uint64_t fetch64(const char* p) {  // little-endian, as farmhash on x86/ARM
  std::uint64_t r;
  std::memcpy(&r, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  r = __builtin_bswap64(r);
#endif
  return r;
}
inline std::uint32_t fetch32(const char* p) {
  std::uint32_t r;
  std::memcpy(&r, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  r = __builtin_bswap32(r);
#endif
  return r;
}
inline std::uint64_t rot(std::uint64_t v, int s) { return s == 0 ? v : (v >> s) | (v << (64 - s)); }
inline std::uint64_t shift_mix(std::uint64_t v) { return v ^ (v >> 47); }

inline std::uint64_t hash_len16(std::uint64_t u, std::uint64_t v, std::uint64_t mul) {
  std::uint64_t a = (u ^ v) * mul;
  a ^= (a >> 47);
  std::uint64_t b = (v ^ a) * mul;
  b ^= (b >> 47);
  b *= mul;
  return b;
}

std::uint64_t hash_len0to16(const char* s, std::size_t len) {
  if (len >= 8) {
    const std::uint64_t mul = k2 + len * 2;
    const std::uint64_t a = fetch64(s) + k2;
    const std::uint64_t b = fetch64(s + len - 8);
    const std::uint64_t c = rot(b, 37) * mul + a;
    const std::uint64_t d = (rot(a, 25) + b) * mul;
    return hash_len16(c, d, mul);
  }
  if (len >= 4) {
    const std::uint64_t mul = k2 + len * 2;
    const std::uint64_t a = fetch32(s);
    return hash_len16(len + (a << 3), fetch32(s + len - 4), mul);
  }
  if (len > 0) {
    const std::uint8_t a = static_cast<std::uint8_t>(s[0]);
    const std::uint8_t b = static_cast<std::uint8_t>(s[len >> 1]);
    const std::uint8_t c = static_cast<std::uint8_t>(s[len - 1]);
    const std::uint32_t y = static_cast<std::uint32_t>(a) + (static_cast<std::uint32_t>(b) << 8);
    const std::uint32_t z = static_cast<std::uint32_t>(len) + (static_cast<std::uint32_t>(c) << 2);
    return shift_mix(y * k2 ^ z * k0) * k2;
  }
  return k2;
}

std::uint64_t hash_len17to32(const char* s, std::size_t len) {
  const std::uint64_t mul = k2 + len * 2;
  const std::uint64_t a = fetch64(s) * k1;
  const std::uint64_t b = fetch64(s + 8);
  const std::uint64_t c = fetch64(s + len - 8) * mul;
  const std::uint64_t d = fetch64(s + len - 16) * k2;
  return hash_len16(rot(a + b, 43) + rot(c, 30) + d, a + rot(b + k2, 18) + c, mul);
}

std::uint64_t hash_len33to64(const char* s, std::size_t len) {
  const std::uint64_t mul = k2 + len * 2;
  const std::uint64_t a = fetch64(s) * k2;
  const std::uint64_t b = fetch64(s + 8);
  const std::uint64_t c = fetch64(s + len - 8) * mul;
  const std::uint64_t d = fetch64(s + len - 16) * k2;
  const std::uint64_t y = rot(a + b, 43) + rot(c, 30) + d;
  const std::uint64_t z = hash_len16(y, a + rot(b + k2, 18) + c, mul);
  const std::uint64_t e = fetch64(s + 16) * mul;
  const std::uint64_t f = fetch64(s + 24);
  const std::uint64_t g = (y + fetch64(s + len - 32)) * mul;
  const std::uint64_t h = (z + fetch64(s + len - 24)) * mul;
  return hash_len16(rot(e + f, 43) + rot(g, 30) + h, e + rot(f + a, 18) + g, mul);
}

inline std::pair<std::uint64_t, std::uint64_t> weak_hash32(std::uint64_t w, std::uint64_t x, std::uint64_t y,
                                                           std::uint64_t z, std::uint64_t a, std::uint64_t b) {
  a += w;
  b = rot(b + a + z, 21);
  const std::uint64_t c = a;
  a += x;
  a += y;
  b += rot(a, 44);
  return {a + z, b + c};
}

inline std::pair<std::uint64_t, std::uint64_t> weak_hash32(const char* s, std::uint64_t a, std::uint64_t b) {
  return weak_hash32(fetch64(s), fetch64(s + 8), fetch64(s + 16), fetch64(s + 24), a, b);
}

// ---------------------------------------------------------------- SipHash-2-4
inline void sip_round(std::uint64_t& v0, std::uint64_t& v1, std::uint64_t& v2, std::uint64_t& v3) {
  v0 += v1; v1 = rot(v1, 64 - 13); v1 ^= v0; v0 = rot(v0, 64 - 32);
  v2 += v3; v3 = rot(v3, 64 - 16); v3 ^= v2;
  v0 += v3; v3 = rot(v3, 64 - 21); v3 ^= v0;
  v2 += v1; v1 = rot(v1, 64 - 17); v1 ^= v2; v2 = rot(v2, 64 - 32);
}

inline std::uint64_t mix_int(std::uint64_t z) {  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::size_t slots_for(std::size_t n) {
  std::size_t s = 16;
  while (s < n * 2) s <<= 1;
  return s;
}

}  // namespace

std::uint64_t fingerprint64(const char* s, std::size_t len) {
  const std::uint64_t seed = 81;
  if (len <= 32) return len <= 16 ? hash_len0to16(s, len) : hash_len17to32(s, len);
  if (len <= 64) return hash_len33to64(s, len);
  std::uint64_t x = seed;
  std::uint64_t y = seed * k1 + 113;
  std::uint64_t z = shift_mix(y * k2 + 113) * k2;
  std::pair<std::uint64_t, std::uint64_t> v(0, 0), w(0, 0);
  x = x * k2 + fetch64(s);
  const char* end = s + ((len - 1) / 64) * 64;
  const char* last64 = end + ((len - 1) & 63) - 63;
  do {
    x = rot(x + y + v.first + fetch64(s + 8), 37) * k1;
    y = rot(y + v.second + fetch64(s + 48), 42) * k1;
    x ^= w.second;
    y += v.first + fetch64(s + 40);
    z = rot(z + w.first, 33) * k1;
    v = weak_hash32(s, v.second * k1, x + w.first);
    w = weak_hash32(s + 32, z + w.second, y + fetch64(s + 16));
    std::swap(z, x);
    s += 64;
  } while (s != end);
  const std::uint64_t mul = k1 + ((z & 0xff) << 1);
  s = last64;
  w.first += ((len - 1) & 63);
  v.first += w.first;
  w.first += v.first;
  x = rot(x + y + v.first + fetch64(s + 8), 37) * mul;
  y = rot(y + v.second + fetch64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + fetch64(s + 40);
  z = rot(z + w.first, 33) * mul;
  v = weak_hash32(s, v.second * mul, x + w.first);
  w = weak_hash32(s + 32, z + w.second, y + fetch64(s + 16));
  std::swap(z, x);
  return hash_len16(hash_len16(v.first, w.first, mul) + shift_mix(y) * k0 + z,
                    hash_len16(v.second, w.second, mul) + x, mul);
}

std::uint64_t siphash24(std::uint64_t key0, std::uint64_t key1, const char* s, std::size_t len) {
  std::uint64_t v0 = 0x736f6d6570736575ull ^ key0;
  std::uint64_t v1 = 0x646f72616e646f6dull ^ key1;
  std::uint64_t v2 = 0x6c7967656e657261ull ^ key0;
  std::uint64_t v3 = 0x7465646279746573ull ^ key1;
  const std::size_t full = len & ~std::size_t{7};
  for (std::size_t i = 0; i < full; i += 8) {
    const std::uint64_t m = fetch64(s + i);
    v3 ^= m;
    sip_round(v0, v1, v2, v3);
    sip_round(v0, v1, v2, v3);
    v0 ^= m;
  }
  std::uint64_t b = static_cast<std::uint64_t>(len) << 56;
  for (std::size_t i = full; i < len; ++i)
    b |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(s[i])) << (8 * (i - full));
  v3 ^= b;
  sip_round(v0, v1, v2, v3);
  sip_round(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) sip_round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

// ---------------------------------------------------------------- tables
void StringTable::reserve(std::size_t n) {
  off_.reserve(n + 1);
  hash_.reserve(n);
  if (slots_.size() < slots_for(n)) rehash(slots_for(n));
}

void StringTable::rehash(std::size_t slots) {
  slots_.assign(slots, 0);
  const std::uint64_t mask = slots - 1;
  for (std::size_t i = 0; i < hash_.size(); ++i) {
    std::uint64_t p = hash_[i] & mask;
    while (slots_[p] != 0) p = (p + 1) & mask;
    slots_[p] = (hash_[i] & 0xffffffff00000000ull) | (i + 1);
  }
}

std::int64_t StringTable::find(std::string_view k) const {
  if (slots_.empty()) return -1;
  const std::uint64_t h = fingerprint64(k.data(), k.size());
  const std::uint64_t hi = h & 0xffffffff00000000ull;
  const std::uint64_t mask = slots_.size() - 1;
  for (std::uint64_t p = h & mask;; p = (p + 1) & mask) {
    const std::uint64_t s = slots_[p];
    if (s == 0) return -1;
    if ((s & 0xffffffff00000000ull) == hi) {
      const std::size_t i = static_cast<std::size_t>((s & 0xffffffffull) - 1);
      if (key(i) == k) return static_cast<std::int64_t>(i);
    }
  }
}

bool StringTable::insert(std::string_view k) {
  if (find(k) >= 0) return false;
  if (slots_.size() < slots_for(size() + 1)) rehash(slots_for(size() + 1));
  const std::uint64_t h = fingerprint64(k.data(), k.size());
  const std::size_t i = size();
  blob_.append(k.data(), k.size());
  off_.push_back(blob_.size());
  hash_.push_back(h);
  const std::uint64_t mask = slots_.size() - 1;
  std::uint64_t p = h & mask;
  while (slots_[p] != 0) p = (p + 1) & mask;
  slots_[p] = (h & 0xffffffff00000000ull) | (i + 1);
  return true;
}

void IntTable::reserve(std::size_t n) {
  keys_.reserve(n);
  if (slots_.size() < slots_for(n)) rehash(slots_for(n));
}

void IntTable::rehash(std::size_t slots) {
  slots_.assign(slots, -1);
  const std::uint64_t mask = slots - 1;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    std::uint64_t p = mix_int(static_cast<std::uint64_t>(keys_[i])) & mask;
    while (slots_[p] >= 0) p = (p + 1) & mask;
    slots_[p] = static_cast<std::int32_t>(i);
  }
}

std::int64_t IntTable::find(std::int64_t k) const {
  if (slots_.empty()) return -1;
  const std::uint64_t mask = slots_.size() - 1;
  for (std::uint64_t p = mix_int(static_cast<std::uint64_t>(k)) & mask;; p = (p + 1) & mask) {
    const std::int32_t i = slots_[p];
    if (i < 0) return -1;
    if (keys_[static_cast<std::size_t>(i)] == k) return i;
  }
}

bool IntTable::insert(std::int64_t k) {
  if (find(k) >= 0) return false;
  if (slots_.size() < slots_for(size() + 1)) rehash(slots_for(size() + 1));
  const std::size_t i = keys_.size();
  keys_.push_back(k);
  const std::uint64_t mask = slots_.size() - 1;
  std::uint64_t p = mix_int(static_cast<std::uint64_t>(k)) & mask;
  while (slots_[p] >= 0) p = (p + 1) & mask;
  slots_[p] = static_cast<std::int32_t>(i);
  return true;
}

}  // namespace lookup_hash
}  // namespace ranvier
