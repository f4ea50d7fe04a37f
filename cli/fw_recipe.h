// The recipe of `fwmerge fw`: a Frank-Wolfe merge with the library's built-in TorchScript
// objective, in YAML, in the style of mergekit's recipes:
//
//   base_model: base/                 # file or Hugging Face folder
//   models: [math/, code/, chat/]     # or [{model: PATH}]; files, folders, PEFT adapter folders
//   objective:
//     module: net.pt                  # TorchScript
//     calibration: calib.safetensors
//     param_map: {fc.weight: classifier.weight}   # optional: module parameter -> base tensor
//     terms:                          # one per task; loss = weighted mean
//       - {method: forward, inputs: x_math, labels: y_math, weight: 1}
//   parameters: {lmo: soft, granularity: layer, top_k: 2, max_iters: 10, ...}  # every fw_params
//                                     # field by its C name (include_tensors: [globs], ...)
//   start: {merge: {method: task_arithmetic, scaling: 0.3}}   # or {member: 0} / {file: PATH}
//   merge_function: {method: ties, density: 0.2}              # optional (default: convex)
//   out_dtype: bfloat16
//
// Validated before any file is touched; every unknown key or bad value is an error naming it and
// its line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fwmerge.h"

namespace fwcli {

struct FwTerm {
  std::string method = "forward", inputs, labels;  // labels empty: prediction entropy
  double weight = 1.0;
};

struct FwRecipe {
  std::string file, text;
  std::string base_model;
  std::vector<std::string> models;
  fw_params params = fw_default_params();  // its tensor filter pointers unset: see below
  std::vector<std::string> include_tensors, exclude_tensors;  // parameters.include_tensors, ...
  std::string module, calibration;
  std::vector<std::pair<std::string, std::string>> param_map;
  std::vector<FwTerm> terms;
  // Start point: the base (default), a pool member, a file, or a data-free merge of the pool.
  int32_t start_member = -1;
  std::string start_file;
  bool start_merge = false;
  fw_merge_params start_merge_params = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  bool merge_function = false;
  fw_merge_params merge_function_params = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  fw_dtype out_dtype = FW_DTYPE_DEFAULT;
};

// Reads and validates `path` (RecipeError "RECIPE:LINE: message").
FwRecipe read_fw_recipe(const std::string &path);
FwRecipe parse_fw_recipe(const std::string &text, const std::string &name);

}  // namespace fwcli
