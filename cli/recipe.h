// A mergekit YAML recipe (the subset fwmerge runs), read with yaml-cpp and validated before any
// file is touched: every key fwmerge does not support is an error that names the key and its line,
// never silently ignored (one exception, int8_mask, only changes mergekit's mask storage and is
// ignored with a warning).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "fwmerge.h"

namespace fwcli {

// A recipe error: "RECIPE:LINE: message".
class RecipeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RecipeModel {
  std::string path;
  double weight = 1.0;
  double density = 1.0;  // mergekit's default
  double gamma = 0.01;   // breadcrumbs' beta; mergekit's default
};

struct Recipe {
  std::string file;  // where it was read from (for messages and the model card)
  std::string text;  // the YAML as written (for the model card)
  fw_merge_method method = FW_MERGE_LINEAR;
  std::string method_name;  // as written ("ties", ...)
  std::string base_model;   // empty: linear without a base (the first model stands in)
  std::vector<RecipeModel> models;
  bool normalize = false;
  double lambda = 1.0;
  fw_dtype out_dtype = FW_DTYPE_DEFAULT;  // out_dtype, else dtype, else each tensor's base dtype
  fw_dtype compute_dtype =
      FW_DTYPE_DEFAULT;  // mergekit's working dtype: `dtype`, else each tensor's
  std::vector<std::string> warnings;
};

// Reads and validates `path`. Throws RecipeError.
Recipe read_recipe(const std::string &path);
// Same, from text (tests); `name` stands for the file in messages.
Recipe parse_recipe(const std::string &text, const std::string &name);

// fw_merge_params for the recipe. The arrays point into `storage` (3 * n doubles), which must
// outlive the call that reads them. mergekit: mergekit's arithmetic (fw_merge_params.
// mergekit_compat) in the recipe's compute dtype, the default of `fwmerge merge`; false:
// fwmerge's (fp32, rounded once).
fw_merge_params merge_params_of(const Recipe &recipe, std::vector<double> *storage,
                                bool mergekit = true);

}  // namespace fwcli
