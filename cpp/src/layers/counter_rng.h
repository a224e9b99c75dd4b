// layers/counter_rng: the counter-based random numbers of the layers that draw them in
// training (Dropout's masks, GaussianNoise's noise). A number is a pure function of
// (seed, step, element index): SplitMix64's output function of key + (index + 1) * golden,
// key = mix(seed ^ mix(step + golden)). No state is carried between calls, so the draws of
// a (seed, step) pair are the same at any thread count and on any machine.
#pragma once

#include <cstdint>

namespace ranvier {
namespace counter_rng {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key of one training step of one layer.
inline std::uint64_t call_key(std::uint64_t seed, std::uint64_t step) { return mix64(seed ^ mix64(step + kGolden)); }

// 64 random bits for element `index` under `key`.
inline std::uint64_t element_hash(std::uint64_t key, std::uint64_t index) { return mix64(key + (index + 1) * kGolden); }

// The seed of the `call`-th call (0-based, in the graph's node order) of one random layer
// object: a layer called twice in a graph draws independent masks or noise per call, as
// Keras's seed generator advances per call. Call 0 keeps the layer's seed.
inline std::uint64_t call_seed(std::uint64_t seed, std::uint64_t call) {
  return call == 0 ? seed : mix64(seed + call * kGolden);
}

}  // namespace counter_rng
}  // namespace ranvier
