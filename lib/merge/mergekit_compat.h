// mergekit 0.1.5's arithmetic for the task-arithmetic family (fw_merge_params.mergekit_compat):
// the counts its sparsifiers keep and its combine step, computed in its working dtype with the
// same operations in the same order (mergekit/merge_methods/generalized_task_arithmetic.py and
// mergekit/sparsify.py), so that a recipe gives the same numbers in fwmerge as in mergekit.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "merge/merge_spec.h"

namespace fw {
namespace mergekit {

// Ranks from the top (largest magnitude first) a trim keeps: [drop, keep). all: no trim.
struct TrimRanks {
  bool all = false;
  int64_t keep = 0, drop = 0;
};

// magnitude(): density >= 1 keeps all; else the k = max(1, floor(density * numel)) largest.
TrimRanks ties_ranks(double density, int64_t numel);
// magnitude_outliers(): density >= 1 keeps all; else target = floor(density * n), top =
// floor(gamma * n), bottom = max(0, n - target - top): the sorted positions [bottom, bottom +
// target) from the smallest, i.e. ranks [n - bottom - target, n - bottom) from the largest.
TrimRanks breadcrumbs_ranks(double density, double gamma, int64_t numel);

// The combine of merge_group on matching chunks, in `type`: weights rounded to `type`, weighted
// task vectors, TIES' sign election (sum >= 0 elects +) with the masked sums and their divisor (0
// replaced by 1), or the plain sums over the weight sum; normalize, lambda (when != 1), base +
// mixed. base and taus are fp32 chunks whose values `type` represents; returns fp32.
at::Tensor combine(const MergeSpec &spec, const at::Tensor &base,
                   const std::vector<at::Tensor> &taus, at::ScalarType type);

}  // namespace mergekit
}  // namespace fw
