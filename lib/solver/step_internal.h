// Definitions shared by the step's translation units (not part of the solver's interface).
#pragma once

#include <vector>

#include "solver/chunks.h"
#include "solver/solver.h"

namespace fw {

// <a, b> over all elements: fp32 products in chunks (any working dtype), summed as double.
double inner_product(const at::Tensor &a, const at::Tensor &b);

// Evaluates with the checks every evaluation needs: abort, finite loss and gradient.
double checked_evaluate(Evaluator &evaluator, const std::vector<at::Tensor> &point,
                        std::vector<at::Tensor> *grad, const std::vector<TensorMeta> &metas);

// A vertex as the chunked updates read it (lib/solver/chunks.h).
inline Source source_of(const Checkpoint &checkpoint) { return Source{&checkpoint, at::Tensor()}; }

}  // namespace fw
