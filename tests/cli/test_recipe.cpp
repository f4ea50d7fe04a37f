// mergekit recipes: what fwmerge reads from them (fields, fw_merge_params) and the errors for what
// it does not support, each naming the key and its line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recipe.h"

namespace {

using fwcli::parse_recipe;
using fwcli::Recipe;
using fwcli::RecipeError;

std::string error_of(const std::string &yaml) {
  try {
    parse_recipe(yaml, "r.yml");
  } catch (const RecipeError &e) {
    return e.what();
  }
  return "(no error)";
}

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
  EXPECT_EQ(r.method, FW_MERGE_TIES);
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

  std::vector<double> storage;
  const fw_merge_params p = fwcli::merge_params_of(r, &storage);
  EXPECT_EQ(p.method, FW_MERGE_TIES);
  EXPECT_EQ(p.scaling, 0.5);
  EXPECT_EQ(p.normalize, 0);
  ASSERT_NE(p.weights, nullptr);
  ASSERT_NE(p.densities, nullptr);
  EXPECT_EQ(p.betas, nullptr);
  EXPECT_EQ(std::vector<double>(p.weights, p.weights + 2), (std::vector<double>{2.0, 0.25}));
  EXPECT_EQ(std::vector<double>(p.densities, p.densities + 2), (std::vector<double>{0.5, 0.7}));
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
  std::vector<double> storage;
  EXPECT_EQ(fwcli::merge_params_of(stock, &storage).weights, nullptr);
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
  std::vector<double> storage;
  fw_merge_params p = fwcli::merge_params_of(b, &storage);
  ASSERT_NE(p.betas, nullptr);
  EXPECT_EQ(std::vector<double>(p.betas, p.betas + 2), (std::vector<double>{0.02, 0.01}));
  EXPECT_EQ(std::vector<double>(p.densities, p.densities + 2), (std::vector<double>{0.9, 1.0}));

  const Recipe d = parse_recipe(
      "merge_method: dare_ties\nbase_model: x\nmodels:\n  - model: a\n    parameters: "
      "{weight: 1, density: 0.3}\nparameters: {rescale: true, int8_mask: true}\n",
      "r");
  p = fwcli::merge_params_of(d, &storage);
  EXPECT_EQ(p.densities[0], 0.3);  // DARE: the keep probability
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
      {"merge_method: slerp\nbase_model: x\n", "r.yml:1: unsupported merge_method 'slerp'"},
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
       "      weight: 1\n      density: [0.1, 0.5]\n",
       "r.yml:7: density: per-tensor values (gradients, filter lists) are not supported"},
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

TEST(Recipe, AMissingFileIsAnError) {
  try {
    fwcli::read_recipe(std::string(FW_TEST_TMP) + "/no-such-recipe.yml");
    FAIL() << "no error";
  } catch (const RecipeError &e) {
    EXPECT_NE(std::string(e.what()).find("cannot open the recipe"), std::string::npos);
  }
}

}  // namespace
