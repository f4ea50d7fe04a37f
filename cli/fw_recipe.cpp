#include "fw_recipe.h"

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "yaml_reader.h"

namespace fwcli {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

const std::map<std::string, int> kMethods = {
    {"linear", FW_MERGE_METHOD_LINEAR},
    {"task_arithmetic", FW_MERGE_METHOD_TASK_ARITHMETIC},
    {"ties", FW_MERGE_METHOD_TIES},
    {"dare_linear", FW_MERGE_METHOD_DARE_LINEAR},
    {"dare_ties", FW_MERGE_METHOD_DARE_TIES},
    {"breadcrumbs", FW_MERGE_METHOD_BREADCRUMBS},
    {"model_stock", FW_MERGE_METHOD_MODEL_STOCK},
    {"breadcrumbs_ties", FW_MERGE_METHOD_BREADCRUMBS_TIES}};

// {method: NAME, scaling, density, drop_rate, beta, normalize, seed}: the method's defaults
// (fw_default_merge_params) with the keys given.
fw_merge_params merge_params(const Reader &r, const YAML::Node &m, const std::string &where) {
  r.only_keys(m,
              std::set<std::string>{"method", "scaling", "density", "drop_rate", "beta",
                                    "normalize", "seed"},
              where);
  if (!m["method"]) r.fail(m, where + ": method is missing");
  fw_merge_params p = fw_default_merge_params(
      static_cast<fw_merge_method>(r.choice_of(m["method"], where + ".method", kMethods)));
  if (m["scaling"]) p.scaling = r.number_of(m["scaling"], "scaling");
  if (m["density"]) p.density = r.number_of(m["density"], "density");
  if (m["drop_rate"]) p.drop_rate = r.number_of(m["drop_rate"], "drop_rate");
  if (m["beta"]) p.beta = r.number_of(m["beta"], "beta");
  if (m["normalize"]) p.normalize = r.bool_of(m["normalize"], "normalize") ? 1 : 0;
  if (m["seed"]) p.seed = static_cast<uint64_t>(r.int_of(m["seed"], "seed", 0, int64_t{1} << 53));
  return p;
}

// parameters: every fw_params field by its C name, enums by their lower-case names.
void read_params(const Reader &r, const YAML::Node &m, fw_params *p) {
  static const std::set<std::string> keys = {"lmo",
                                             "granularity",
                                             "block_depth",
                                             "score",
                                             "top_k",
                                             "step_rule",
                                             "step_scale",
                                             "line_search_evals",
                                             "soft_solver",
                                             "soft_iters",
                                             "soft_lr",
                                             "soft_memory_budget",
                                             "max_iters",
                                             "epsilon",
                                             "threads",
                                             "seed",
                                             "device",
                                             "device_index",
                                             "work_dtype",
                                             "host_views",
                                             "max_evaluations",
                                             "topk_rule",
                                             "include_tensors",
                                             "exclude_tensors",
                                             "fill_missing_from_base"};
  r.only_keys(m, keys, "parameters");
  auto i32 = [&](const char *k, int64_t lo, int32_t *out) {
    if (m[k]) *out = static_cast<int32_t>(r.int_of(m[k], k, lo, kIntMax));
  };
  auto num = [&](const char *k, double *out) {
    if (m[k]) *out = r.number_of(m[k], k);
  };
  if (m["lmo"])
    p->lmo = static_cast<fw_lmo>(
        r.choice_of(m["lmo"], "lmo", {{"hard", FW_LMO_HARD}, {"soft", FW_LMO_SOFT}}));
  if (m["granularity"])
    p->granularity = static_cast<fw_granularity>(
        r.choice_of(m["granularity"], "granularity",
                    {{"task", FW_GRANULARITY_TASKWISE}, {"layer", FW_GRANULARITY_LAYERWISE}}));
  if (m["score"])
    p->score = static_cast<fw_score>(
        r.choice_of(m["score"], "score", {{"inner", FW_SCORE_INNER}, {"cosine", FW_SCORE_COSINE}}));
  if (m["step_rule"])
    p->step_rule = static_cast<fw_step_rule>(r.choice_of(m["step_rule"], "step_rule",
                                                         {{"line_search", FW_STEP_RULE_LINE_SEARCH},
                                                          {"schedule", FW_STEP_RULE_SCHEDULE},
                                                          {"constant", FW_STEP_RULE_CONSTANT}}));
  if (m["soft_solver"])
    p->soft_solver = static_cast<fw_soft_solver>(r.choice_of(m["soft_solver"], "soft_solver",
                                                             {{"simplex", FW_SOFT_SOLVER_SIMPLEX},
                                                              {"capped", FW_SOFT_SOLVER_CAPPED},
                                                              {"adam", FW_SOFT_SOLVER_ADAM},
                                                              {"box", FW_SOFT_SOLVER_BOX}}));
  if (m["topk_rule"])
    p->topk_rule = static_cast<fw_topk_rule>(
        r.choice_of(m["topk_rule"], "topk_rule",
                    {{"summed", FW_TOPK_RULE_SUMMED}, {"per_term", FW_TOPK_RULE_PER_TERM}}));
  if (m["device"])
    p->device = static_cast<fw_device_type>(r.choice_of(
        m["device"], "device", {{"cpu", FW_DEVICE_TYPE_CPU}, {"cuda", FW_DEVICE_TYPE_CUDA}}));
  if (m["work_dtype"]) p->work_dtype = r.dtype_of(m["work_dtype"], "work_dtype");
  i32("block_depth", 0, &p->block_depth);
  i32("top_k", 1, &p->top_k);
  i32("line_search_evals", 1, &p->line_search_evals);
  i32("soft_iters", 1, &p->soft_iters);
  i32("max_iters", 0, &p->max_iters);
  i32("threads", 0, &p->threads);
  i32("device_index", 0, &p->device_index);
  num("step_scale", &p->step_scale);
  num("soft_lr", &p->soft_lr);
  num("epsilon", &p->epsilon);
  if (m["soft_memory_budget"])
    p->soft_memory_budget = static_cast<uint64_t>(
        r.int_of(m["soft_memory_budget"], "soft_memory_budget", 0, int64_t{1} << 53));
  if (m["seed"]) p->seed = static_cast<uint64_t>(r.int_of(m["seed"], "seed", 0, int64_t{1} << 53));
  if (m["host_views"]) p->host_views = r.bool_of(m["host_views"], "host_views") ? 1 : 0;
  if (m["fill_missing_from_base"])
    p->fill_missing_from_base = r.bool_of(m["fill_missing_from_base"], "fill_missing_from_base");
  if (m["max_evaluations"])
    p->max_evaluations = r.int_of(m["max_evaluations"], "max_evaluations", 0, int64_t{1} << 53);
}

// include_tensors / exclude_tensors: lists of globs (fw_params points at them when the run starts).
std::vector<std::string> read_globs(const Reader &r, const YAML::Node &m, const char *key) {
  std::vector<std::string> globs;
  if (!m[key]) return globs;
  if (!m[key].IsSequence()) r.fail(m[key], std::string(key) + " must be a list of name patterns");
  for (const YAML::Node &g : m[key]) {
    globs.push_back(r.string_of(g, key));
    if (globs.back().empty()) r.fail(g, std::string(key) + ": an empty pattern");
  }
  return globs;
}

void read_objective(const Reader &r, const YAML::Node &m, FwRecipe *recipe) {
  r.only_keys(m, std::set<std::string>{"module", "calibration", "param_map", "terms"}, "objective");
  if (!m["module"]) r.fail(m, "objective.module is missing (a TorchScript file)");
  if (!m["calibration"]) r.fail(m, "objective.calibration is missing (a .safetensors file)");
  recipe->module = r.string_of(m["module"], "objective.module");
  recipe->calibration = r.string_of(m["calibration"], "objective.calibration");
  if (const YAML::Node map = m["param_map"]) {
    if (!map.IsMap()) r.fail(map, "objective.param_map must map module parameters to base tensors");
    for (const auto &kv : map)
      recipe->param_map.emplace_back(r.key_of(kv.first), r.string_of(kv.second, "param_map value"));
  }
  const YAML::Node terms = m["terms"];
  if (!terms || !terms.IsSequence() || terms.size() == 0)
    r.fail(terms ? terms : m, "objective.terms must list at least one {inputs, labels, ...}");
  for (const YAML::Node &t : terms) {
    r.only_keys(t, std::set<std::string>{"method", "inputs", "labels", "weight"}, "a term");
    FwTerm term;
    if (!t["inputs"]) r.fail(t, "a term needs inputs (a calibration tensor name)");
    term.inputs = r.string_of(t["inputs"], "inputs");
    if (t["method"]) term.method = r.string_of(t["method"], "method");
    if (t["labels"]) term.labels = r.string_of(t["labels"], "labels");
    if (t["weight"]) {
      term.weight = r.number_of(t["weight"], "weight");
      if (!(term.weight > 0)) r.fail(t["weight"], "weight must be > 0");
    }
    recipe->terms.push_back(term);
  }
}

}  // namespace

FwRecipe parse_fw_recipe(const std::string &text, const std::string &name) {
  const Reader r(name);
  const YAML::Node root = load_yaml(text, name);
  if (!root.IsMap()) r.fail(root, "a recipe is a YAML mapping (base_model, models, objective)");
  r.only_keys(root,
              std::set<std::string>{"base_model", "models", "objective", "parameters", "start",
                                    "merge_function", "dtype", "out_dtype"},
              "the recipe");
  FwRecipe recipe;
  recipe.file = name;
  recipe.text = text;
  if (!root["base_model"]) r.fail(root, "base_model is missing");
  recipe.base_model = r.string_of(root["base_model"], "base_model");
  const YAML::Node models = root["models"];
  if (!models || !models.IsSequence() || models.size() == 0)
    r.fail(models ? models : root, "models must list the pool (paths or {model: PATH})");
  for (const YAML::Node &m : models) {
    if (m.IsMap()) {
      r.only_keys(m, std::set<std::string>{"model"}, "a model entry");
      if (!m["model"]) r.fail(m, "a model entry needs `model: PATH`");
      recipe.models.push_back(r.string_of(m["model"], "model"));
    } else {
      recipe.models.push_back(r.string_of(m, "model"));
    }
  }
  if (!root["objective"]) r.fail(root, "objective is missing (module, calibration, terms)");
  read_objective(r, root["objective"], &recipe);
  if (root["parameters"]) {
    read_params(r, root["parameters"], &recipe.params);
    recipe.include_tensors = read_globs(r, root["parameters"], "include_tensors");
    recipe.exclude_tensors = read_globs(r, root["parameters"], "exclude_tensors");
  }
  if (const YAML::Node start = root["start"]) {
    r.only_keys(start, std::set<std::string>{"member", "file", "merge"}, "start");
    if (start.size() != 1) r.fail(start, "start takes one of member, file or merge");
    if (start["member"])
      recipe.start_member = static_cast<int32_t>(r.int_of(
          start["member"], "start.member", 0, static_cast<int64_t>(recipe.models.size()) - 1));
    if (start["file"]) recipe.start_file = r.string_of(start["file"], "start.file");
    if (start["merge"]) {
      recipe.start_merge = true;
      recipe.start_merge_params = merge_params(r, start["merge"], "start.merge");
    }
  }
  if (const YAML::Node f = root["merge_function"]) {
    recipe.merge_function = true;
    recipe.merge_function_params = merge_params(r, f, "merge_function");
  }
  if (root["dtype"]) recipe.out_dtype = r.dtype_of(root["dtype"], "dtype");
  if (root["out_dtype"]) recipe.out_dtype = r.dtype_of(root["out_dtype"], "out_dtype");
  return recipe;
}

FwRecipe read_fw_recipe(const std::string &path) {
  return parse_fw_recipe(read_recipe_text(path), path);
}

}  // namespace fwcli
