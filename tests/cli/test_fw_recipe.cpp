// `fwmerge fw` recipes: every fw_params field reaches the params, start and merge function
// options, and bad recipes fail naming the key and its line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fw_recipe.h"
#include "recipe.h"

namespace {

const char kHead[] =
    "base_model: base\nmodels: [a, {model: b}]\nobjective:\n  module: net.pt\n"
    "  calibration: calib.safetensors\n  terms:\n    - {inputs: x, labels: y}\n";

std::string error_of(const std::string &yaml) {
  try {
    fwcli::parse_fw_recipe(yaml, "fw.yml");
  } catch (const fwcli::RecipeError &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(FwRecipe, EveryParameterStartAndMergeFunction) {
  const fwcli::FwRecipe r = fwcli::parse_fw_recipe(
      std::string(kHead) +
          "    - {method: doubled, inputs: x2, weight: 0.5}\n"
          "  param_map: {fc.weight: w, fc.bias: b}\n"
          "parameters:\n  lmo: soft\n  granularity: layer\n  block_depth: 2\n  score: cosine\n"
          "  top_k: 3\n  step_rule: schedule\n  step_scale: 0.5\n  line_search_evals: 4\n"
          "  soft_solver: adam\n  soft_iters: 7\n  soft_lr: 0.01\n  soft_memory_budget: 1000\n"
          "  max_iters: 12\n  epsilon: 0.001\n  threads: 2\n  seed: 9\n  device: cpu\n"
          "  device_index: 0\n  work_dtype: bfloat16\n  host_views: true\n"
          "  max_evaluations: 40\n  topk_rule: summed\n  include_tensors: ['fc.*']\n  "
          "exclude_tensors: [fc.bias]\n  fill_missing_from_base: true\n"
          "start: {merge: {method: task_arithmetic, scaling: 0.4}}\n"
          "merge_function: {method: ties, density: 0.3, normalize: false}\n"
          "out_dtype: float16\n",
      "fw.yml");
  EXPECT_EQ(r.base_model, "base");
  EXPECT_EQ(r.models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.module, "net.pt");
  ASSERT_EQ(r.terms.size(), 2u);
  EXPECT_EQ(r.terms[0].method, "forward");
  EXPECT_EQ(r.terms[0].labels, "y");
  EXPECT_EQ(r.terms[1].method, "doubled");
  EXPECT_EQ(r.terms[1].labels, "");
  EXPECT_EQ(r.terms[1].weight, 0.5);
  EXPECT_EQ(r.param_map.size(), 2u);
  const fw_params &p = r.params;
  EXPECT_EQ(p.lmo, FW_LMO_SOFT);
  EXPECT_EQ(p.granularity, FW_GRANULARITY_LAYERWISE);
  EXPECT_EQ(p.block_depth, 2);
  EXPECT_EQ(p.score, FW_SCORE_COSINE);
  EXPECT_EQ(p.top_k, 3);
  EXPECT_EQ(p.step_rule, FW_STEP_RULE_SCHEDULE);
  EXPECT_EQ(p.step_scale, 0.5);
  EXPECT_EQ(p.line_search_evals, 4);
  EXPECT_EQ(p.fill_missing_from_base, 1);
  EXPECT_EQ(p.soft_solver, FW_SOFT_SOLVER_ADAM);
  EXPECT_EQ(p.soft_iters, 7);
  EXPECT_EQ(p.soft_lr, 0.01);
  EXPECT_EQ(p.soft_memory_budget, 1000u);
  EXPECT_EQ(p.max_iters, 12);
  EXPECT_EQ(p.epsilon, 0.001);
  EXPECT_EQ(p.threads, 2);
  EXPECT_EQ(p.seed, 9u);
  EXPECT_EQ(p.device, FW_DEVICE_TYPE_CPU);
  EXPECT_EQ(p.work_dtype, FW_DTYPE_BF16);
  EXPECT_EQ(p.host_views, 1);
  EXPECT_EQ(p.max_evaluations, 40);
  EXPECT_EQ(p.topk_rule, FW_TOPK_RULE_SUMMED);
  EXPECT_EQ(r.include_tensors, (std::vector<std::string>{"fc.*"}));
  EXPECT_EQ(r.exclude_tensors, (std::vector<std::string>{"fc.bias"}));
  EXPECT_TRUE(r.start_merge);
  EXPECT_EQ(r.start_merge_params.method, FW_MERGE_METHOD_TASK_ARITHMETIC);
  EXPECT_EQ(r.start_merge_params.scaling, 0.4);
  EXPECT_TRUE(r.merge_function);
  EXPECT_EQ(r.merge_function_params.method, FW_MERGE_METHOD_TIES);
  EXPECT_EQ(r.merge_function_params.density, 0.3);
  EXPECT_EQ(r.merge_function_params.normalize, 0);
  EXPECT_EQ(r.out_dtype, FW_DTYPE_F16);
  // Defaults: fw_default_params, the base as start, the convex merge function.
  const fwcli::FwRecipe d = fwcli::parse_fw_recipe(kHead, "fw.yml");
  const fw_params def = fw_default_params();
  EXPECT_EQ(d.params.lmo, def.lmo);
  EXPECT_EQ(d.params.max_iters, def.max_iters);
  EXPECT_EQ(d.params.soft_solver, FW_SOFT_SOLVER_BOX);
  EXPECT_EQ(d.params.topk_rule, FW_TOPK_RULE_PER_TERM);
  EXPECT_EQ(d.start_member, -1);
  EXPECT_FALSE(d.start_merge);
  EXPECT_FALSE(d.merge_function);
  EXPECT_EQ(
      fwcli::parse_fw_recipe(std::string(kHead) + "start: {member: 1}\n", "fw.yml").start_member,
      1);
}

TEST(FwRecipe, BadRecipesNameTheKeyAndLine) {
  const std::string h = kHead;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"models: [a]\n", "base_model is missing"},
      {"base_model: b\nmodels: []\n", "fw.yml:2: models must list the pool"},
      {"base_model: b\nmodels: [a]\n", "objective is missing"},
      {h + "slices: []\n", "fw.yml:8: unsupported key 'slices' in the recipe"},
      {h + "parameters:\n  lmo: fuzzy\n", "fw.yml:9: lmo: unknown value 'fuzzy' (hard, soft)"},
      {h + "parameters:\n  top_k: 0\n", "fw.yml:9: top_k must be a whole number in [1,"},
      {h + "parameters:\n  max_iters: 2.5\n", "fw.yml:9: max_iters must be a whole number"},
      {h + "parameters:\n  momentum: 0.9\n", "fw.yml:9: unsupported key 'momentum' in parameters"},
      {h + "parameters:\n  work_dtype: int8\n", "fw.yml:9: work_dtype: unknown dtype 'int8'"},
      {h + "parameters:\n  include_tensors: fc.weight\n",
       "fw.yml:9: include_tensors must be a list of name patterns"},
      {h + "parameters:\n  max_evaluations: -3\n", "fw.yml:9: max_evaluations must be"},
      {h + "start: {member: 2}\n", "fw.yml:8: start.member must be a whole number in [0, 1]"},
      {h + "start: {member: 0, file: x}\n", "fw.yml:8: start takes one of member, file or merge"},
      {h + "merge_function: {density: 0.2}\n", "fw.yml:8: merge_function: method is missing"},
      {h + "merge_function: {method: slerp}\n",
       "fw.yml:8: merge_function.method: unknown value 'slerp'"},
      {h + "merge_function: {method: ties, gamma: 1}\n",
       "fw.yml:8: unsupported key 'gamma' in merge_function"},
      {"base_model: b\nmodels: [a]\nobjective:\n  module: m.pt\n  calibration: c\n",
       "objective.terms must list at least one"},
      {"base_model: b\nmodels: [a]\nobjective:\n  module: m.pt\n  calibration: c\n  terms:\n"
       "    - {inputs: x, weight: -1}\n",
       "fw.yml:7: weight must be > 0"},
      {"base_model: b\nmodels: [a]\nobjective:\n  calibration: c\n  terms: [{inputs: x}]\n",
       "objective.module is missing"},
  };
  for (const auto &[yaml, message] : cases) {
    const std::string e = error_of(yaml);
    EXPECT_NE(e.find(message), std::string::npos)
        << "recipe:\n"
        << yaml << "\nerror: " << e << "\nwanted: " << message;
  }
}

}  // namespace
