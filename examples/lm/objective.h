// The merging objective, written by the host with LibTorch: next-token cross-entropy on the
// calibration windows of each evaluation domain. One term per domain (its mean loss / number of
// domains, so the terms add up to the mean over domains) for fwmerge's multi-term callback;
// gradients flow through autograd into the library's views.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "fwmerge.h"
#include "lm_model.h"

namespace lm {

class LmObjective {
 public:
  // base: every tensor of the model (those the solver does not merge stay at these values);
  // calib: per evaluation domain, windows [N, context + 1].
  LmObjective(LmConfig config, Weights base, std::vector<at::Tensor> calib);

  int n_terms() const { return static_cast<int>(calib_.size()); }
  // The whole objective (mean over domains) at `w`, without autograd.
  double value(const Weights &w) const;

  // fw_objective_terms_fn; user_data is an LmObjective*.
  static fw_status callback(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                            double *loss, void *user_data);
  int evaluations() const { return evaluations_; }

 private:
  fw_status evaluate(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                     double *loss);
  LmConfig config_;
  Weights base_;
  std::vector<at::Tensor> calib_;
  int evaluations_ = 0;
};

}  // namespace lm
