// SCE (mergekit 0.1.5's merge_methods/sce.py): Select the entries whose task vectors vary most
// across the members (the top select_topk fraction of the entries with nonzero variance), Calculate
// one weight per member from the mean square of its (selected) task vector, Erase the members
// whose sign disagrees with the elected one, and average the rest with those weights. Every step
// but the selection and the weights is elementwise; those two need whole-tensor statistics, which
// StreamingMerge gathers in passes over chunks (streaming.cpp) and merge_tensor from the whole
// tensors, through the same range functions below so that both give the same bytes.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace fw {

// var[e] = the population variance (torch.var(unbiased=False)) over the members of taus[i][e],
// computed in double (torch's CPU var accumulates in double) and rounded to fp32.
void sce_variance_range(const std::vector<const float *> &taus, int64_t len, float *var);

// The number of entries sce_mask keeps: int(count_nonzero(var) * select_topk), which torch
// evaluates in fp32 (an int64 0-dim tensor times a Python float); 0 <= select_topk < 1.
int64_t sce_select_count(int64_t nonzero, double select_topk);

// sce_weight: w_i = mean(tau_i^2) / sum_j mean(tau_j^2) from sq_sums[i] = sum_e tau_i[e]^2 (in
// double; mean = float(sum) / float(numel) in fp32); 1/n each when the sum is below 1e-6.
std::vector<float> sce_weights(const std::vector<double> &sq_sums, int64_t numel);

// Sums of squares of each member's range, added to sq_sums (double, index order).
void sce_add_squares(const std::vector<const float *> &taus, int64_t len,
                     std::vector<double> &sq_sums);

// out[e] = base[e] + sum_i tau_i w_i [sign(tau_i) == majority] / max(sum_i w_i [...], 1e-6), with
// majority = + where sum_i tau_i >= 0 (mergekit's get_mask "sum"), in fp32 in member order.
void sce_combine_range(const float *base, const std::vector<const float *> &taus,
                       const std::vector<float> &weights, int64_t len, float *out);

// The whole method on resident fp32 tensors (base and members of one shape).
at::Tensor sce_merge(const at::Tensor &base, const std::vector<at::Tensor> &members,
                     double select_topk);

}  // namespace fw
