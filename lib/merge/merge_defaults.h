// fw_default_merge_params()'s values per method: apart from merge_spec so that what only needs the
// defaults (the CLI's recipe readers in the fuzz build) compiles without the merge code.
#pragma once

#include "fwmerge.h"

namespace fw {

fw_merge_params default_merge_params(fw_merge_method method);

}  // namespace fw
