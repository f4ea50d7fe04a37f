// torch.linalg.vector_norm (and torch.norm) of a contiguous vector on CPU, bit for bit, as
// mergekit's norms come out of torch 2.x's vectorized kernel (ATen/native/cpu/ReduceOpsKernel.cpp:
// norm_kernel_tensor_iterator_impl, the p = 2 last-dimension path): 8 fp32 accumulator lanes, lane
// j summing the squares of entries j, j + 8, ... in order over the largest multiple of one SIMD
// load (8 entries for fp32, 16 for bf16 / f16 under the AVX2 and default capabilities), then the
// lanes added 0..7, then the remaining entries' squares one by one, sqrt in fp32. A double sum
// differs from it by up to thousands of fp32 ulps on large tensors, which moves roundings to bf16.
// A block larger than the vector gives a plain sequential fp32 sum: torch's order for a strided
// vector (nuslerp's columns, reduced over a transposed tensor).
#pragma once

#include <array>
#include <cstdint>

namespace fw {

class TorchNorm {
 public:
  // numel: the vector's entries; block: the entries of one SIMD load of its dtype.
  explicit TorchNorm(int64_t numel = 0, int64_t block = 8);
  // Entry `index` of the vector (0-based); entries come in increasing index order.
  void add(int64_t index, float x);
  float value() const;

 private:
  static constexpr int64_t kLanes = 8;
  int64_t main_;
  std::array<float, kLanes> lanes_{};
  // Once the first entry past the blocks arrives, every lane is complete: the lanes' sum, then
  // the remaining squares added to it one by one.
  bool in_tail_ = false;
  float sum_ = 0.0f;
};

}  // namespace fw
