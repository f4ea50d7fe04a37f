// nuslerp in mergekit mode on a reduced dtype (bf16 / f16): mergekit 0.1.5 applies its torch ops to
// the task vectors in the recipe's dtype (mergekit/merge_methods/nuslerp.py: nuslerp), so each op's
// result is rounded to that dtype, and its reductions (norms, the cosine's sum) accumulate in fp32
// and round once. Streamed in two passes over the chunks, per vector (the whole tensor, a row or a
// column: the key of each entry): the two task vectors' norms, in torch's order (torch_norm.h:
// its vectorized lanes along a row or the flattened tensor, a sequential sum along a column of
// the transposed tensor), then the dot of their unit vectors in index order in double (the same
// bits chunked or whole); then each output entry is computed from the same entries of the inputs.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "merge/merge_spec.h"
#include "merge/torch_norm.h"

namespace fw {

class NuslerpReduced {
 public:
  static constexpr int kPasses = 2;

  // keys: the vectors, of vector_len entries each; column: they are the columns of a row-major
  // tensor (strided); type: kBFloat16 or kHalf.
  NuslerpReduced(const MergeSpec &spec, int64_t keys, int64_t vector_len, bool column,
                 at::ScalarType type);

  // Pass p < kPasses over every chunk in order; begin: the chunk's first entry; keys: the key of
  // each of its entries.
  void accumulate(int pass, int64_t begin, const std::vector<int64_t> &keys,
                  const std::vector<at::Tensor> &taus);
  void finish();
  at::Tensor combine(const std::vector<int64_t> &keys, const at::Tensor &base,
                     const std::vector<at::Tensor> &taus) const;

 private:
  float round(float x) const;
  void settle(int pass);

  at::ScalarType type_;
  float t_, one_minus_t_;  // nuslerp.py's Python floats t and 1 - t, as fp32 scalars
  int settled_ = 0;
  int64_t vector_len_;
  std::vector<TorchNorm> norm0_acc_, norm1_acc_;      // per key
  std::vector<double> dot_;                           // per key
  std::vector<float> norm0_, norm1_, c0_, c1_, sin_;  // per key
  std::vector<uint8_t> colinear_;                     // per key
};

}  // namespace fw
