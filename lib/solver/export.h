// Writes the solver's iterate as safetensors with its provenance in __metadata__.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "io/dtype.h"
#include "io/hf_folder.h"
#include "solver/solver.h"

namespace fw {

// `dtype`: what the merged tensors (and the floating ones passing through) are written as, F32, F16
// or BF16 (lib/capi checked it); nullopt keeps each tensor's base dtype (fw_export_options.dtype
// FW_DTYPE_DEFAULT). `layout`: one file, shards + index, or a Hugging Face folder (its base_path
// is set here, to the solver's base).
// The solver's poll_abort() is polled while converting and writing (fw_solver_interrupt).
void export_iterate(const Solver &solver, const std::string &path, std::optional<DType> dtype,
                    OutputLayout layout);

// fw_export_options.rank_shards: `path` becomes a folder of W shards, shard r holding the tensors
// rank r of a W-rank run holds (lib/dist/shard_plan.h), plus an index. A sharded solver writes its
// own shard (rank 0 the index too), in phases the ranks agree on (Comm::exchange): the result is
// byte for byte the single-process export with rank_shards = W. world: W (a sharded solver's own).
void export_rank_shards(const Solver &solver, const std::string &path, std::optional<DType> dtype,
                        int world);

// Metadata every fwmerge export carries: "format": "pt" plus the given recipe/history.
std::map<std::string, std::string> export_metadata(const std::string &recipe,
                                                   const std::string &history);

}  // namespace fw
