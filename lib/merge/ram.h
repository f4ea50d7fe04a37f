// RAM and RAM+ tensor-local (mergekit 0.1.5's merge_methods/ram.py, Reinforced Agent Merging): an
// entry of member i's task vector contributes when |tau_i| > epsilon; where exactly one member
// contributes its value is taken whole, where several do they are averaged (each divided by the
// count), and entries nobody contributes keep the base. ramplus_tl scales each member's unique
// contributions by lambda_i = 1 + r * clamp(rho_i, 0, alpha), rho_i = (its shared contributions) /
// max(its unique ones, epsilon), counted over the whole tensor. Everything is elementwise but
// those counts, which StreamingMerge gathers in one pass over chunks.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace fw {

// `type`: the dtype of mergekit's task vectors. fp32, or in mergekit mode the recipe's (bf16 /
// f16): mergekit subtracts and divides in the dtype of the tensors as loaded (ram.py:
// _prepare_ram_vectors, ram_merge, ramplus_tl_merge), so the task vectors (fp32 chunks of
// theta_i - theta_0) are rounded to it, epsilon too (torch compares a tensor with a Python float
// in the tensor's dtype), and so are the results of the ops mergekit does in it (below).

// Adds, per member, its entries among [0, len) that contribute where others do too (shared) and
// where it alone does (unique): |tau| > epsilon, both in `type`.
void ram_count_range(const std::vector<const float *> &taus, int64_t len, double epsilon,
                     std::vector<int64_t> &shared, std::vector<int64_t> &unique,
                     at::ScalarType type = at::kFloat);

// ramplus_tl's lambda_i from the counts, in fp32 as torch computes it.
std::vector<float> ram_lambdas(const std::vector<int64_t> &shared,
                               const std::vector<int64_t> &unique, double epsilon, double r,
                               double alpha);

// out[e] = base[e] + sum_i (tau_i z * unique * lambda_i + tau_i z * overlap / max(count, 1)), tau_i
// z the task vector zeroed where it does not contribute, in fp32 in member order (mergekit's
// expression, operation for operation). lambdas empty: plain RAM (no lambda factor). In a reduced
// `type`: plain RAM rounds every op (the member sum accumulated in fp32, rounded once, as torch's
// sum); ramplus_tl rounds the overlap quotient only (its fp32 lambdas promote the rest to fp32).
void ram_combine_range(const float *base, const std::vector<const float *> &taus, double epsilon,
                       const std::vector<float> &lambdas, int64_t len, float *out,
                       at::ScalarType type = at::kFloat);

// The whole method on resident fp32 tensors; `plus`: ramplus_tl; `type` as above.
at::Tensor ram_merge(const at::Tensor &base, const std::vector<at::Tensor> &members, double epsilon,
                     bool plus, double r, double alpha, at::ScalarType type = at::kFloat);

}  // namespace fw
