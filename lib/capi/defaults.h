// The input structs' defaults as this header version's structs, built from the core's defaults
// (solver/config.h, merge/merge_defaults.h) where it has them. One definition each: fw_X_init
// (init_api.cpp) copies a caller's version of them, the frozen fw_default_X (frozen_defaults.cpp)
// return them, and the readers fill the fields an older caller's struct lacks from them. No
// LibTorch: the fuzz build compiles defaults.cpp and init_api.cpp with the CLI's recipe readers.
#pragma once

#include <cstdint>

#include "fwmerge.h"

namespace fw::capi {

fw_params default_params();
// `method` as the integer the caller stored (enums.h: an out-of-range value is never loaded as
// the enum type). An unknown method: LINEAR's defaults with that value in .method.
fw_merge_params default_merge_params(int32_t method);
fw_export_options default_export_options();
fw_torchscript_objective default_torchscript_objective();
fw_dist_params default_dist_params();

}  // namespace fw::capi
