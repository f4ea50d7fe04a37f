#include "recipe.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "yaml_reader.h"

namespace fwcli {
namespace {

// How a method treats base_model (mergekit's contracts).
enum class BaseRule {
  Required,  // the task-vector methods, slerp, nearswap, arcee_fusion
  Optional,  // linear (without one, the first model stands in for the tensor list)
  Ignored,   // passthrough: not an input; the model itself lists the tensors
  Input,     // karcher: one more input when given (mergekit counts it among the models)
};

struct MethodInfo {
  fw_merge_method method;
  bool normalize;                   // mergekit's default for `normalize`
  bool rescale;                     // the only `rescale` fwmerge implements (DARE always rescales)
  std::set<std::string> per_model;  // tensor parameters the method reads
  bool takes_lambda;
  // The 0.5.0 methods' scalar options under the top-level `parameters` (Recipe::options), and
  // how many models besides the base they merge (0: no limit).
  std::set<std::string> options = {};
  BaseRule base = BaseRule::Required;
  size_t min_models = 1, max_models = 0;
};

// The SVD methods weigh nothing, so `normalize` means nothing to them.
bool svd_method(fw_merge_method m) {
  return m == FW_MERGE_METHOD_TSV_M || m == FW_MERGE_METHOD_ISO_C || m == FW_MERGE_METHOD_ISO_CTS;
}

const std::map<std::string, MethodInfo> &methods() {
  static const std::map<std::string, MethodInfo> m = {
      {"linear", {FW_MERGE_METHOD_LINEAR, true, false, {"weight"}, false}},
      {"task_arithmetic", {FW_MERGE_METHOD_TASK_ARITHMETIC, false, false, {"weight"}, true}},
      {"ties", {FW_MERGE_METHOD_TIES, true, false, {"weight", "density"}, true}},
      {"dare_linear", {FW_MERGE_METHOD_DARE_LINEAR, false, true, {"weight", "density"}, true}},
      {"dare_ties", {FW_MERGE_METHOD_DARE_TIES, false, true, {"weight", "density"}, true}},
      {"breadcrumbs",
       {FW_MERGE_METHOD_BREADCRUMBS, false, false, {"weight", "density", "gamma"}, true}},
      {"breadcrumbs_ties",
       {FW_MERGE_METHOD_BREADCRUMBS_TIES, false, false, {"weight", "density", "gamma"}, true}},
      {"model_stock",
       {FW_MERGE_METHOD_MODEL_STOCK, false, false, {}, false, {}, BaseRule::Required, 2}},
      // 0.5.0 (mergekit 0.1.5's parameters; `t` may be a gradient, as lambda).
      {"slerp", {FW_MERGE_METHOD_SLERP, false, false, {}, false, {"t"}, BaseRule::Required, 1, 1}},
      {"nearswap",
       {FW_MERGE_METHOD_NEARSWAP, false, false, {}, false, {"t"}, BaseRule::Required, 1, 1}},
      {"arcee_fusion",
       {FW_MERGE_METHOD_ARCEE_FUSION, false, false, {}, false, {}, BaseRule::Required, 1, 1}},
      {"multislerp",
       {FW_MERGE_METHOD_MULTISLERP, true, false, {"weight"}, false, {"normalize_weights", "eps"}}},
      {"nuslerp",
       {FW_MERGE_METHOD_NUSLERP,
        false,
        false,
        {"weight"},
        false,
        {"nuslerp_flatten", "nuslerp_row_wise"},
        BaseRule::Required,
        2,
        2}},
      {"karcher",
       {FW_MERGE_METHOD_KARCHER, false, false, {}, false, {"max_iter", "tol"}, BaseRule::Input}},
      {"passthrough",
       {FW_MERGE_METHOD_PASSTHROUGH, false, false, {"scale"}, false, {}, BaseRule::Ignored, 1, 1}},
      {"della", {FW_MERGE_METHOD_DELLA, true, true, {"weight", "density", "epsilon"}, true}},
      {"della_linear",
       {FW_MERGE_METHOD_DELLA_LINEAR, false, true, {"weight", "density", "epsilon"}, true}},
      {"sce", {FW_MERGE_METHOD_SCE, false, false, {}, false, {"select_topk"}}},
      {"ram", {FW_MERGE_METHOD_RAM, false, false, {}, false, {"epsilon"}}},
      {"ramplus_tl",
       {FW_MERGE_METHOD_RAMPLUS_TL, false, false, {}, false, {"epsilon", "r", "alpha"}}},
      // Not mergekit's: the SVD methods (lib/merge/svd_merge.h). `lambda` is the papers' alpha
      // (fw_merge_params.scaling, a number or a gradient); iso_cts's `common_space_fraction` is
      // fw_merge_params.select_topk. No per-model parameters: every task vector counts equally.
      {"tsv_m", {FW_MERGE_METHOD_TSV_M, false, false, {}, true}},
      {"iso_c", {FW_MERGE_METHOD_ISO_C, false, false, {}, true}},
      {"iso_cts", {FW_MERGE_METHOD_ISO_CTS, false, false, {}, true, {"common_space_fraction"}}},
  };
  return m;
}

// Where a model's parameter comes from: its own `parameters`, else the top-level ones (mergekit's
// precedence), else the method's default.
struct ParamSource {
  YAML::Node model, global;
  YAML::Node find(const std::string &key) const {
    // IsDefined first: a missing `parameters` is an invalid node, which IsMap() throws on.
    if (model.IsDefined() && model.IsMap() && model[key]) return model[key];
    if (global.IsDefined() && global.IsMap() && global[key]) return global[key];
    return YAML::Node(YAML::NodeType::Undefined);
  }
};

}  // namespace

Recipe parse_recipe(const std::string &text, const std::string &name) {
  const Reader r(name);
  const YAML::Node root = load_yaml(text, name);
  if (!root.IsMap()) r.fail(root, "a recipe is a YAML mapping (merge_method, base_model, models)");

  Recipe recipe;
  recipe.file = name;
  recipe.text = text;
  static const std::set<std::string> top_keys = {
      "merge_method",          "base_model", "models", "parameters", "dtype", "out_dtype",
      "fill_missing_from_base"};
  for (const auto &kv : root) {
    const std::string key = r.key_of(kv.first);
    if (key == "slices")
      r.fail(kv.first, "slices are not supported: merge whole models (`models`)");
    if (!top_keys.count(key)) r.fail(kv.first, "unsupported key '" + key + "'");
  }

  if (!root["merge_method"]) r.fail(root, "merge_method is missing");
  recipe.method_name = r.string_of(root["merge_method"], "merge_method");
  const auto method_names = [] {
    std::string out;
    for (const auto &[name, info] : methods()) out += (out.empty() ? "" : ", ") + name;
    return out;
  };
  const auto found = methods().find(recipe.method_name);
  if (found == methods().end())
    r.fail(root["merge_method"],
           "unsupported merge_method '" + recipe.method_name + "' (" + method_names() + ")");
  const MethodInfo &info = found->second;
  recipe.method = info.method;
  recipe.normalize = info.normalize;
  recipe.model_parameters = info.per_model;
  recipe.takes_lambda = info.takes_lambda;

  if (root["base_model"]) {
    recipe.base_model = r.string_of(root["base_model"], "base_model");
    if (recipe.base_model.find('+') != std::string::npos)
      r.fail(root["base_model"],
             "'model+lora' references are not supported: give the adapter "
             "folder itself as a model");
  } else if (info.base == BaseRule::Required && recipe.method != FW_MERGE_METHOD_LINEAR) {
    r.fail(root, recipe.method_name + " needs base_model");
  }
  recipe.base_is_input = info.base == BaseRule::Input && !recipe.base_model.empty();

  // Top-level parameters: the method's scalars, and catch-all tensor parameters.
  const YAML::Node global = root["parameters"];
  if (global && !global.IsMap()) r.fail(global, "parameters must be a mapping");
  if (global) {
    for (const auto &kv : global) {
      const std::string key = r.key_of(kv.first);
      const YAML::Node &v = kv.second;
      if (key == "t" && info.options.count("t")) {
        recipe.global["t"] = Setting::read(r, v, "t");  // a number or a gradient (MergeArgs)
      } else if (info.options.count(key)) {
        // Flags as 1 / 0, numbers as written; MergeArgs puts each in its fw_merge_params field.
        const bool flag =
            key == "normalize_weights" || key == "nuslerp_flatten" || key == "nuslerp_row_wise";
        recipe.options[key] = flag ? (r.bool_of(v, key) ? 1.0 : 0.0) : r.number_of(v, key);
        if (key == "max_iter" && !(recipe.options[key] >= 0 && recipe.options[key] <= 1e6 &&
                                   std::floor(recipe.options[key]) == recipe.options[key]))
          r.fail(v, "max_iter must be a whole number in [0, 1000000]");
      } else if (key == "normalize" && info.options.empty() &&
                 info.method != FW_MERGE_METHOD_MODEL_STOCK && !svd_method(info.method)) {
        recipe.normalize = r.bool_of(v, "normalize");
      } else if (key == "lambda" && info.takes_lambda) {
        recipe.global["lambda"] = Setting::read(r, v, "lambda");
        if (!v.IsSequence()) recipe.lambda = recipe.global["lambda"].number;
      } else if (key == "rescale" && (info.method == FW_MERGE_METHOD_DELLA ||
                                      info.method == FW_MERGE_METHOD_DELLA_LINEAR)) {
        recipe.rescale = r.bool_of(v, "rescale");  // della: both (fw_merge_params.rescale)
      } else if (key == "rescale" && info.takes_lambda) {
        if (r.bool_of(v, "rescale") != info.rescale)
          r.fail(v, std::string("rescale: ") + (info.rescale ? "false" : "true") +
                        " is not supported with " + recipe.method_name + " (fwmerge " +
                        (info.rescale ? "always rescales DARE's survivors by 1 / density"
                                      : "does not rescale") +
                        ")");
      } else if (key == "int8_mask") {
        r.bool_of(v, "int8_mask");
        recipe.warnings.push_back("int8_mask is ignored (fwmerge keeps no mask tensors)");
      } else if (info.per_model.count(key)) {
        recipe.global[key] = Setting::read(r, v, key);  // a catch-all of the models
      } else {
        r.fail(kv.first, "unsupported parameter '" + key + "' for " + recipe.method_name);
      }
    }
  }

  const YAML::Node models = root["models"];
  if (!models) r.fail(root, "models is missing");
  if (!models.IsSequence()) r.fail(models, "models must be a list of {model: PATH, parameters}");
  for (const YAML::Node &entry : models) {
    if (!entry.IsMap() || !entry["model"])
      r.fail(entry, "each entry of models needs `model: PATH`");
    for (const auto &kv : entry) {
      const std::string key = r.key_of(kv.first);
      if (key != "model" && key != "parameters")
        r.fail(kv.first, "unsupported key '" + key + "' in a model entry");
    }
    RecipeModel m;
    m.line = entry.Mark().line + 1;
    m.path = r.string_of(entry["model"], "model");
    if (m.path.find('+') != std::string::npos)
      r.fail(entry["model"],
             "'model+lora' references are not supported: give the adapter folder "
             "itself as a model");
    const YAML::Node own = entry["parameters"];
    if (own && !own.IsMap()) r.fail(own, "parameters must be a mapping");
    if (own)
      for (const auto &kv : own) {
        const std::string key = r.key_of(kv.first);
        if (!info.per_model.count(key))
          r.fail(kv.first, "unsupported model parameter '" + key + "' for " + recipe.method_name);
        m.own[key] = Setting::read(r, kv.second, key);
      }
    // The base listed among the models (mergekit allows it) contributes no task vector; linear,
    // which averages models rather than task vectors, averages it in with its weight, as mergekit
    // does.
    if (!recipe.base_model.empty() && m.path == recipe.base_model &&
        recipe.method != FW_MERGE_METHOD_LINEAR && !recipe.base_is_input) {
      if (own && own.size() > 0)
        recipe.warnings.push_back("the parameters of base_model's entry in models are ignored");
      continue;
    }
    // Plain numbers are checked here; gradients and filter lists per tensor (MergeArgs).
    const ParamSource p{own, global};
    const auto plain = [&](const char *key) {
      const YAML::Node n = p.find(key);
      return n && !n.IsSequence() ? n : YAML::Node(YAML::NodeType::Undefined);
    };
    if (info.per_model.count("weight")) {
      if (!p.find("weight"))
        r.fail(entry, "weight is missing for model '" + m.path + "' (mergekit requires it)");
      if (const YAML::Node w = plain("weight")) m.weight = r.number_of(w, "weight");
    }
    if (info.per_model.count("density")) {
      if (const YAML::Node d = plain("density")) m.density = r.number_of(d, "density");
      if (!(m.density > 0.0 && m.density <= 1.0))
        r.fail(p.find("density"), "density must be in (0, 1]");
    }
    if (info.per_model.count("epsilon"))
      if (const YAML::Node e = plain("epsilon")) m.epsilon = r.number_of(e, "epsilon");
    if (info.per_model.count("scale"))
      if (const YAML::Node c = plain("scale")) m.scale = r.number_of(c, "scale");
    if (info.per_model.count("gamma")) {
      if (const YAML::Node g = plain("gamma")) m.gamma = r.number_of(g, "gamma");
      if (!(m.gamma >= 0.0 && m.gamma < 1.0)) r.fail(p.find("gamma"), "gamma must be in [0, 1)");
    }
    recipe.models.push_back(m);
  }
  // karcher: base_model is one more input (mergekit counts it among the models), once.
  if (recipe.base_is_input) {
    bool listed = false;
    for (const RecipeModel &m : recipe.models) listed = listed || m.path == recipe.base_model;
    if (!listed) {
      RecipeModel base;
      base.path = recipe.base_model;
      base.line = root["base_model"].Mark().line + 1;
      recipe.models.push_back(base);
    }
  }
  if (recipe.models.empty()) r.fail(models, "models lists no model to merge");
  const size_t count = recipe.models.size();
  if (count < info.min_models || (info.max_models > 0 && count > info.max_models)) {
    const std::string want = info.max_models == info.min_models
                                 ? "exactly " + std::to_string(info.min_models)
                                 : "at least " + std::to_string(info.min_models);
    r.fail(models, recipe.method_name + " needs " + want + " model" +
                       (info.min_models == 1 && info.max_models == 1 ? "" : "s") +
                       (info.base == BaseRule::Required ? " besides the base" : "") + ", got " +
                       std::to_string(count));
  }

  // fwmerge's own key (mergekit has none): fw_merge_params.fill_missing_from_base.
  if (root["fill_missing_from_base"]) {
    if (recipe.base_model.empty())
      r.fail(root["fill_missing_from_base"], "fill_missing_from_base needs base_model");
    recipe.fill_missing_from_base =
        r.bool_of(root["fill_missing_from_base"], "fill_missing_from_base");
  }
  if (root["dtype"]) recipe.out_dtype = recipe.compute_dtype = r.dtype_of(root["dtype"], "dtype");
  if (root["out_dtype"]) recipe.out_dtype = r.dtype_of(root["out_dtype"], "out_dtype");
  return recipe;
}

Recipe read_recipe(const std::string &path) { return parse_recipe(read_recipe_text(path), path); }

bool Recipe::per_tensor() const {
  for (const auto &[key, setting] : global)
    if (setting.per_tensor()) return true;
  for (const RecipeModel &m : models)
    for (const auto &[key, setting] : m.own)
      if (setting.per_tensor()) return true;
  return false;
}

}  // namespace fwcli
