// Validation of a Hugging Face shard index (model.safetensors.index.json) from its text in memory
// (no file access), so the same code serves open_sharded_folder and the fuzz harnesses.
#pragma once

#include <map>
#include <set>
#include <string>

namespace fw {

struct HfIndex {
  std::map<std::string, std::string> weight_map;        // tensor -> shard file name
  std::map<std::string, std::set<std::string>> shards;  // shard file name -> its tensors
};

// Checks the JSON shape: an object, optional "metadata" object with a numeric "total_size",
// a non-empty "weight_map" object of plain shard file names (no '/', not "." or ".."). Throws
// Status::Format with an "[index_...]" defect naming `path`. Shards are in file name order.
HfIndex parse_hf_index(const std::string &json, const std::string &path);

}  // namespace fw
