// Combining (weighted) task vectors: the plain weighted sum and TIES' sign election with the
// disjoint merge. Sums run over members in pool order with elementwise ATen ops, so the result
// does not depend on the thread count.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace fw {

// sum_i w_i tau_i, divided by sum_i w_i when normalize. weights: empty = all 1.
at::Tensor weighted_sum(const std::vector<at::Tensor> &taus, const std::vector<double> &weights,
                        bool normalize);

// TIES: elected = sign(sum_i w_i tau_i) (0 for a zero sum: no member agrees); member i agrees at an
// entry when w_i tau_i is nonzero with the elected sign. Returns sum_{agree} w_i tau_i, divided by
// sum_{agree} w_i when normalize (entries with no agreeing member are 0).
at::Tensor ties_disjoint(const std::vector<at::Tensor> &taus, const std::vector<double> &weights,
                         bool normalize);

}  // namespace fw
