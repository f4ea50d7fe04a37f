// multislerp in mergekit mode on a reduced dtype (bf16 / f16): mergekit 0.1.5 applies its torch ops
// to the task vectors in the recipe's dtype (mergekit/merge_methods/multislerp.py: multislerp), so
// each op's result is rounded to that dtype, and its reductions (norms, sums) accumulate in fp32
// and round once. This follows the same ops in the same order, streamed: four passes over the
// chunks gather the whole-tensor scalars one after another (the task vectors' norms, the norm of
// their weighted mean of unit vectors, each unit vector's dot with the normalized mean, the norm of
// the weighted tangent sum), the norms in the order of torch's kernel (torch_norm.h), the dots in
// index order in double (the same bits chunked or whole), then each output entry is recomputed
// from the same entries of the inputs.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "merge/merge_spec.h"
#include "merge/torch_norm.h"

namespace fw {

class MultislerpReduced {
 public:
  static constexpr int kPasses = 4;

  // n >= 2 task vectors of numel entries; type: kBFloat16 or kHalf; name: the tensor's, for
  // messages.
  MultislerpReduced(const MergeSpec &spec, size_t n, int64_t numel, at::ScalarType type,
                    std::string name);

  // Pass p < kPasses over every chunk in order (taus: the task vectors' fp32 chunks).
  // Status::InvalidArgument where mergekit raises (more than 2 task vectors whose weighted mean of
  // unit vectors is 0).
  // begin: the chunk's first entry.
  void accumulate(int pass, int64_t begin, const std::vector<at::Tensor> &taus);
  void finish();
  // The merged entries of the chunk (fp32 holding values of the reduced dtype).
  at::Tensor combine(const at::Tensor &base, const std::vector<at::Tensor> &taus) const;

 private:
  float round(float x) const;
  float norm_of(const TorchNorm &norm) const;  // torch.norm in the dtype: rounded
  void settle(int pass);                       // the scalars of the passes before `pass`
  float unit(size_t i, float tau) const;
  float mean_entry(const std::vector<const float *> &t, int64_t e) const;
  float tangent_entry(const std::vector<const float *> &t, int64_t e, float mean_hat) const;

  size_t n_;
  int64_t numel_;
  at::ScalarType type_;
  std::string name_;
  float eps_;
  int settled_ = 0;               // passes whose scalars are derived
  bool lerp_ = false;             // mergekit's fallback for 2 task vectors whose unit mean is 0
  std::vector<float> w_;          // weights in the dtype (normalized as mergekit's)
  std::vector<TorchNorm> norms_;  // pass 0: of tau_i
  std::vector<double> sums_;      // pass 2: sum unit_i mean^
  TorchNorm norm_;                // pass 1: of the mean; pass 3: of the tangent sum
  std::vector<float> norm_vals_, divisor_;  // |tau_i| and |tau_i| + eps
  float mean_norm_ = 1.0f;
  std::vector<float> dot_;
  float cos_ = 1.0f, sinc_ = 0.0f, avg_norm_ = 0.0f;
};

}  // namespace fw
