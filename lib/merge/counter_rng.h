// Counter-based random numbers for DARE: every draw is a pure function of (seed, tensor, member,
// element), so results do not depend on thread count, scheduling or call order, and a test can
// recompute any draw independently. Generator: SplitMix64 (Steele, Lea, Flood 2014).
#pragma once

#include <cstdint>

namespace fw {
namespace rng {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// SplitMix64's output function.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Output i (0-based) of a SplitMix64 generator seeded with `state`, without stepping through
// outputs 0..i-1.
inline uint64_t splitmix64_at(uint64_t state, uint64_t i) {
  return mix64(state + (i + 1) * kGolden);
}

// Key of the stream used for (tensor index in base order, member index in pool order).
inline uint64_t stream_key(uint64_t seed, uint64_t tensor, uint64_t member) {
  return splitmix64_at(splitmix64_at(seed, tensor), member);
}

// The top 53 bits as a double in [0, 1).
inline double unit_double(uint64_t r) { return static_cast<double>(r >> 11) * 0x1.0p-53; }

}  // namespace rng
}  // namespace fw
