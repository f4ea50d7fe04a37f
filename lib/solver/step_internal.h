// Definitions shared by the step's translation units (not part of the solver's interface).
#pragma once

#include <vector>

#include "solver/chunks.h"
#include "solver/solver.h"

namespace fw {

// <a, b> over all elements: fp32 products in chunks (any working dtype), summed as double.
double inner_product(const at::Tensor &a, const at::Tensor &b);

// Evaluates the whole objective (term < 0) or one term with the checks every evaluation needs:
// finite loss and gradient. On a sharded solver (comm non-null) the ranks then agree on the loss
// (fw_dist_loss) and on whether every rank's evaluation passed those checks (Comm::agree_loss).
double checked_evaluate(Evaluator &evaluator, const std::vector<at::Tensor> &point,
                        std::vector<at::Tensor> *grad, const std::vector<TensorMeta> &metas,
                        Comm *comm, int term = -1);

// The soft LMO's candidates per block (positions into the vertices): the k best for the whole
// objective when `terms` is empty (FW_TOPK_RULE_SUMMED, one-term objectives); else the terms in
// turn, each taking its best vertex not yet taken, until k (FW_TOPK_RULE_PER_TERM).
std::vector<std::vector<int>> select_candidates(const Solver::LmoScores &whole,
                                                const std::vector<Solver::LmoScores> &terms,
                                                size_t k);

// A vertex as the chunked updates read it (lib/solver/chunks.h).
inline Source source_of(const Checkpoint &checkpoint) { return Source{&checkpoint, at::Tensor()}; }

}  // namespace fw
