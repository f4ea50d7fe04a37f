#include "methods.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "progress.h"
#include "tensor_file.h"

namespace lm {
namespace {

void check(fw_status st, const std::string &what) {
  if (st != FW_OK)
    throw std::runtime_error(what + ": " + fw_status_name(st) + ": " + fw_last_error());
}

// LoRA changes only these; FW's views, gradients and LMO then cover just the adapted tensors.
const char *const kAdapted[] = {"*_proj.weight"};

Weights load_model(const LmConfig &c, const std::string &path) {
  return to_weights(demo::select(demo::load_tensors(path).tensors, param_names(c)));
}

fw_merge_params task_arithmetic_params() {
  fw_merge_params p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
  p.scaling = 0.3;  // the library's default, the paper's task-arithmetic start point
  return p;
}

MergeOutcome data_free(const std::string &method, const MergeSetup &s) {
  fw_merge_params p;
  if (method == "adapter") {
    if (s.pool_paths.size() != 1) throw std::invalid_argument("adapter: a pool of one");
    p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);  // normalize: the adapter's model itself
  } else if (method == "task_arithmetic") {
    p = task_arithmetic_params();
  } else {
    // The reference code's TIES setting (mask rate 0.7: keep 30 %), disjoint mean.
    p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
    p.density = 0.3;
    p.scaling = 1.0;
    p.normalize = 1;
  }
  p.threads = 1;
  std::vector<const char *> pool;
  for (const std::string &path : s.pool_paths) pool.push_back(path.c_str());
  const std::string out = s.work_dir + "/merge-" + method + ".safetensors";
  check(fw_merge(&p, s.base_path.c_str(), pool.data(), pool.size(), out.c_str(), nullptr),
        "fw_merge " + method);
  MergeOutcome o{load_model(s.model, out), 0, {}};
  std::remove(out.c_str());
  return o;
}

struct StepHook {
  demo::Progress *progress;
  std::vector<double> *losses;
};

void on_step(const fw_step_info *info, void *user_data) {
  const StepHook &hook = *static_cast<StepHook *>(user_data);
  hook.losses->push_back(info->loss);
  char detail[96];
  std::snprintf(detail, sizeof detail, "loss %.4f gap %.3g evals %d", info->loss, info->gap,
                info->evaluations);
  hook.progress->update(info->iteration + 1, detail);
}

MergeOutcome frank_wolfe(const std::string &method, const MergeSetup &s) {
  const bool soft = method == "fw_soft";
  fw_params p = fw_default_params();
  p.granularity = FW_GRANULARITY_LAYERWISE;  // one block per tensor
  p.block_depth = 0;
  p.threads = 1;
  p.epsilon = 0;  // spend the budget
  p.max_evaluations = s.max_evaluations;
  p.include_tensors = kAdapted;
  p.n_include_tensors = 1;
  if (soft) {
    // Per-term top-k (the default): each domain's gradient picks its vertex.
    p.lmo = FW_LMO_SOFT;
    p.soft_iters = s.soft_iters;
    p.max_iters = s.max_evaluations;  // steps until the budget is spent
  } else {
    // The paper's language setting: per-tensor cosine scores, step 2 / (t + 2), 10 steps.
    p.lmo = FW_LMO_HARD;
    p.score = FW_SCORE_COSINE;
    p.step_rule = FW_STEP_RULE_SCHEDULE;
    p.step_scale = 1.0;
    p.max_iters = s.fw_hard_iters;
  }
  fw_solver *solver = nullptr;
  check(fw_solver_new(&p, &solver), "fw_solver_new");
  std::unique_ptr<fw_solver, void (*)(fw_solver *)> guard(solver, fw_solver_free);
  check(fw_solver_set_base(solver, s.base_path.c_str()), "fw_solver_set_base");
  for (const std::string &path : s.pool_paths)
    check(fw_solver_pool_add(solver, path.c_str(), nullptr), "fw_solver_pool_add " + path);
  if (!soft) {
    // Each step: theta + 0.9 * TIES-trim(gamma (s - theta)) keeping 30 %, from task arithmetic.
    fw_merge_params ties = fw_default_merge_params(FW_MERGE_METHOD_TIES);
    ties.density = 0.3;
    ties.scaling = 0.9;
    check(fw_solver_set_merge_function(solver, &ties), "fw_solver_set_merge_function");
    const fw_merge_params start = task_arithmetic_params();
    check(fw_solver_set_start_merge(solver, &start), "fw_solver_set_start_merge");
  }
  check(fw_solver_set_objective_terms_callback(solver, &LmObjective::callback,
                                               s.objective->n_terms(), s.objective),
        "fw_solver_set_objective_terms_callback");
  const int expected =
      soft ? std::max(1, s.max_evaluations / (s.objective->n_terms() + s.soft_iters))
           : s.fw_hard_iters;
  demo::Progress progress("merge " + method, expected);
  MergeOutcome out;
  StepHook hook{&progress, &out.step_losses};
  check(fw_solver_set_progress_callback(solver, on_step, &hook), "fw_solver_set_progress_callback");
  const int before = s.objective->evaluations();
  check(fw_solver_run(solver, nullptr), "fw_solver_run " + method);
  progress.finish();
  out.evaluations = s.objective->evaluations() - before;

  out.merged = load_model(s.model, s.base_path);
  const fw_tensor *views = nullptr;
  size_t n = 0;
  check(fw_solver_current(solver, &views, &n), "fw_solver_current");
  for (size_t i = 0; i < n; ++i)
    out.merged[views[i].name] =
        at::from_blob(views[i].data,
                      std::vector<int64_t>(views[i].shape, views[i].shape + views[i].ndim),
                      at::kFloat)
            .clone();
  return out;
}

// Task arithmetic with its scaling picked on the calibration objective from a grid (a stronger
// baseline than a fixed 0.3; one loss-only evaluation per grid point, counted in the budget).
MergeOutcome task_arithmetic_tuned(const MergeSetup &s) {
  std::vector<const char *> pool;
  for (const std::string &path : s.pool_paths) pool.push_back(path.c_str());
  const std::string out = s.work_dir + "/merge-ta-tuned.safetensors";
  MergeOutcome best;
  double best_loss = 0, best_scaling = 0;
  const int grid = std::min(10, s.max_evaluations);
  for (int i = 1; i <= grid; ++i) {
    fw_merge_params p = task_arithmetic_params();
    p.scaling = double(i) / double(grid);
    p.threads = 1;
    check(fw_merge(&p, s.base_path.c_str(), pool.data(), pool.size(), out.c_str(), nullptr),
          "fw_merge task_arithmetic_tuned");
    Weights w = load_model(s.model, out);
    const double loss = s.objective->value(w);
    if (i == 1 || loss < best_loss) {
      best_loss = loss;
      best_scaling = p.scaling;
      best.merged = std::move(w);
    }
  }
  std::remove(out.c_str());
  std::fprintf(stderr, "task_arithmetic_tuned: scaling %.1f (calibration loss %.4f)\n",
               best_scaling, best_loss);
  best.evaluations = grid;
  return best;
}

}  // namespace

const std::vector<std::string> &method_names() {
  static const std::vector<std::string> names = {
      "pretrained", "adapter", "task_arithmetic", "task_arithmetic_tuned",
      "ties",       "fw_hard", "fw_soft"};
  return names;
}

bool is_data_informed(const std::string &method) {
  return method.rfind("fw_", 0) == 0 || method == "task_arithmetic_tuned";
}

MergeOutcome run_method(const std::string &method, const MergeSetup &s) {
  if (method == "pretrained") return MergeOutcome{load_model(s.model, s.base_path), 0, {}};
  if (method == "adapter" || method == "task_arithmetic" || method == "ties")
    return data_free(method, s);
  if (is_data_informed(method) && !s.objective)
    throw std::invalid_argument(method + " needs an objective");
  if (method == "task_arithmetic_tuned") return task_arithmetic_tuned(s);
  if (method == "fw_hard" || method == "fw_soft") {
    return frank_wolfe(method, s);
  }
  throw std::invalid_argument("unknown method " + method);
}

}  // namespace lm
