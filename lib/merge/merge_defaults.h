// fw_default_merge_params()'s values per method, as the core's: apart from merge_spec so that what
// only needs the defaults (the CLI's recipe readers in the fuzz build, through
// lib/capi/defaults.cpp) compiles without the merge code or LibTorch.
#pragma once

#include <cstdint>

#include "merge/merge_method.h"

namespace fw {

// The scalar fields a method's defaults set; every other field of fw_merge_params defaults to
// zero / NULL / FW_DTYPE_DEFAULT (lib/capi/read_merge_params.h writes the public struct).
struct MergeDefaults {
  double scaling = 1.0;
  double density = 1.0;
  double drop_rate = 0.0;
  double beta = 0.0;
  bool normalize = false;
  // The later methods' (mergekit's defaults; MergeSpec documents each): della's per-model epsilon
  // 0.15 and ram's shared 1e-5 share the field.
  double epsilon = 0.15;
  bool rescale = true;
  double select_topk = 1.0;
  double ram_r = 0.1;
  double ram_alpha = 0.2;
  double scale = 1.0;
  // The geometric methods' (MergeSpec's fields of the same names; mergekit 0.1.5's defaults, t
  // excepted: mergekit requires it). Every method gets them, so that a zeroed public field never
  // stands for a default (eps 0 or max_iter 0 would change the merge).
  double t = 0.5;  // slerp 0.5, nearswap 1e-4
  double eps = 1e-8;
  bool nuslerp_flatten = true;
  bool nuslerp_row_wise = false;
  int64_t max_iter = 10;
  double tol = 1e-5;
};

MergeDefaults merge_defaults(MergeMethod method);

}  // namespace fw
