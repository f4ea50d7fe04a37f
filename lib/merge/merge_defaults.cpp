#include "merge/merge_defaults.h"

#include <cstring>

namespace fw {

fw_merge_params default_merge_params(fw_merge_method method) {
  fw_merge_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.method = method;
  p.scaling = 1.0;
  p.density = 1.0;
  p.drop_rate = 0.0;
  p.beta = 0.0;
  p.weights = nullptr;
  p.normalize = 0;
  p.seed = 0;
  p.threads = 0;
  p.abort = nullptr;
  p.abort_user_data = nullptr;
  p.densities = nullptr;
  p.betas = nullptr;
  p.include_tensors = nullptr;
  p.n_include_tensors = 0;
  p.exclude_tensors = nullptr;
  p.n_exclude_tensors = 0;
  p.mergekit_compat = 0;
  p.compute_dtype = FW_DTYPE_DEFAULT;
  p.overrides = nullptr;
  p.n_overrides = 0;
  switch (method) {
    case FW_MERGE_TASK_ARITHMETIC:
      p.scaling = 0.3;
      break;
    case FW_MERGE_TIES:
      p.density = 0.2;
      p.normalize = 1;
      break;
    case FW_MERGE_DARE_LINEAR:
    case FW_MERGE_DARE_TIES:
      p.drop_rate = 0.9;
      break;
    case FW_MERGE_BREADCRUMBS:
    case FW_MERGE_BREADCRUMBS_TIES:
      p.density = 0.9;
      p.beta = 0.01;
      break;
    case FW_MERGE_MODEL_STOCK:
      break;
    case FW_MERGE_LINEAR:
    default:
      p.normalize = 1;
      break;
  }
  return p;
}

}  // namespace fw
