// Small helpers for the merge tests: fp32 tensors from literals, element access, and an
// independent SplitMix64 (written again here, not taken from the library) for DARE checks.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace mt {

inline at::Tensor vec(std::vector<float> values, std::vector<int64_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  return at::from_blob(values.data(), shape, at::kFloat).clone();
}

inline std::vector<float> values(const at::Tensor &t) {
  const at::Tensor c = t.contiguous().to(at::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

inline void expect_near(const at::Tensor &actual, const std::vector<float> &expected,
                        double tol = 1e-6) {
  const std::vector<float> got = values(actual);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "entry " << i;
}

inline bool same_bytes(const at::Tensor &a, const at::Tensor &b) {
  const at::Tensor x = a.contiguous(), y = b.contiguous();
  return x.nbytes() == y.nbytes() && std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

// SplitMix64 (Steele et al. 2014), state advanced by the golden gamma before each output.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Output i (0-based) by stepping through the sequence.
  static uint64_t nth(uint64_t seed, uint64_t i) {
    SplitMix64 g{seed};
    uint64_t r = 0;
    for (uint64_t k = 0; k <= i; ++k) r = g.next();
    return r;
  }
};

// DARE as documented in include/fwmerge.h: draws of (seed, tensor, member), element e dropped when
// its 53-bit uniform is < p, survivors divided by (float)(1 - p).
inline std::vector<float> dare_reference(const std::vector<float> &tau, double p, uint64_t seed,
                                         uint64_t tensor, uint64_t member) {
  const uint64_t key = SplitMix64::nth(SplitMix64::nth(seed, tensor), member);
  SplitMix64 g{key};
  std::vector<float> out(tau.size());
  const float divisor = static_cast<float>(1.0 - p);
  for (size_t e = 0; e < tau.size(); ++e) {
    const double u = static_cast<double>(g.next() >> 11) / 9007199254740992.0;
    out[e] = u < p ? 0.0f : tau[e] / divisor;
  }
  return out;
}

}  // namespace mt
