// A mergekit YAML recipe (the subset fwmerge runs), read with yaml-cpp and validated before any
// file is touched: every key fwmerge does not support is an error that names the key and its line,
// never silently ignored (one exception, int8_mask, only changes mergekit's mask storage and is
// ignored with a warning).
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "fwmerge.h"
#include "recipe_setting.h"

namespace fwcli {

struct RecipeModel {
  std::string path;
  int line = 0;  // of its entry in `models`
  // The values when the recipe gives plain numbers (else these defaults; see Recipe::per_tensor).
  double weight = 1.0;
  double density = 1.0;   // mergekit's default
  double gamma = 0.01;    // breadcrumbs' beta; mergekit's default
  double epsilon = 0.15;  // della's; mergekit's default
  double scale = 1.0;     // passthrough's
  // Its own `parameters` as written (weight, density, gamma), gradients and filter lists included.
  std::map<std::string, Setting> own;
};

struct Recipe {
  std::string file;  // where it was read from (for messages and the model card)
  std::string text;  // the YAML as written (for the model card)
  fw_merge_method method = FW_MERGE_METHOD_LINEAR;
  std::string method_name;  // as written ("ties", ...)
  // What the method reads: its per-model parameters (weight, density, gamma) and lambda.
  std::set<std::string> model_parameters;
  bool takes_lambda = false;
  std::string base_model;  // empty: linear without a base (the first model stands in)
  std::vector<RecipeModel> models;
  bool normalize = false;
  bool rescale = true;  // della's `rescale`
  double lambda = 1.0;
  // The 0.5.0 methods' scalar options as written (t excepted: it is in `global`, as lambda):
  // normalize_weights, eps, nuslerp_flatten, nuslerp_row_wise, max_iter, tol, select_topk, epsilon,
  // r, alpha, common_space_fraction (iso_cts); flags as 1 / 0.
  std::map<std::string, double> options;
  // karcher with base_model: the base is also one of `models` (an input, as mergekit counts it).
  bool base_is_input = false;
  fw_dtype out_dtype = FW_DTYPE_DEFAULT;  // out_dtype, else dtype, else each tensor's base dtype
  fw_dtype compute_dtype =
      FW_DTYPE_DEFAULT;  // mergekit's working dtype: `dtype`, else each tensor's
  // A model lacking a floating-point tensor of the base reads it from the base (the top-level
  // `fill_missing_from_base: true`, fwmerge's own key); else the merge stops there, as mergekit's.
  bool fill_missing_from_base = false;
  std::vector<std::string> warnings;
  // Top-level `parameters` as written: the models' catch-alls (weight, density, gamma) and lambda.
  std::map<std::string, Setting> global;

  // Whether some value is a gradient or a filter list: the merge then needs the base's tensor
  // names (MergeArgs), and RecipeModel's numbers and `lambda` do not tell the whole recipe.
  bool per_tensor() const;
};

// Reads and validates `path`. Throws RecipeError.
Recipe read_recipe(const std::string &path);
// Same, from text (tests); `name` stands for the file in messages.
Recipe parse_recipe(const std::string &text, const std::string &name);

}  // namespace fwcli
