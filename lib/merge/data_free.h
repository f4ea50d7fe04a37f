// Data-free merges of checkpoints on disk: opening and checking the pool, streaming the method,
// and either exporting the result (fw_merge) or keeping it as fp32 tensors (an FW start point).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/checkpoint.h"
#include "io/hf_folder.h"
#include "merge/merge_spec.h"

namespace fw {

// The "fwmerge.recipe" JSON text of a data-free merge; `from_base`: the base's buffers the output
// carries unmerged (io/tensor_filter.h, carried_from_base); `filled`: per member path, the tensors
// it lacked and read from the base (io/filled_checkpoint.h).
std::string data_free_recipe(const MergeSpec &spec, const std::string &base_path,
                             const std::vector<std::string> &pool_paths,
                             const std::set<std::string> &from_base = {},
                             const std::map<std::string, std::vector<std::string>> &filled = {});

// Opens the base and the pool (files, sharded folders, PEFT adapters), checks every member against
// the base, merges and writes `out_path` as `layout` says (one file, a sharded folder, a Hugging
// Face folder; its base_path is set here) in `dtype`, F32, F16 or BF16 (lib/capi checked it;
// nullopt: each tensor's base dtype, fw_export_options.dtype FW_DTYPE_DEFAULT). Nothing is written
// on error.
void merge_to_file(const MergeSpec &spec, const std::string &base_path,
                   const std::vector<std::string> &pool_paths, const std::string &out_path,
                   std::optional<DType> dtype, OutputLayout layout);

// The merged model as fp32 tensors in base order (members already checked against the base).
std::vector<std::pair<std::string, at::Tensor>> merge_to_tensors(
    const MergeSpec &spec, const Checkpoint &base, const std::vector<const Checkpoint *> &pool);

}  // namespace fw
