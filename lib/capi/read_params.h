// fw_params in and out of the core: the one place that reads the caller's struct (any shipped
// version, lib/capi/versioned.h) and checks each field, once, into the solver's SolverConfig.
#pragma once

#include "fwmerge.h"
#include "solver/config.h"

namespace fw::capi {

// The configuration `params` asks for (NULL: the defaults). Status::InvalidArgument naming the
// field ("fw_params.lmo is 7: ...", "params: top_k must be >= 1") for a value out of its range or
// a NULL tensor pattern.
SolverConfig read_params(const fw_params *params);

// The core's defaults as the public struct (tensor filter empty).
fw_params public_params(const SolverConfig &config);

}  // namespace fw::capi
