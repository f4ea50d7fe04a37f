// libFuzzer harness: the YAML recipes `fwmerge merge` and `fwmerge fw` read (an MLOps platform runs
// the ones its users upload). Input: a selector byte, then the recipe text. An odd selector reads
// an FW recipe (parse_fw_recipe); an even one a mergekit recipe (parse_recipe) and turns it into
// fw_merge_params as the CLI does (MergeArgs: per-tensor gradients and filter lists evaluated over
// a few tensor names; bit 1 of the selector: mergekit's arithmetic). fwcli::RecipeError is the one
// expected rejection: any other exception escaping (a yaml-cpp one, std::out_of_range, ...) would
// reach the CLI as a message without the recipe's line, and libFuzzer reports it as a crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "fw_recipe.h"
#include "merge_args.h"
#include "recipe.h"

namespace {

const std::vector<std::string> kTensorNames = {
    "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
    "model.layers.1.mlp.up_proj.weight", "model.norm.weight", "lm_head.weight"};

void check_mergekit(const std::string &text, int32_t mergekit_compat) {
  const fwcli::Recipe r = fwcli::parse_recipe(text, "fuzz.yml");
  FW_FUZZ_CHECK(!r.models.empty());
  FW_FUZZ_CHECK(!r.base_model.empty() || r.method == FW_MERGE_METHOD_LINEAR);
  const fwcli::MergeArgs args(r, mergekit_compat,
                              r.per_tensor() ? kTensorNames : std::vector<std::string>{});
  const fw_merge_params &p = args.params();
  FW_FUZZ_CHECK(p.method == r.method);
  FW_FUZZ_CHECK(p.n_overrides == args.override_count());
  FW_FUZZ_CHECK(p.n_overrides == 0 || p.overrides != nullptr);
  for (size_t i = 0; i < p.n_overrides; ++i) FW_FUZZ_CHECK(std::isfinite(p.overrides[i].value));
  if (p.weights != nullptr)
    for (size_t i = 0; i < r.models.size(); ++i) FW_FUZZ_CHECK(std::isfinite(p.weights[i]));
}

void check_fw(const std::string &text) {
  const fwcli::FwRecipe r = fwcli::parse_fw_recipe(text, "fuzz.yml");
  FW_FUZZ_CHECK(!r.base_model.empty() && !r.models.empty());
  FW_FUZZ_CHECK(!r.terms.empty());
  FW_FUZZ_CHECK(r.params.top_k >= 1 && r.params.line_search_evals >= 1);
  FW_FUZZ_CHECK(r.start_member < static_cast<int32_t>(r.models.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char *>(data) + 1, size - 1);
  try {
    if (data[0] & 1)
      check_fw(text);
    else
      check_mergekit(text, (data[0] & 2) ? 1 : 0);
  } catch (const fwcli::RecipeError &) {
  }
  return 0;
}
