// The fw_merge_params of a mergekit recipe. Plain numbers become the per-member arrays (weights,
// densities, betas) and the scaling; gradients and filter lists are evaluated for every tensor of
// the base as mergekit does (a model's own value, else the top-level one, else the default) and
// become per-tensor overrides (fw_merge_params.overrides): for each model and parameter the most
// common value goes into the array, every tensor with another value gets an override naming it
// exactly.
#pragma once

#include <string>
#include <vector>

#include "fwmerge.h"
#include "recipe.h"

namespace fwcli {

class MergeArgs {
 public:
  // tensor_names: the base's tensors, needed when recipe.per_tensor(). mergekit_compat: 1,
  // mergekit's arithmetic in the recipe's compute dtype (the default of `fwmerge merge`); 2, also
  // mergekit's order among equal magnitudes at trim thresholds; 0, fwmerge's (fp32, rounded once).
  // Throws RecipeError for a value out of range for some tensor, or a weight that no filter gives
  // for a tensor.
  MergeArgs(const Recipe &recipe, int32_t mergekit_compat,
            const std::vector<std::string> &tensor_names = {});
  MergeArgs(const MergeArgs &) = delete;
  MergeArgs &operator=(const MergeArgs &) = delete;

  // Points into this object: valid while it lives.
  const fw_merge_params &params() const { return params_; }
  size_t override_count() const { return overrides_.size(); }

 private:
  fw_merge_params params_;
  std::vector<double> weights_, densities_, betas_, epsilons_;
  std::vector<std::string> patterns_;  // one per override, built before any pointer is taken
  std::vector<fw_merge_override> overrides_;
};

}  // namespace fwcli
