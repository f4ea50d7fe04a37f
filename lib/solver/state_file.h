// Saved solver state (fw_state_save / fw_state_load): resume a long run after a crash or a
// preemption, in another process, possibly on another machine with copies of the checkpoints.
//
// The file is a .safetensors file our writer produces: tensors "theta/<name>" (the iterate, fp32)
// and, for a start point computed in memory, "start/<name>" (fp32); __metadata__ holds
// "format": "fwmerge-state" and "fwmerge.state", the JSON described by SavedState below.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "solver/solver.h"
#include "util/poll.h"

namespace fw {

// The JSON part of a state file, parsed and checked for shape (types, ranges, consistency between
// fields) but not yet against a solver.
struct SavedState {
  struct File {
    std::string path;
    std::string identity;  // Checkpoint::identity()
  };
  int version = 0;
  File base;
  std::vector<File> pool;
  StartKind start_kind = StartKind::Base;
  int start_member = -1;  // StartKind::Member
  File start_file;        // StartKind::File
  std::string start_description;
  std::vector<std::string> blocks;
  std::string merge_fn;  // the merge function's recipe JSON, compact
  std::vector<StepRecord> history;
};

constexpr int kStateVersion = 1;
// Metadata keys of a state file.
constexpr const char *kStateFormat = "fwmerge-state";
constexpr const char *kStateKey = "fwmerge.state";

// The "fwmerge.state" JSON of a solver.
std::string state_json(const Solver &solver);

// Parses "fwmerge.state" text. FW_ERR_FORMAT "[state_...]" naming `path` for anything malformed:
// the fuzz harness's entry point (no file access).
SavedState parse_state_json(const std::string &text, const std::string &path);

// Writes the solver's state atomically (write_safetensors). `stop` as in the writer.
void save_state(const Solver &solver, const std::string &path, const Poll &stop);

// Reads a state file, checks it against the solver (base, pool, blocks, merge function:
// FW_ERR_STATE naming the difference) and restores it. On error the solver is unchanged.
void load_state(Solver &solver, const std::string &path);

}  // namespace fw
