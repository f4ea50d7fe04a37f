// The paper's merge function (eq. 8 / eq. 9): theta + sum_j delta_j.
#include "solver/merge_fn.h"

namespace fw {
namespace {

class ConvexMergeFn : public MergeFn {
 public:
  std::string name() const override { return "convex"; }
  bool leaves_hull() const override { return false; }
  bool elementwise() const override { return true; }
  at::Tensor apply(const at::Tensor &theta, const std::vector<at::Tensor> &deltas,
                   uint64_t) const override {
    at::Tensor out = theta.clone();
    for (const at::Tensor &delta : deltas) out.add_(delta);
    return out;
  }
  std::string recipe_json() const override { return "{\"name\":\"convex\"}"; }
};

}  // namespace

std::unique_ptr<MergeFn> make_convex_merge_fn() { return std::make_unique<ConvexMergeFn>(); }

}  // namespace fw
