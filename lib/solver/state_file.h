// Saved solver state (fw_solver_state_save / fw_solver_state_load): resume a long run after a crash
// or a preemption, in another process, possibly on another machine with copies of the checkpoints.
//
// The file is a .safetensors file our writer produces: tensors "theta/<name>" (the iterate, fp32)
// and, for a start point computed in memory, "start/<name>" (fp32); __metadata__ holds
// "format": "fwmerge-state" and "fwmerge.state", the JSON described by SavedState
// (solver/state_json.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "solver/solver.h"
#include "solver/state_json.h"
#include "util/poll.h"

namespace fw {

// The "fwmerge.state" JSON of a solver.
std::string state_json(const Solver &solver);

// Writes the solver's state atomically (write_safetensors). `stop` as in the writer.
void save_state(const Solver &solver, const std::string &path, const Poll &stop);

// Reads a state file, checks it against the solver (base, pool, blocks, merge function:
// Status::State naming the difference) and restores it. On error the solver is unchanged.
void load_state(Solver &solver, const std::string &path);

}  // namespace fw
