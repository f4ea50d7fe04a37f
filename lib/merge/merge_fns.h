// FW step merge functions built from the data-free methods (fw::MergeFn, lib/solver/merge_fn.h).
// The step's directions delta_j = lambda_j (s_j - theta) play the task vectors' part:
//  - TIES: theta + scaling * ties_disjoint(magnitude_trim(delta_j, density))
//  - DARE_LINEAR / DARE_TIES: dare_drop(delta_j) then the scaled sum / ties_disjoint
//  - BREADCRUMBS / BREADCRUMBS_TIES: breadcrumbs_trim(delta_j) then the scaled sum / ties_disjoint
//  - TASK_ARITHMETIC: theta + scaling * sum_j delta_j
// normalize selects TIES' disjoint mean (1) or disjoint sum (0); the plain sums are never
// normalized (the deltas already carry the step's coefficients). All of these report leaves_hull().
#pragma once

#include <memory>

#include "merge/merge_spec.h"
#include "solver/merge_fn.h"

namespace fw {

// Throws Status::Unsupported for LINEAR (use make_convex_merge_fn) and MODEL_STOCK, and
// Status::InvalidArgument when the spec carries weights.
std::unique_ptr<MergeFn> make_method_merge_fn(const MergeSpec &spec);

}  // namespace fw
