// fw_default_merge_params()'s values per method, as the core's: apart from merge_spec so that what
// only needs the defaults (the CLI's recipe readers in the fuzz build, through
// lib/capi/defaults_api.cpp) compiles without the merge code or LibTorch.
#pragma once

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
  double t = 0.5;  // slerp, nearswap (MergeSpec::t)
};

MergeDefaults merge_defaults(MergeMethod method);

}  // namespace fw
