#include "fw_run.h"

#include <memory>
#include <stdexcept>
#include <vector>

#include "fw_recipe.h"
#include "model_card.h"
#include "out_dir.h"
#include "progress.h"

namespace fwcli {
namespace {

struct SolverDeleter {
  void operator()(fw_solver *s) const { fw_solver_free(s); }
};

// A library error as the command reports it.
struct LibraryError : std::runtime_error {
  LibraryError(fw_status st, const std::string &what)
      : std::runtime_error(what + ": " + fw_status_name(st) + ": " + fw_last_error()), status(st) {}
  fw_status status;
};

void check(fw_status st, const std::string &what) {
  if (st != FW_OK) throw LibraryError(st, what);
}

void on_progress(const fw_step_info *info, void *user) {
  static_cast<Progress *>(user)->step(info->iteration + 1, info->loss, info->gap,
                                      info->evaluations);
}

void on_log(fw_log_level level, const char *message, void *user) {
  if (level >= FW_LOG_LEVEL_WARN) static_cast<Progress *>(user)->message(message);
}

}  // namespace

int run_fw(const std::string &recipe_path, const std::string &out_dir, uint64_t max_shard_bytes,
           bool quiet, fw_abort_fn abort, bool allow_outside_links) {
  const FwRecipe recipe = read_fw_recipe(recipe_path);
  require_new_folder(out_dir);  // before any work; fw_solver_export checks it again
  Progress progress(recipe.params.max_iters, quiet);
  try {
    fw_params params = recipe.params;
    params.allow_outside_links = allow_outside_links ? 1 : 0;
    std::vector<const char *> include, exclude;
    for (const std::string &g : recipe.include_tensors) include.push_back(g.c_str());
    for (const std::string &g : recipe.exclude_tensors) exclude.push_back(g.c_str());
    params.include_tensors = include.empty() ? nullptr : include.data();
    params.n_include_tensors = include.size();
    params.exclude_tensors = exclude.empty() ? nullptr : exclude.data();
    params.n_exclude_tensors = exclude.size();
    fw_solver *raw = nullptr;
    check(fw_solver_new(&params, &raw), "parameters");
    const std::unique_ptr<fw_solver, SolverDeleter> solver(raw);
    check(fw_solver_set_base(raw, recipe.base_model.c_str()), "base_model " + recipe.base_model);
    for (const std::string &m : recipe.models)
      check(fw_solver_pool_add(raw, m.c_str(), nullptr), "model " + m);

    std::vector<fw_objective_term> terms;
    for (const FwTerm &t : recipe.terms)
      terms.push_back({t.method.c_str(), t.inputs.c_str(),
                       t.labels.empty() ? nullptr : t.labels.c_str(), t.weight});
    std::vector<const char *> map;
    for (const auto &[param, tensor] : recipe.param_map) {
      map.push_back(param.c_str());
      map.push_back(tensor.c_str());
    }
    fw_torchscript_objective objective = fw_default_torchscript_objective();
    objective.module_path = recipe.module.c_str();
    objective.calibration_path = recipe.calibration.c_str();
    objective.param_map = map.empty() ? nullptr : map.data();
    objective.n_param_map = recipe.param_map.size();
    objective.terms = terms.data();
    objective.n_terms = terms.size();
    check(fw_solver_set_objective_torchscript(raw, &objective), "objective");

    if (recipe.start_member >= 0)
      check(fw_solver_set_start_member(raw, recipe.start_member), "start.member");
    if (!recipe.start_file.empty())
      check(fw_solver_set_start_file(raw, recipe.start_file.c_str()), "start.file");
    if (recipe.start_merge)
      check(fw_solver_set_start_merge(raw, &recipe.start_merge_params), "start.merge");
    if (recipe.merge_function)
      check(fw_solver_set_merge_function(raw, &recipe.merge_function_params), "merge_function");
    check(fw_solver_set_progress_callback(raw, on_progress, &progress), "progress");
    check(fw_solver_set_log_callback(raw, on_log, &progress), "log");
    check(fw_solver_set_abort_callback(raw, abort, nullptr), "abort");

    progress.message("Frank-Wolfe merge of " + std::to_string(recipe.models.size()) +
                     " models against " + recipe.base_model + ", " +
                     std::to_string(recipe.params.max_iters) + " steps at most");
    fw_step_info last{};
    last.struct_size = sizeof last;
    check(fw_solver_run(raw, &last), "fw_solver_run");
    const int32_t steps = fw_solver_history_size(raw);
    const std::string card = fw_model_card(recipe, steps, last.loss, last.gap);
    fw_export_options opts = fw_default_export_options();
    opts.dtype = recipe.out_dtype;
    opts.max_shard_bytes = max_shard_bytes;
    opts.hf_folder = 1;
    opts.model_card = card.c_str();
    check(fw_solver_export(raw, out_dir.c_str(), &opts), "export");
    progress.message("wrote " + out_dir + " after " + std::to_string(steps) + " steps");
  } catch (const LibraryError &e) {
    if (e.status == FW_ERR_ABORTED) {
      progress.message("interrupted; nothing was written to " + out_dir);
      return 130;
    }
    progress.message(e.what());
    return 1;
  }
  return 0;
}

}  // namespace fwcli
