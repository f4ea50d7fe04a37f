// Writes the solver's iterate as safetensors with its provenance in __metadata__.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "fwmerge.h"
#include "solver/solver.h"

namespace fw {

// dtype FW_DTYPE_DEFAULT keeps each tensor's base dtype. max_shard_bytes 0: one file at `path`;
// otherwise a Hugging Face folder of shards + index.
// The solver's poll_abort() is polled while converting and writing (fw_solver_interrupt).
void export_iterate(const Solver &solver, const std::string &path, fw_dtype dtype,
                    uint64_t max_shard_bytes);

// Metadata every fwmerge export carries: "format": "pt" plus the given recipe/history.
std::map<std::string, std::string> export_metadata(const std::string &recipe,
                                                   const std::string &history);

}  // namespace fw
