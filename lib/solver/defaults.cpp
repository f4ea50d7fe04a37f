#include "solver/defaults.h"

#include <cstring>

namespace fw {

fw_params default_params() {
  fw_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof(fw_params);
  p.lmo = FW_LMO_HARD;
  p.granularity = FW_TASKWISE;
  p.block_depth = 0;
  p.score = FW_SCORE_INNER;
  p.top_k = 2;
  p.step_rule = FW_STEP_LINE_SEARCH;
  p.step_scale = 1.0;
  p.line_search_evals = 3;
  p.soft_solver = FW_SOFT_BOX;  // measured best (fw_soft_solver); the simplex raises the loss
  p.soft_iters = 20;
  p.soft_lr = 0.0;
  p.soft_memory_budget = 0;
  p.max_iters = 10;
  p.epsilon = 1e-6;
  p.threads = 0;
  p.seed = 0;
  p.device = FW_DEVICE_CPU;
  p.device_index = 0;
  p.work_dtype = FW_DTYPE_F32;
  p.host_views = 0;
  p.max_evaluations = 0;
  p.topk_rule = FW_TOPK_PER_TERM;  // each task brings its own model (fw_topk_rule)
  return p;
}

}  // namespace fw
