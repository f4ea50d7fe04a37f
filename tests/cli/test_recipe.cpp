// mergekit recipes: what fwmerge reads from them (fields, fw_merge_params) and the errors for what
// it does not support, each naming the key and its line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "merge_args.h"
#include "recipe.h"
#include "recipe_setting.h"
#include "recipe_test_util.h"

namespace {

using fwcli::parse_recipe;
using fwcli::Recipe;
using fwcli::RecipeError;

using recipe_test::error_of;

TEST(Recipe, TiesWithPerModelParametersAndCatchAlls) {
  const Recipe r = parse_recipe(R"(merge_method: ties
base_model: base
models:
  - model: a
    parameters: {weight: 2, density: 0.5}
  - model: b
    parameters:
      density: 0.7
  - model: base
parameters:
  weight: 0.25
  normalize: false
  lambda: 0.5
dtype: bfloat16
out_dtype: float32
)",
                                "r.yml");
  EXPECT_EQ(r.method, FW_MERGE_METHOD_TIES);
  EXPECT_EQ(r.base_model, "base");
  ASSERT_EQ(r.models.size(), 2u);  // the base's own entry contributes no task vector
  EXPECT_EQ(r.models[0].path, "a");
  EXPECT_EQ(r.models[0].weight, 2.0);
  EXPECT_EQ(r.models[0].density, 0.5);
  EXPECT_EQ(r.models[1].weight, 0.25);  // the top-level catch-all
  EXPECT_EQ(r.models[1].density, 0.7);
  EXPECT_FALSE(r.normalize);
  EXPECT_EQ(r.lambda, 0.5);
  EXPECT_EQ(r.out_dtype, FW_DTYPE_F32);  // out_dtype wins over dtype

  const fwcli::MergeArgs args(r, 1);
  const fw_merge_params &p = args.params();
  EXPECT_EQ(p.method, FW_MERGE_METHOD_TIES);
  EXPECT_EQ(p.scaling, 0.5);
  EXPECT_EQ(p.normalize, 0);
  ASSERT_NE(p.weights, nullptr);
  ASSERT_NE(p.densities, nullptr);
  EXPECT_EQ(p.betas, nullptr);
  EXPECT_EQ(std::vector<double>(p.weights, p.weights + 2), (std::vector<double>{2.0, 0.25}));
  EXPECT_EQ(std::vector<double>(p.densities, p.densities + 2), (std::vector<double>{0.5, 0.7}));
}

// fwmerge's own top-level key: members lacking a base tensor read it from the base.
TEST(Recipe, FillMissingFromBaseReachesTheParams) {
  const std::string head =
      "merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: a\n"
      "    parameters: {weight: 1}\n";
  const Recipe off = parse_recipe(head, "r.yml");
  EXPECT_FALSE(off.fill_missing_from_base);
  EXPECT_EQ(fwcli::MergeArgs(off, 1).params().fill_missing_from_base, 0);
  const Recipe on = parse_recipe(head + "fill_missing_from_base: true\n", "r.yml");
  EXPECT_TRUE(on.fill_missing_from_base);
  EXPECT_EQ(fwcli::MergeArgs(on, 1).params().fill_missing_from_base, 1);
  EXPECT_EQ(error_of(head + "fill_missing_from_base: sometimes\n"),
            "r.yml:6: fill_missing_from_base must be true or false, not 'sometimes'");
  EXPECT_EQ(error_of("merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1}\n"
                     "fill_missing_from_base: true\n"),
            "r.yml:5: fill_missing_from_base needs base_model");
}

TEST(Recipe, LinearAveragesInTheBaseWhenModelsListIt) {
  const Recipe r = parse_recipe(
      "merge_method: linear\nbase_model: base\nmodels:\n  - model: base\n    parameters: "
      "{weight: 1}\n  - model: a\n    parameters: {weight: 3}\n",
      "r.yml");
  ASSERT_EQ(r.models.size(), 2u);
  EXPECT_EQ(r.models[0].path, "base");
  EXPECT_EQ(r.models[0].weight, 1.0);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Recipe, MergekitDefaultsPerMethod) {
  const std::string models =
      "models:\n  - model: a\n    parameters: {weight: 1}\n"
      "  - model: b\n    parameters: {weight: 1}\n";
  // normalize: true for linear and ties, false for the others; lambda 1; dtype: the base's.
  EXPECT_TRUE(parse_recipe("merge_method: linear\n" + models, "r").normalize);
  EXPECT_TRUE(parse_recipe("merge_method: ties\nbase_model: x\n" + models, "r").normalize);
  for (const char *m :
       {"task_arithmetic", "dare_linear", "dare_ties", "breadcrumbs", "breadcrumbs_ties"}) {
    const Recipe r =
        parse_recipe("merge_method: " + std::string(m) + "\nbase_model: x\n" + models, "r");
    EXPECT_FALSE(r.normalize) << m;
    EXPECT_EQ(r.lambda, 1.0) << m;
    EXPECT_EQ(r.out_dtype, FW_DTYPE_DEFAULT) << m;
    EXPECT_EQ(r.models[0].density, 1.0) << m;
  }
  // linear needs no base; model_stock takes no weights.
  EXPECT_TRUE(parse_recipe("merge_method: linear\n" + models, "r").base_model.empty());
  const Recipe stock = parse_recipe(
      "merge_method: model_stock\nbase_model: x\nmodels:\n  - model: a\n"
      "  - model: b\n",
      "r");
  EXPECT_EQ(fwcli::MergeArgs(stock, 1).params().weights, nullptr);
}

TEST(Recipe, BreadcrumbsGammaAndDareDensityReachTheParams) {
  const Recipe b = parse_recipe(R"(merge_method: breadcrumbs_ties
base_model: x
models:
  - model: a
    parameters: {weight: 1, density: 0.9, gamma: 0.02}
  - model: b
    parameters: {weight: 1}
)",
                                "r");
  const fwcli::MergeArgs b_args(b, 1);
  const fw_merge_params *p = &b_args.params();
  ASSERT_NE(p->betas, nullptr);
  EXPECT_EQ(std::vector<double>(p->betas, p->betas + 2), (std::vector<double>{0.02, 0.01}));
  EXPECT_EQ(std::vector<double>(p->densities, p->densities + 2), (std::vector<double>{0.9, 1.0}));

  const Recipe d = parse_recipe(
      "merge_method: dare_ties\nbase_model: x\nmodels:\n  - model: a\n    parameters: "
      "{weight: 1, density: 0.3}\nparameters: {rescale: true, int8_mask: true}\n",
      "r");
  const fwcli::MergeArgs d_args(d, 1);
  EXPECT_EQ(d_args.params().densities[0], 0.3);  // DARE: the keep probability
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("int8_mask is ignored"), std::string::npos);
}

struct BadRecipe {
  std::string yaml;
  const char *message;  // a part of the error text, with the line where one applies
};

TEST(Recipe, EveryUnsupportedOrInvalidKeyIsAnErrorNamingItAndItsLine) {
  const std::string two = "models:\n  - model: a\n    parameters: {weight: 1}\n";
  const std::vector<BadRecipe> cases = {
      {"merge_method: [ties", "not valid YAML"},
      {"- ties\n", "r.yml:1: a recipe is a YAML mapping"},
      {"base_model: x\nmodels: []\n", "merge_method is missing"},
      {"merge_method: frankenmerge\nbase_model: x\n",
       "r.yml:1: unsupported merge_method 'frankenmerge'"},
      {"merge_method: ties\nslices: []\n", "r.yml:2: slices are not supported"},
      {"merge_method: ties\nbase_model: x\ntokenizer_source: union\n",
       "r.yml:3: unsupported key 'tokenizer_source'"},
      {"merge_method: ties\nmodels: []\n", "ties needs base_model"},
      {"merge_method: ties\nbase_model: x\n", "models is missing"},
      {"merge_method: ties\nbase_model: x\nmodels: a\n", "r.yml:3: models must be a list"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - parameters: {weight: 1}\n",
       "r.yml:4: each entry of models needs `model: PATH`"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    layer_range: [0, 4]\n",
       "r.yml:5: unsupported key 'layer_range' in a model entry"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters: {weight: 1, "
       "gamma: 0.1}\n",
       "r.yml:5: unsupported model parameter 'gamma' for ties"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n",
       "r.yml:4: weight is missing for model 'a'"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: 1\n      density: 0\n",
       "r.yml:7: density must be in (0, 1]"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: 1\n      density: []\n",
       "r.yml:7: density: an empty list"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: 1\n      density: [{filter: mlp}]\n",
       "r.yml:7: density: a filter entry needs `value`"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: 1\n      density: [{filter: mlp, value: 0.5, layers: 2}]\n",
       "r.yml:7: unsupported key 'layers' in density's filter list"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: [1, heavy]\n",
       "r.yml:6: weight must be a number, not 'heavy'"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: {filter: mlp, value: 1}\n",
       "r.yml:6: weight must be one number here"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: [[1, 2]]\n",
       "r.yml:6: weight: a gradient is a list of numbers"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
       "      weight: heavy\n",
       "r.yml:6: weight must be a number, not 'heavy'"},
      {"merge_method: ties\nbase_model: x\n" + two + "parameters:\n  normalize: maybe\n",
       "r.yml:7: normalize must be true or false, not 'maybe'"},
      {"merge_method: dare_ties\nbase_model: x\n" + two + "parameters:\n  rescale: false\n",
       "r.yml:7: rescale: false is not supported with dare_ties"},
      {"merge_method: linear\n" + two + "parameters:\n  lambda: 2\n",
       "r.yml:6: unsupported parameter 'lambda' for linear"},
      {"merge_method: ties\nbase_model: x\n" + two + "dtype: int8\n",
       "r.yml:6: dtype: unknown dtype 'int8'"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: a+lora\n",
       "r.yml:4: 'model+lora' references are not supported"},
      {"merge_method: model_stock\nbase_model: x\nmodels:\n  - model: a\n",
       "r.yml:4: model_stock needs at least 2 models"},
      {"merge_method: breadcrumbs\nbase_model: x\nmodels:\n  - model: a\n    parameters: "
       "{weight: 1, gamma: 1.0}\n",
       "r.yml:5: gamma must be in [0, 1)"},
      {"merge_method: ties\nbase_model: x\nmodels:\n  - model: x\n", "models lists no model"},
      {"merge_method: model_stock\nbase_model: x\nmodels:\n  - model: a\n  - model: b\n"
       "parameters: {filter_wise: true}\n",
       "r.yml:6: unsupported parameter 'filter_wise' for model_stock"},
  };
  ASSERT_GE(cases.size(), 15u);
  for (const BadRecipe &c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_NE(e.find(c.message), std::string::npos)
        << "recipe:\n"
        << c.yaml << "\nerror: " << e << "\nwanted: " << c.message;
  }
}

TEST(RecipeSetting, GradientsAndFilterListsAsMergekitEvaluatesThem) {
  const fwcli::Reader r("r.yml");
  const YAML::Node g = YAML::Load("[0.2, 0.6, 1.0]");
  const fwcli::Setting grad = fwcli::Setting::read(r, g, "density");
  // scaled = t * 2: t = 0 -> 0.2; t = 0.25 -> halfway between 0.2 and 0.6; t = 1 -> 1.0.
  EXPECT_DOUBLE_EQ(*grad.at("x", 0.0), 0.2);
  EXPECT_DOUBLE_EQ(*grad.at("x", 0.25), 0.4);
  EXPECT_DOUBLE_EQ(*grad.at("x", 0.75), 0.8);
  EXPECT_DOUBLE_EQ(*grad.at("x", 1.0), 1.0);
  const YAML::Node c = YAML::Load(
      "[{filter: self_attn, value: 0.5}, {filter: mlp, value: [0, 1]}, {filter: '*', value: 3}]");
  const fwcli::Setting conds = fwcli::Setting::read(r, c, "weight");
  EXPECT_EQ(*conds.at("model.layers.0.self_attn.q_proj.weight", 0), 0.5);  // a substring
  EXPECT_EQ(*conds.at("model.layers.1.mlp.up_proj.weight", 0.5), 0.5);     // nested gradient
  EXPECT_EQ(*conds.at("model.norm.weight", 0), 3.0);                       // the catch-all
  const fwcli::Setting no_catch_all =
      fwcli::Setting::read(r, YAML::Load("[{filter: mlp, value: 1}]"), "weight");
  EXPECT_FALSE(no_catch_all.at("model.norm.weight", 0).has_value());
  EXPECT_EQ(*no_catch_all.at("x.mlp.y", 0), 1.0);
  // Layer positions: i / (L - 1) by the first numeric component; the rest 0.
  EXPECT_EQ(fwcli::layer_positions({"model.embed_tokens.weight", "model.layers.0.a",
                                    "model.layers.2.a", "model.layers.1.b", "lm_head.weight"}),
            (std::vector<double>{0, 0, 1, 0.5, 0}));
  EXPECT_EQ(fwcli::layer_positions({"h.0.w", "w"}), (std::vector<double>{1, 0}));  // one layer
}

TEST(Recipe, FilterListsAndGradientsBecomeOverridesOfExactTensorNames) {
  const Recipe r = parse_recipe(R"(merge_method: ties
base_model: base
models:
  - model: a
    parameters:
      weight: 1
      density: [{filter: mlp, value: 0.3}, {value: 0.6}]
  - model: b
    parameters:
      weight: [1, 3]
parameters:
  density: 0.5
  lambda: [{filter: embed, value: 0.5}]
)",
                                "r.yml");
  EXPECT_TRUE(r.per_tensor());
  const std::vector<std::string> names = {"embed[0]", "layers.0.mlp", "layers.1.mlp",
                                          "layers.1.attn", "layers.2.attn"};
  const fwcli::MergeArgs args(r, 1, names);
  const fw_merge_params &p = args.params();
  // a's density: 0.3 on the two mlp tensors, 0.6 elsewhere (3 of 5: the array value).
  EXPECT_EQ(p.densities[0], 0.6);
  // b's density: the top-level 0.5 everywhere; b's weight: 1 + 2 t over layers 0..2 (t = 0, 0.5,
  // 0.5, 1), 1 on the embedding: 1 is the array value (embed, layer 0), 2 and 3 overrides.
  EXPECT_EQ(p.densities[1], 0.5);
  EXPECT_EQ(p.weights[0], 1.0);
  EXPECT_EQ(p.weights[1], 1.0);
  // lambda: 0.5 on the embedding, the default 1 on the rest.
  EXPECT_EQ(p.scaling, 1.0);
  struct Expected {
    std::string tensors;
    int64_t member;
    fw_merge_field field;
    double value;
  };
  const std::vector<Expected> expected = {{"layers.0.mlp", 0, FW_MERGE_FIELD_DENSITY, 0.3},
                                          {"layers.1.mlp", 0, FW_MERGE_FIELD_DENSITY, 0.3},
                                          {"layers.1.mlp", 1, FW_MERGE_FIELD_WEIGHT, 2.0},
                                          {"layers.1.attn", 1, FW_MERGE_FIELD_WEIGHT, 2.0},
                                          {"layers.2.attn", 1, FW_MERGE_FIELD_WEIGHT, 3.0},
                                          {"embed\\[0\\]", -1, FW_MERGE_FIELD_SCALING, 0.5}};
  ASSERT_EQ(p.n_overrides, expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(p.overrides[k].tensors, expected[k].tensors) << k;
    EXPECT_EQ(p.overrides[k].member, expected[k].member) << k;
    EXPECT_EQ(p.overrides[k].field, expected[k].field) << k;
    EXPECT_EQ(p.overrides[k].value, expected[k].value) << k;
  }
  // Plain recipes have none.
  const Recipe plain = parse_recipe(
      "merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters: {weight: 1}\n",
      "r.yml");
  EXPECT_FALSE(plain.per_tensor());
  EXPECT_EQ(fwcli::MergeArgs(plain, 1).params().n_overrides, 0u);
}

TEST(Recipe, PerTensorValuesOutOfRangeOrMissingAreErrorsNamingTheTensor) {
  const auto error = [](const std::string &yaml, const std::vector<std::string> &names) {
    try {
      const fwcli::MergeArgs args(parse_recipe(yaml, "r.yml"), 1, names);
    } catch (const RecipeError &e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error("merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
                  "      weight: 1\n      density: [{filter: mlp, value: 1.5}]\n",
                  {"l.0.mlp"})
                .find("r.yml:7: density 1.500000 for tensor 'l.0.mlp' is outside (0, 1]"),
            std::string::npos);
  EXPECT_NE(error("merge_method: ties\nbase_model: x\nmodels:\n  - model: a\n    parameters:\n"
                  "      weight: [{filter: mlp, value: 2}]\n",
                  {"l.0.mlp", "l.0.attn"})
                .find("r.yml:4: no weight for model 'a' at tensor 'l.0.attn'"),
            std::string::npos);
}

TEST(Recipe, AMissingFileIsAnError) {
  try {
    fwcli::read_recipe(std::string(FW_TEST_TMP) + "/no-such-recipe.yml");
    FAIL() << "no error";
  } catch (const RecipeError &e) {
    EXPECT_NE(std::string(e.what()).find("cannot open the recipe"), std::string::npos);
  }
}

}  // namespace
