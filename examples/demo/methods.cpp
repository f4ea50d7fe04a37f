#include "methods.h"

// NoGradGuard: ATen/ATen.h no longer brings it in LibTorch 2.x.
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "progress.h"
#include "tensor_file.h"
#include "train.h"
#include "zoo.h"

namespace demo {
namespace {

void check(fw_status st, const std::string &what) {
  if (st != FW_OK)
    throw std::runtime_error(what + ": " + fw_status_name(st) + ": " + fw_last_error());
}

// Objective evaluations every data-informed method gets: by default what T per-term FW_soft steps
// take (one gradient per task at theta_t, then the inner iterations).
int budget(const MergeSetup &s) {
  const int terms = s.objective ? s.objective->n_terms() : 1;
  return s.eval_budget > 0 ? s.eval_budget : s.fw_iters * (s.soft_iters + terms);
}

// The data-free methods' parameters (fusion_bench's usual settings: scaling 0.3, TIES keeps 20 %
// and sums, DARE drops half and rescales; the SVD methods at the library's defaults, alpha 1).
fw_merge_params data_free_params(const std::string &spelled, const MergeSetup &s) {
  // "method@A": the method with scaling (alpha) A, for sweeps of the SVD methods' alpha.
  const size_t at = spelled.find('@');
  const std::string method = spelled.substr(0, at);
  fw_merge_params p;
  if (method == "tsv_m") {
    p = fw_default_merge_params(FW_MERGE_METHOD_TSV_M);
  } else if (method == "iso_c") {
    p = fw_default_merge_params(FW_MERGE_METHOD_ISO_C);
  } else if (method == "iso_cts") {
    p = fw_default_merge_params(FW_MERGE_METHOD_ISO_CTS);
  } else if (method == "average") {
    p = fw_default_merge_params(FW_MERGE_METHOD_LINEAR);
  } else if (method == "task_arithmetic") {
    p = fw_default_merge_params(FW_MERGE_METHOD_TASK_ARITHMETIC);
    p.scaling = 0.3;
  } else if (method == "ties") {
    p = fw_default_merge_params(FW_MERGE_METHOD_TIES);
    p.density = 0.2;
    p.scaling = 0.3;
    p.normalize = 0;
  } else {
    p = fw_default_merge_params(FW_MERGE_METHOD_DARE_TIES);
    p.drop_rate = 0.5;
    p.scaling = 0.3;
    p.normalize = 0;
    p.seed = s.seed;
  }
  if (at != std::string::npos) p.scaling = std::stod(spelled.substr(at + 1));
  p.threads = s.threads;
  return p;
}

// Data-free merge through the library.
MergeOutcome data_free(const std::string &method, const MergeSetup &s) {
  const fw_merge_params p = data_free_params(method, s);
  std::vector<const char *> pool;
  for (const std::string &path : s.pool_paths) pool.push_back(path.c_str());
  const std::string out =
      s.export_path.empty() ? s.work_dir + "/" + method + ".safetensors" : s.export_path;
  Progress progress("merge " + method, 1);
  check(fw_merge(&p, s.base_path.c_str(), pool.data(), pool.size(), out.c_str(), nullptr),
        "fw_merge " + method);
  progress.finish();
  return MergeOutcome{load_backbone(out), 0, {}};
}

struct StepHook {
  Progress *progress;
  std::vector<StepTrace> *trace;
};

void on_step(const fw_step_info *info, void *user_data) {
  const StepHook &hook = *static_cast<StepHook *>(user_data);
  hook.trace->push_back(StepTrace{info->iteration, info->evaluations, info->loss, info->loss_after,
                                  info->gap, info->gamma});
  char detail[96];
  std::snprintf(detail, sizeof detail, "loss %.4f gap %.3g evals %d", info->loss, info->gap,
                info->evaluations);
  hook.progress->update(info->iteration + 1, detail);
}

MergeOutcome frank_wolfe(const std::string &method, const MergeSetup &s) {
  const bool soft = method.rfind("fw_soft", 0) == 0;
  const bool layer = method.find("_layer") != std::string::npos;
  const bool unopt = method.find("_unopt") != std::string::npos;
  fw_params p = fw_default_params();
  // The same evaluation budget as the other data-informed methods (steps until it is spent).
  p.max_evaluations = budget(s);
  p.max_iters = budget(s);
  p.lmo = soft ? FW_LMO_SOFT : FW_LMO_HARD;
  p.granularity = layer ? FW_GRANULARITY_LAYERWISE : FW_GRANULARITY_TASKWISE;
  p.block_depth = 0;  // layer-wise: one block per tensor
  p.threads = s.threads;
  p.seed = s.seed;
  p.epsilon = 0;  // spend the whole budget
  if (soft) {
    p.top_k = s.top_k;
    // "_simplex": the paper's exact constraint (sum lambda = 1, theta_t itself dropped);
    // "_capped": sum lambda <= 1, the merge stays in the hull
    p.soft_solver = s.soft_solver;
    if (method.find("_simplex") != std::string::npos) p.soft_solver = FW_SOFT_SOLVER_SIMPLEX;
    if (method.find("_capped") != std::string::npos) p.soft_solver = FW_SOFT_SOLVER_CAPPED;
    // "_summed": the k best vertices for the whole objective's gradient instead of one per task
    p.topk_rule =
        method.find("_summed") != std::string::npos ? FW_TOPK_RULE_SUMMED : FW_TOPK_RULE_PER_TERM;
    // unoptimized: the top-k vertices with equal coefficients (one evaluation, no inner steps)
    p.soft_iters = unopt ? 1 : s.soft_iters;
    p.soft_lr = s.soft_lr;
    if (unopt) p.max_iters = s.fw_iters;
  } else {
    p.step_rule = FW_STEP_RULE_LINE_SEARCH;
  }
  fw_solver *solver = nullptr;
  check(fw_solver_new(&p, &solver), "fw_solver_new");
  std::unique_ptr<fw_solver, void (*)(fw_solver *)> guard(solver, fw_solver_free);
  check(fw_solver_set_base(solver, s.base_path.c_str()), "fw_solver_set_base");
  for (const std::string &path : s.pool_paths)
    check(fw_solver_pool_add(solver, path.c_str(), nullptr), "fw_solver_pool_add " + path);
  // "_from_X": FW starts at the data-free merge X of the pool instead of the base.
  const size_t from = method.find("_from_");
  if (from != std::string::npos) {
    const fw_merge_params start = data_free_params(method.substr(from + 6), s);
    check(fw_solver_set_start_merge(solver, &start), "fw_solver_set_start_merge");
  }
  check(fw_solver_set_objective_terms_callback(solver, &CalibObjective::callback,
                                               s.objective->n_terms(), s.objective),
        "fw_solver_set_objective_terms_callback");
  // Steps expected (the budget may allow a summed soft run a step more).
  Progress progress("merge " + method,
                    soft ? s.fw_iters : std::max(1, budget(s) / (1 + p.line_search_evals)));
  std::vector<StepTrace> trace;
  StepHook hook{&progress, &trace};
  check(fw_solver_set_progress_callback(solver, on_step, &hook), "fw_solver_set_progress_callback");
  const int before = s.objective->evaluations();
  check(fw_solver_run(solver, nullptr), "fw_solver_run " + method);
  progress.finish();

  const fw_tensor *views = nullptr;
  size_t n = 0;
  check(fw_solver_current(solver, &views, &n), "fw_solver_current");
  NamedTensors all;
  for (size_t i = 0; i < n; ++i) {
    all.names.push_back(views[i].name);
    all.tensors.push_back(
        at::from_blob(views[i].data,
                      std::vector<int64_t>(views[i].shape, views[i].shape + views[i].ndim),
                      at::kFloat)
            .clone());
  }
  if (!s.export_path.empty())
    check(fw_solver_export(solver, s.export_path.c_str(), nullptr), "fw_solver_export");
  return MergeOutcome{select(all, backbone_names()), s.objective->evaluations() - before,
                      std::move(trace)};
}

// AdaMerging-like: theta_l = theta_0,l + sum_i lambda_{i,l} tau_{i,l} for every model i and layer
// l, lambdas (init 0.3) trained with Adam on the same objective, for the same evaluation budget.
MergeOutcome adamerging(const MergeSetup &s) {
  const NamedTensors base = load_backbone(s.base_path);
  std::vector<std::vector<at::Tensor>> tau;  // all n task vectors stay resident
  for (const std::string &path : s.pool_paths) {
    const NamedTensors m = load_backbone(path);
    std::vector<at::Tensor> t;
    for (size_t l = 0; l < m.tensors.size(); ++l) t.push_back(m.tensors[l] - base.tensors[l]);
    tau.push_back(std::move(t));
  }
  const int64_t n = int64_t(tau.size()), layers = int64_t(base.tensors.size());
  at::Tensor lambda = at::full({n, layers}, 0.3);
  lambda.set_requires_grad(true);
  Adam opt({lambda}, 1e-2);
  const auto merge = [&] {
    std::vector<at::Tensor> out;
    for (int64_t l = 0; l < layers; ++l) {
      at::Tensor t = base.tensors[size_t(l)];
      for (int64_t i = 0; i < n; ++i) t = t + lambda[i][l] * tau[size_t(i)][size_t(l)];
      out.push_back(t);
    }
    return out;
  };
  const int steps = budget(s);
  Progress progress("merge adamerging", steps);
  char detail[64];
  for (int step = 0; step < steps; ++step) {
    const at::Tensor loss = s.objective->loss(merge());
    opt.zero_grad();
    loss.backward();
    opt.step();
    std::snprintf(detail, sizeof detail, "loss %.4f", loss.item<double>());
    progress.update(step + 1, detail);
  }
  progress.finish();
  MergeOutcome out;
  {
    at::NoGradGuard no_grad;
    out.merged = NamedTensors{backbone_names(), merge()};
  }
  out.evaluations = steps;
  if (!s.export_path.empty()) save_tensors(s.export_path, out.merged, {{"method", "adamerging"}});
  return out;
}

}  // namespace

const std::vector<std::string> &method_names() {
  static const std::vector<std::string> names = {"pretrained",
                                                 "average",
                                                 "task_arithmetic",
                                                 "ties",
                                                 "dare_ties",
                                                 "tsv_m",
                                                 "iso_c",
                                                 "iso_cts",
                                                 "adamerging",
                                                 "fw_hard_task",
                                                 "fw_hard_layer",
                                                 "fw_soft_task",
                                                 "fw_soft_layer",
                                                 "fw_soft_task_unopt",
                                                 "fw_soft_layer_unopt",
                                                 "fw_soft_task_simplex",
                                                 "fw_soft_layer_simplex",
                                                 "fw_soft_task_capped",
                                                 "fw_soft_layer_capped",
                                                 "fw_soft_task_summed",
                                                 "fw_soft_layer_summed",
                                                 "fw_soft_task_from_task_arithmetic",
                                                 "fw_soft_task_from_tsv_m",
                                                 "fw_soft_task_from_iso_cts"};
  return names;
}

bool is_method(const std::string &name) {
  const auto &names = method_names();
  // "@A" (an alpha) only where a data-free merge is run: the data-free methods and "_from_X".
  const size_t at = name.find('@');
  const std::string plain = name.substr(0, at);
  if (std::find(names.begin(), names.end(), plain) == names.end()) return false;
  return at == std::string::npos || plain.find("_from_") != std::string::npos ||
         (plain.rfind("fw_", 0) != 0 && plain != "adamerging" && plain != "pretrained");
}

MergeOutcome run_method(const std::string &method, const MergeSetup &s) {
  if (method == "pretrained") return MergeOutcome{load_backbone(s.base_path), 0, {}};
  const std::string plain = method.substr(0, method.find('@'));
  if (plain == "average" || plain == "task_arithmetic" || plain == "ties" || plain == "dare_ties" ||
      plain == "tsv_m" || plain == "iso_c" || plain == "iso_cts")
    return data_free(method, s);
  if (!s.objective) throw std::invalid_argument(method + " needs an objective");
  if (method == "adamerging") return adamerging(s);
  if (is_method(method)) return frank_wolfe(method, s);
  throw std::invalid_argument("unknown method " + method);
}

}  // namespace demo
