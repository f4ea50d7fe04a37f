// Validation of a sharded Hugging Face folder (model.safetensors.index.json + shards).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/safetensors_reader.h"

namespace fw {

// Opens every shard named by `dir`/model.safetensors.index.json and checks the index against them:
// JSON shape, plain shard file names that exist and open, weight_map equal to the union of the
// shards' tensors, no tensor in two shards. Throws Status::Format with an "[index_...]" defect (or
// the shard's own Status::Io / Status::Format, prefixed with the shard). Shards come back in file
// name order. The index and the shards must not be symbolic links out of `dir` unless
// `allow_outside_links` (folder_links.h).
std::vector<std::unique_ptr<SafetensorsFile>> open_sharded_folder(const std::string &dir,
                                                                  bool allow_outside_links = false);

}  // namespace fw
