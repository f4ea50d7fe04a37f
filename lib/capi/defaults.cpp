// The input structs' defaults (defaults.h): fw_params' are the core's (solver/config.h), written
// into the public struct here; fw_merge_params' likewise (merge/merge_defaults.h, through
// capi/read_merge_params.h); the other three are the library's own.
#include "capi/defaults.h"

#include <cstring>

#include "capi/config_map.h"
#include "capi/enums.h"
#include "capi/read_merge_params.h"
#include "capi/read_params.h"

namespace fw::capi {

fw_params public_params(const SolverConfig &c) {
  fw_params p;
  std::memset(&p, 0, sizeof p);  // reserved words and the tensor filter: zero, NULL
  p.struct_size = sizeof(fw_params);
  p.lmo = to_public_enum<fw_lmo>(c.lmo);
  p.granularity = to_public_enum<fw_granularity>(c.granularity);
  p.block_depth = c.block_depth;
  p.score = to_public_enum<fw_score>(c.score);
  p.top_k = c.top_k;
  p.step_rule = to_public_enum<fw_step_rule>(c.step_rule);
  p.step_scale = c.step_scale;
  p.line_search_evals = c.line_search_evals;
  p.soft_solver = to_public_enum<fw_soft_solver>(c.soft_solver);
  p.soft_iters = c.soft_iters;
  p.soft_lr = c.soft_lr;
  p.soft_memory_budget = c.soft_memory_budget;
  p.max_iters = c.max_iters;
  p.epsilon = c.epsilon;
  p.threads = c.threads;
  p.seed = c.seed;
  p.device = to_public_enum<fw_device_type>(c.device);
  p.device_index = c.device_index;
  p.work_dtype = static_cast<fw_dtype>(static_cast<int>(c.work_dtype));  // config_map.h
  p.host_views = c.host_views ? 1 : 0;
  p.max_evaluations = c.max_evaluations;
  p.topk_rule = to_public_enum<fw_topk_rule>(c.topk_rule);
  p.allow_outside_links = c.allow_outside_links ? 1 : 0;
  p.fill_missing_from_base = c.fill_missing_from_base ? 1 : 0;
  return p;
}

fw_params default_params() { return public_params(SolverConfig{}); }

fw_merge_params default_merge_params(int32_t raw) {
  if (enum_in_range<fw_merge_method>(raw))
    return public_merge_params(to_core_enum<MergeMethod>(static_cast<fw_merge_method>(raw)));
  // Unknown: the LINEAR defaults with the caller's value (fw_merge then rejects it).
  fw_merge_params p = public_merge_params(MergeMethod::Linear);
  store_raw_enum(&p.method, raw);
  return p;
}

fw_export_options default_export_options() {
  fw_export_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof(fw_export_options);
  o.dtype = FW_DTYPE_DEFAULT;
  o.max_shard_bytes = 0;
  o.hf_folder = 0;
  o.model_card = nullptr;
  return o;
}

fw_torchscript_objective default_torchscript_objective() {
  fw_torchscript_objective o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof(fw_torchscript_objective);
  return o;
}

fw_dist_params default_dist_params() {
  fw_dist_params d;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof(fw_dist_params);
  d.rank = 0;
  d.world_size = 1;
  d.rendezvous = nullptr;
  d.timeout_ms = 60000;
  d.loss = FW_DIST_LOSS_SHARED;
  d.secret = nullptr;  // FWMERGE_DIST_SECRET, if set
  return d;
}

}  // namespace fw::capi
