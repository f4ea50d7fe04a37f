// fw_default_params()'s values: apart from the solver so that what only needs the defaults (the
// CLI's recipe readers in the fuzz build) compiles without the solver and LibTorch.
#pragma once

#include "fwmerge.h"

namespace fw {

fw_params default_params();

}  // namespace fw
