// The seam between the FW step and the merge function (paper, eq. 8 and 9): given the current
// tensor theta_t and the step's scaled directions delta_j = lambda_j (s_j - theta_t) (hard: one,
// gamma (s - theta_t)), produce theta_{t+1} for that tensor. The convex combination is
// theta_t + sum_j delta_j; TIES/DARE-style functions (lib/merge) reshape the deltas first.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fw {

class MergeFn {
 public:
  virtual ~MergeFn() = default;
  virtual std::string name() const = 0;
  // True when the result may leave the convex hull of the pool (reported in step info and export).
  virtual bool leaves_hull() const = 0;
  // True when each output element depends only on the same element of theta and the deltas (and
  // not on the tensor's other elements or its size): the solver may then apply it chunk by chunk.
  virtual bool elementwise() const { return false; }
  // theta: fp32 current tensor; deltas: fp32 scaled directions, same shape. `seed` is derived from
  // the solver seed, the iteration and the tensor index, so stochastic functions are reproducible.
  virtual at::Tensor apply(const at::Tensor &theta, const std::vector<at::Tensor> &deltas,
                           uint64_t seed) const = 0;
  // Recipe text for the export metadata (JSON object as a string).
  virtual std::string recipe_json() const = 0;
};

// theta + sum_j delta_j: stays in the hull.
std::unique_ptr<MergeFn> make_convex_merge_fn();

}  // namespace fw
