// The 0.5.0 methods in mergekit recipes: their keys reach fw_merge_params (t, as a number or a
// gradient; della's per-model epsilon; passthrough's scale; the scalar options), the base rules
// (karcher counts the base as an input; passthrough needs none), model counts, and the errors for
// what a method does not take.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "merge_args.h"
#include "recipe.h"
#include "recipe_test_util.h"

namespace {

using fwcli::parse_recipe;
using fwcli::Recipe;

using recipe_test::contains;
using recipe_test::error_of;

TEST(Recipe050, SlerpTakesTheBaseAndOneModelAndT) {
  // mergekit's usual slerp recipe lists the base among the models.
  const Recipe r = parse_recipe(R"(merge_method: slerp
base_model: a
models:
  - model: a
  - model: b
parameters:
  t: 0.3
)",
                                "r");
  ASSERT_EQ(r.models.size(), 1u);
  EXPECT_EQ(r.models[0].path, "b");
  const fwcli::MergeArgs args(r, 1);
  EXPECT_EQ(args.params().method, FW_MERGE_METHOD_SLERP);
  EXPECT_EQ(args.params().t, 0.3);
  EXPECT_EQ(args.params().weights, nullptr);
}

// t as a gradient: per-tensor overrides of FW_MERGE_FIELD_T, mergekit's layer interpolation.
TEST(Recipe050, SlerpTGradientBecomesPerTensorOverrides) {
  const Recipe r = parse_recipe(
      "merge_method: slerp\nbase_model: a\nmodels:\n  - model: b\nparameters:\n  t: [0, 1]\n", "r");
  const std::vector<std::string> names = {"model.layers.0.w", "model.layers.1.w",
                                          "model.layers.2.w"};
  const fwcli::MergeArgs args(r, 1, names);
  const fw_merge_params &p = args.params();
  // Positions 0, 0.5, 1 -> t 0, 0.5, 1: one value goes into t, the two others are overrides.
  ASSERT_EQ(p.n_overrides, 2u);
  std::vector<double> seen = {p.t};
  for (size_t k = 0; k < p.n_overrides; ++k) {
    EXPECT_EQ(p.overrides[k].field, FW_MERGE_FIELD_T);
    EXPECT_EQ(p.overrides[k].member, -1);
    seen.push_back(p.overrides[k].value);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<double>{0, 0.5, 1}));
}

TEST(Recipe050, DellaPerModelEpsilonAndRescale) {
  const Recipe r = parse_recipe(R"(merge_method: della
base_model: x
models:
  - model: a
    parameters: {weight: 1, density: 0.5, epsilon: 0.1}
  - model: b
    parameters: {weight: 2, density: 0.6}
parameters:
  lambda: 0.9
  rescale: false
)",
                                "r");
  const fwcli::MergeArgs args(r, 1);
  const fw_merge_params &p = args.params();
  EXPECT_EQ(p.method, FW_MERGE_METHOD_DELLA);
  ASSERT_NE(p.epsilons, nullptr);
  EXPECT_EQ(std::vector<double>(p.epsilons, p.epsilons + 2), (std::vector<double>{0.1, 0.15}));
  EXPECT_EQ(p.rescale, 0);
  EXPECT_EQ(p.scaling, 0.9);
  EXPECT_EQ(p.normalize, 1);  // della's default
  EXPECT_EQ(parse_recipe("merge_method: della_linear\nbase_model: x\nmodels:\n  - model: a\n"
                         "    parameters: {weight: 1}\n",
                         "r")
                .normalize,
            false);
}

TEST(Recipe050, ScalarOptionsReachTheirFields) {
  const fwcli::MergeArgs ram(
      parse_recipe("merge_method: ramplus_tl\nbase_model: x\nmodels:\n  - model: a\n"
                   "  - model: b\nparameters: {epsilon: 0.001, r: 0.2, alpha: 0.4}\n",
                   "r"),
      1);
  EXPECT_EQ(ram.params().epsilon, 0.001);
  EXPECT_EQ(ram.params().ram_r, 0.2);
  EXPECT_EQ(ram.params().ram_alpha, 0.4);
  const fwcli::MergeArgs sce(parse_recipe("merge_method: sce\nbase_model: x\nmodels:\n"
                                          "  - model: a\n  - model: b\nparameters: "
                                          "{select_topk: 0.3}\n",
                                          "r"),
                             1);
  EXPECT_EQ(sce.params().select_topk, 0.3);
  const fwcli::MergeArgs nus(
      parse_recipe("merge_method: nuslerp\nbase_model: x\nmodels:\n"
                   "  - model: a\n    parameters: {weight: 1}\n"
                   "  - model: b\n    parameters: {weight: 3}\n"
                   "parameters: {nuslerp_flatten: false, nuslerp_row_wise: true}\n",
                   "r"),
      1);
  EXPECT_EQ(nus.params().nuslerp_flatten, 0);
  EXPECT_EQ(nus.params().nuslerp_row_wise, 1);
  EXPECT_EQ(std::vector<double>(nus.params().weights, nus.params().weights + 2),
            (std::vector<double>{1, 3}));
  const fwcli::MergeArgs multi(parse_recipe("merge_method: multislerp\nbase_model: x\nmodels:\n"
                                            "  - model: a\n    parameters: {weight: 1}\n"
                                            "parameters: {normalize_weights: false, eps: 1e-6}\n",
                                            "r"),
                               1);
  EXPECT_EQ(multi.params().normalize, 0);
  EXPECT_EQ(multi.params().eps, 1e-6);
}

// karcher: base_model is one more input (mergekit counts it), listed once.
TEST(Recipe050, KarcherCountsTheBaseAsAnInput) {
  const Recipe r = parse_recipe(
      "merge_method: karcher\nbase_model: x\nmodels:\n  - model: a\n  - model: b\n"
      "parameters: {max_iter: 5, tol: 1e-4}\n",
      "r");
  ASSERT_EQ(r.models.size(), 3u);
  EXPECT_EQ(r.models[2].path, "x");
  const fwcli::MergeArgs args(r, 1);
  EXPECT_EQ(args.params().max_iter, 5);
  EXPECT_EQ(args.params().tol, 1e-4);
  const Recipe listed = parse_recipe(
      "merge_method: karcher\nbase_model: x\nmodels:\n  - model: x\n  - model: a\n", "r");
  EXPECT_EQ(listed.models.size(), 2u);
}

TEST(Recipe050, PassthroughScalesOneModelWithoutABase) {
  const Recipe r = parse_recipe(
      "merge_method: passthrough\nmodels:\n  - model: a\n    parameters: {scale: 2}\n", "r");
  EXPECT_TRUE(r.base_model.empty());
  EXPECT_EQ(fwcli::MergeArgs(r, 1).params().scale, 2.0);
}

TEST(Recipe050, ErrorsNameTheKeyOrTheCount) {
  EXPECT_TRUE(contains(error_of("merge_method: slerp\nbase_model: x\nmodels:\n  - model: a\n"
                                "  - model: b\n"),
                       "slerp needs exactly 1 model besides the base, got 2"))
      << error_of("merge_method: slerp\nbase_model: x\nmodels:\n  - model: a\n  - model: b\n");
  EXPECT_TRUE(contains(error_of("merge_method: nearswap\nmodels:\n  - model: a\n"),
                       "nearswap needs base_model"));
  EXPECT_TRUE(contains(error_of("merge_method: sce\nbase_model: x\nmodels:\n  - model: a\n"
                                "parameters: {t: 0.5}\n"),
                       "unsupported parameter 't' for sce"));
  EXPECT_TRUE(contains(error_of("merge_method: ram\nbase_model: x\nmodels:\n  - model: a\n"
                                "    parameters: {weight: 1}\n"),
                       "unsupported model parameter 'weight' for ram"));
  EXPECT_TRUE(contains(error_of("merge_method: karcher\nmodels:\n  - model: a\n"
                                "parameters: {max_iter: 2.5}\n"),
                       "max_iter must be a whole number"));
  EXPECT_TRUE(contains(error_of("merge_method: nuslerp\nbase_model: x\nmodels:\n"
                                "  - model: a\n    parameters: {weight: 1}\n"),
                       "nuslerp needs exactly 2 models besides the base, got 1"));
  EXPECT_TRUE(contains(error_of("merge_method: passthrough\nmodels:\n  - model: a\n"
                                "  - model: b\n"),
                       "passthrough needs exactly 1 model, got 2"));
  EXPECT_TRUE(
      contains(error_of("merge_method: frankenstein\nmodels:\n  - model: a\n"), "ramplus_tl"));
}

}  // namespace
