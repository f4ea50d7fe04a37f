// The merging objective of the demo, written by the host with LibTorch: the mean over evaluation
// tasks of the cross-entropy of head_task(backbone(calibration images)), heads frozen. It serves as
// fwmerge's multi-term objective callback, one term per task (gradients through autograd into the
// library's views), and as the differentiable loss of the AdaMerging-like baseline.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "datasets.h"
#include "fwmerge.h"
#include "model.h"

namespace demo {

struct CalibTask {
  std::string name;
  ImageSet calib;                // 100 labeled samples (paper's setting)
  std::vector<at::Tensor> head;  // frozen
};

class CalibObjective {
 public:
  explicit CalibObjective(std::vector<CalibTask> tasks);

  // Differentiable loss of backbone tensors in backbone_names() order: the mean over tasks, or
  // (term >= 0) task `term`'s share of it, its cross-entropy / number of tasks.
  at::Tensor loss(const std::vector<at::Tensor> &backbone, int term = FW_ALL_TERMS) const;
  int n_terms() const { return static_cast<int>(tasks_.size()); }

  // fw_objective_terms_fn (one term per task); user_data is a CalibObjective*. Views are matched to
  // the backbone by name.
  static fw_status callback(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                            double *loss, void *user_data);

  int evaluations() const { return evaluations_; }

 private:
  fw_status evaluate(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                     double *loss);
  std::vector<CalibTask> tasks_;
  int evaluations_ = 0;
};

}  // namespace demo
