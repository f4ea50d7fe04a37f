// The objective as the solver sees it. Implemented by the C shim (host callback, ask/tell) and by
// built-in objectives (lib/objective).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace fw {

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Loss at `point` (fp32 tensors in base order). When `grad` is non-null it holds zero-filled fp32
  // tensors of the same shapes to receive the gradient. Throws fw::Error on failure.
  virtual double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) = 0;
};

}  // namespace fw
