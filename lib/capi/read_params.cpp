// fw_params -> SolverConfig: enums checked as integers (enums.h), then every range, each field
// once. The solver trusts the result; only the device's existence is left to it (placement_of).
#include "capi/read_params.h"

#include <cmath>
#include <string>

#include "capi/config_map.h"
#include "capi/enums.h"
#include "capi/versioned.h"
#include "io/tensor_filter.h"
#include "util/error.h"

namespace fw::capi {

SolverConfig read_params(const fw_params *params) {
  if (!params) return SolverConfig{};
  const fw_params p = read_input(params, public_params(SolverConfig{}));
  SolverConfig c;
  c.lmo = to_core_enum<Lmo>(checked_enum(&p.lmo, "fw_params.lmo"));
  c.granularity = to_core_enum<Granularity>(checked_enum(&p.granularity, "fw_params.granularity"));
  c.score = to_core_enum<Score>(checked_enum(&p.score, "fw_params.score"));
  c.step_rule = to_core_enum<StepRule>(checked_enum(&p.step_rule, "fw_params.step_rule"));
  c.soft_solver = to_core_enum<SoftSolver>(checked_enum(&p.soft_solver, "fw_params.soft_solver"));
  c.device = to_core_enum<DeviceKind>(checked_enum(&p.device, "fw_params.device"));
  const fw_dtype work_dtype = checked_enum(&p.work_dtype, "fw_params.work_dtype");
  c.topk_rule = to_core_enum<TopkRule>(checked_enum(&p.topk_rule, "fw_params.topk_rule"));

  // The patterns are copied now: the caller's arrays need not outlive the call.
  const TensorFilter filter = filter_from_c(p.include_tensors, p.n_include_tensors,
                                            p.exclude_tensors, p.n_exclude_tensors, "params: ");
  c.include_tensors = filter.include();
  c.exclude_tensors = filter.exclude();

  auto bad = [](const std::string &what) { fail(Status::InvalidArgument, "params: " + what); };
  if (p.block_depth < 0) bad("block_depth must be >= 0");
  if (p.top_k < 1) bad("top_k must be >= 1");
  if (!(p.step_scale > 0.0) || !std::isfinite(p.step_scale)) bad("step_scale must be > 0");
  if (p.step_rule == FW_STEP_RULE_CONSTANT && p.step_scale > 1.0)
    bad("a constant step_scale must lie in (0, 1]");
  if (p.line_search_evals < 1) bad("line_search_evals must be >= 1");
  if (p.soft_iters < 1) bad("soft_iters must be >= 1");
  if (!(p.soft_lr >= 0.0) || !std::isfinite(p.soft_lr)) bad("soft_lr must be >= 0");
  if (p.max_iters < 0) bad("max_iters must be >= 0");
  if (!(p.epsilon >= 0.0)) bad("epsilon must be >= 0");
  if (p.threads < 0) bad("threads must be >= 0");
  if (p.device_index < 0) bad("device_index must be >= 0");
  if (p.device == FW_DEVICE_TYPE_CPU && p.device_index != 0)
    bad("device_index must be 0 on the CPU");
  // FW_DTYPE_DEFAULT asks for the default, F32.
  if (work_dtype != FW_DTYPE_DEFAULT && work_dtype != FW_DTYPE_F32 && work_dtype != FW_DTYPE_F16 &&
      work_dtype != FW_DTYPE_BF16)
    bad("work_dtype must be FW_DTYPE_F32, FW_DTYPE_BF16 or FW_DTYPE_F16");
  if (p.host_views != 0 && p.host_views != 1) bad("host_views must be 0 or 1");
  if (p.max_evaluations < 0) bad("max_evaluations must be >= 0");

  c.block_depth = p.block_depth;
  c.top_k = p.top_k;
  c.step_scale = p.step_scale;
  c.line_search_evals = p.line_search_evals;
  c.soft_iters = p.soft_iters;
  c.soft_lr = p.soft_lr;
  c.soft_memory_budget = p.soft_memory_budget;
  c.max_iters = p.max_iters;
  c.epsilon = p.epsilon;
  c.threads = p.threads;
  c.seed = p.seed;
  c.device_index = p.device_index;
  c.work_dtype = work_dtype == FW_DTYPE_F16    ? WorkDtype::F16
                 : work_dtype == FW_DTYPE_BF16 ? WorkDtype::BF16
                                               : WorkDtype::F32;
  c.host_views = p.host_views == 1;
  c.max_evaluations = p.max_evaluations;
  c.allow_outside_links = p.allow_outside_links != 0;
  c.fill_missing_from_base = p.fill_missing_from_base != 0;
  return c;
}

}  // namespace fw::capi
