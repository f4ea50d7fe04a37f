// The objective as the solver sees it. Implemented by the C shim (host callback, ask/tell) and by
// built-in objectives (lib/objective).
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "util/error.h"

namespace fw {

class Evaluator {
 public:
  // The term of a request for the whole objective (fw_request.term = FW_ALL_TERMS).
  static constexpr int kAllTerms = -1;

  virtual ~Evaluator() = default;
  // Loss at `point` (fp32 tensors in base order). When `grad` is non-null it holds zero-filled fp32
  // tensors of the same shapes to receive the gradient. Throws fw::Error on failure.
  virtual double evaluate(const std::vector<at::Tensor> &point, std::vector<at::Tensor> *grad) = 0;
  // A multi-task objective is a sum of n_terms() >= 1 terms (fw_objective_terms_fn): term
  // 0 <= term < n_terms() alone, like evaluate(). The terms add up to evaluate().
  virtual int n_terms() const { return 1; }
  virtual double evaluate_term(int term, const std::vector<at::Tensor> &point,
                               std::vector<at::Tensor> *grad) {
    if (term != 0) fail(Status::Internal, "a one-term objective was asked for another term");
    return evaluate(point, grad);
  }
};

}  // namespace fw
