// `fwmerge fw RECIPE.yml OUT_DIR`: runs the Frank-Wolfe merge a FwRecipe describes (fw_solver_run
// over the C API, the built-in TorchScript objective) and writes the result as a Hugging Face
// folder.
#pragma once

#include <cstdint>
#include <string>

#include "fwmerge.h"

namespace fwcli {

// abort: polled by the solver (Ctrl-C); on abort nothing is written and 130 is returned.
// allow_outside_links: fw_params.allow_outside_links (--allow-outside-links). Returns the exit
// status (0; 1 for a library error, printed with its status name).
int run_fw(const std::string &recipe_path, const std::string &out_dir, uint64_t max_shard_bytes,
           bool quiet, fw_abort_fn abort, bool allow_outside_links = false);

}  // namespace fwcli
