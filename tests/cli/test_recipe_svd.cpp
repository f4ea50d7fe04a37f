// The SVD methods in recipes (`merge_method: tsv_m | iso_c | iso_cts`): `lambda` is the papers'
// alpha (fw_merge_params.scaling, a number or a gradient), iso_cts's `common_space_fraction` is
// select_topk, mergekit_compat stays off (they are not mergekit's), and what they do not take is
// refused naming it.
#include <gtest/gtest.h>

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

TEST(RecipeSvd, IsoCtsTakesLambdaAndCommonSpaceFraction) {
  const Recipe r = parse_recipe(R"(merge_method: iso_cts
base_model: base
models:
  - model: a
  - model: b
  - model: c
parameters:
  lambda: 1.5
  common_space_fraction: 0.6
)",
                                "r");
  ASSERT_EQ(r.models.size(), 3u);
  const fwcli::MergeArgs args(r, 1);
  const fw_merge_params &p = args.params();
  EXPECT_EQ(p.method, FW_MERGE_METHOD_ISO_CTS);
  EXPECT_EQ(p.scaling, 1.5);
  EXPECT_EQ(p.select_topk, 0.6);
  EXPECT_EQ(p.weights, nullptr);
  EXPECT_EQ(p.mergekit_compat, 0);  // not a mergekit method: nothing to reproduce
}

TEST(RecipeSvd, DefaultsWithoutParameters) {
  for (const char *name : {"tsv_m", "iso_c", "iso_cts"}) {
    const Recipe r = parse_recipe(std::string("merge_method: ") + name +
                                      "\nbase_model: x\nmodels:\n  - model: a\n  - model: b\n",
                                  "r");
    const fwcli::MergeArgs args(r, 1);
    EXPECT_EQ(args.params().scaling, 1.0) << name;
    EXPECT_EQ(args.params().select_topk, r.method == FW_MERGE_METHOD_ISO_CTS ? 0.8 : 1.0) << name;
  }
  EXPECT_EQ(parse_recipe("merge_method: tsv_m\nbase_model: x\nmodels:\n  - model: a\n", "r").method,
            FW_MERGE_METHOD_TSV_M);
  EXPECT_EQ(parse_recipe("merge_method: iso_c\nbase_model: x\nmodels:\n  - model: a\n", "r").method,
            FW_MERGE_METHOD_ISO_C);
}

// lambda as a gradient: per-tensor FW_MERGE_FIELD_SCALING overrides, as for task_arithmetic.
TEST(RecipeSvd, LambdaGradientBecomesPerTensorScaling) {
  const Recipe r = parse_recipe(
      "merge_method: iso_c\nbase_model: x\nmodels:\n  - model: a\n  - model: b\n"
      "parameters:\n  lambda: [1, 2]\n",
      "r");
  const std::vector<std::string> names = {"model.layers.0.w", "model.layers.1.w"};
  const fwcli::MergeArgs args(r, 1, names);
  const fw_merge_params &p = args.params();
  ASSERT_EQ(p.n_overrides, 1u);
  EXPECT_EQ(p.overrides[0].field, FW_MERGE_FIELD_SCALING);
  EXPECT_EQ(p.overrides[0].member, -1);
}

TEST(RecipeSvd, ErrorsNameTheKey) {
  EXPECT_TRUE(
      contains(error_of("merge_method: tsv_m\nmodels:\n  - model: a\n"), "tsv_m needs base_model"));
  EXPECT_TRUE(contains(error_of("merge_method: iso_c\nbase_model: x\nmodels:\n  - model: a\n"
                                "    parameters: {weight: 1}\n"),
                       "unsupported model parameter 'weight' for iso_c"));
  EXPECT_TRUE(contains(error_of("merge_method: tsv_m\nbase_model: x\nmodels:\n  - model: a\n"
                                "parameters: {common_space_fraction: 0.5}\n"),
                       "unsupported parameter 'common_space_fraction' for tsv_m"));
  EXPECT_TRUE(contains(error_of("merge_method: iso_c\nbase_model: x\nmodels:\n  - model: a\n"
                                "parameters: {normalize: true}\n"),
                       "unsupported parameter 'normalize' for iso_c"));
  EXPECT_TRUE(contains(error_of("merge_method: iso_cts\nbase_model: x\nmodels:\n  - model: a\n"
                                "parameters: {common_space_fraction: [0, 1]}\n"),
                       "common_space_fraction"));
}

}  // namespace
