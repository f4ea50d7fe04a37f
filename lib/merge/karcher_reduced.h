// karcher in mergekit mode on a reduced dtype (bf16 / f16): mergekit 0.1.5 keeps the unit vectors,
// the mean and the tangent in the tensors' dtype (mergekit/merge_methods/karcher.py:
// karcher_merge_tensors), so every elementwise op rounds to it, while the norms are fp32
// (vector_norm of the tensor cast to float32) and the dots are torch.dot in the dtype (fp32
// arithmetic, rounded once). Its scalars enter as torch passes them: a 0-dim fp32 tensor on the
// right of `*` or `/` keeps its fp32 value, one on the left (cos(|T|) * mean, sin(|T|) * ...,
// scale * mean) is cast to the dtype first.
//
// Streamed: it holds one tensor, the current mean (mergekit's `mean`), and reads the members in
// passes: their norms, the initial mean, then per iteration the dots with the mean, the tangent's
// norm, and the update of the mean (recomputing the tangent). The fp32 norms are summed in the
// order of torch's vectorized CPU kernel (AVX2 / default: 8 fp32 lanes), so that they have its
// bits.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "merge/merge_spec.h"
#include "merge/torch_norm.h"

namespace fw {

class KarcherReduced {
 public:
  // n >= 2 members of numel entries each; type: kBFloat16 or kHalf.
  KarcherReduced(const MergeSpec &spec, size_t n, int64_t numel, at::ScalarType type);

  int passes() const;
  // Pass p over every chunk in order; begin: the chunk's first entry; xs: the members' chunks.
  void accumulate(int pass, int64_t begin, const std::vector<at::Tensor> &xs);
  void finish();
  at::Tensor combine(int64_t begin, const std::vector<at::Tensor> &xs) const;

 private:
  float round(float x) const;
  void settle(int pass);  // the scalars of the passes before `pass`
  float unit(size_t i, float x) const { return round(x / norm_[i]); }
  float tangent_entry(const std::vector<const float *> &x, int64_t e, float mean) const;

  size_t n_;
  int64_t numel_;
  at::ScalarType type_;
  int64_t max_iter_;
  double tol_;
  int settled_ = 0;
  bool done_ = false;          // mergekit's loop ended (break at |T| < tol)
  bool all_zero_ = false;      // every norm <= tol: zeros
  bool first_unit_ = false;    // the initial mean's norm < tol: mean = the first valid unit
  std::vector<float> norm_;    // fp32 norms
  std::vector<size_t> valid_;  // members whose norm > tol
  std::vector<float> alpha_;   // normalized alphas (fp32, as torch takes a Python float)
  std::vector<TorchNorm> member_norm_;
  TorchNorm norm_acc_;  // of the initial mean, of the tangent, of the updated mean
  std::vector<double> dot_sum_;
  std::vector<float> dot_, coef_;  // per valid member; coef_ 0: theta < tol (skipped)
  std::vector<uint8_t> skip_;
  float tangent_norm_ = 0.0f, cos_ = 1.0f, sin_ = 0.0f;
  std::vector<float> mean_;  // the one tensor held
};

}  // namespace fw
