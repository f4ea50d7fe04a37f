// The JSON part of a saved solver state ("fwmerge.state" in the state file's __metadata__): types
// and the parser, without LibTorch, so that the fuzz harness (tests/fuzz) runs it on raw bytes.
#pragma once

#include <string>
#include <vector>

#include "solver/step_record.h"

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

// Parses "fwmerge.state" text. Status::Format "[state_...]" naming `path` for anything malformed:
// the fuzz harness's entry point (no file access).
SavedState parse_state_json(const std::string &text, const std::string &path);

}  // namespace fw
