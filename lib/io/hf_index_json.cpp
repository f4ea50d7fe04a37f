// Shard index validation over text in memory (see hf_index_json.h).
#include "io/hf_index_json.h"

#include <nlohmann/json.hpp>

#include "io/json_util.h"
#include "util/error.h"

namespace fw {

HfIndex parse_hf_index(const std::string &json, const std::string &path) {
  const nlohmann::json index = parse_json_strict(json.data(), json.size(), "index_", path);
  if (!index.is_object()) fail_format("index_not_object", path + " is not a JSON object");
  if (index.contains("metadata")) {
    const nlohmann::json &meta = index.at("metadata");
    if (!meta.is_object())
      fail_format("index_metadata_invalid", path + ": metadata is not an object");
    if (meta.contains("total_size") && !meta.at("total_size").is_number()) {
      fail_format("index_metadata_invalid", path + ": total_size is not a number");
    }
  }
  if (!index.contains("weight_map") || !index.at("weight_map").is_object()) {
    fail_format("index_weight_map_invalid", path + ": no \"weight_map\" object");
  }

  HfIndex out;
  for (const auto &item : index.at("weight_map").items()) {
    if (!item.value().is_string()) {
      fail_format("index_weight_map_invalid",
                  path + ": weight_map value of \"" + item.key() + "\" is not a string");
    }
    const std::string shard = item.value().get<std::string>();
    // Plain names only: the index must not point outside the folder.
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos) {
      fail_format("index_shard_path_invalid",
                  path + ": shard \"" + shard + "\" is not a file name in the folder");
    }
    out.weight_map[item.key()] = shard;
    out.shards[shard].insert(item.key());
  }
  if (out.shards.empty()) fail_format("index_empty", path + ": weight_map is empty");
  return out;
}

}  // namespace fw
