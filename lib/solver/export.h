// Writes the solver's iterate as safetensors with its provenance in __metadata__.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "fwmerge.h"
#include "io/hf_folder.h"
#include "solver/solver.h"

namespace fw {

// dtype FW_DTYPE_DEFAULT keeps each tensor's base dtype. `layout`: one file, shards + index, or
// a Hugging Face folder (its base_path is set here, to the solver's base).
// The solver's poll_abort() is polled while converting and writing (fw_solver_interrupt).
void export_iterate(const Solver &solver, const std::string &path, fw_dtype dtype,
                    OutputLayout layout);

// Metadata every fwmerge export carries: "format": "pt" plus the given recipe/history.
std::map<std::string, std::string> export_metadata(const std::string &recipe,
                                                   const std::string &history);

}  // namespace fw
