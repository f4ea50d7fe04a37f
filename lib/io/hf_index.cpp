#include "io/hf_index.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "io/json_util.h"
#include "io/read_only_file.h"
#include "util/error.h"

namespace fw {
namespace {

// Index files of real models are tens of KB; the cap only stops a hostile file from exhausting
// memory before the JSON parser sees it.
constexpr uint64_t kMaxIndexBytes = 64ull << 20;

}  // namespace

std::vector<std::unique_ptr<SafetensorsFile>> open_sharded_folder(const std::string &dir) {
  const std::string index_path = dir + "/model.safetensors.index.json";
  const std::string text = read_small_file(index_path, kMaxIndexBytes, "index_");
  const nlohmann::json index = parse_json_strict(text.data(), text.size(), "index_", index_path);
  if (!index.is_object()) fail_format("index_not_object", index_path + " is not a JSON object");
  if (index.contains("metadata")) {
    const nlohmann::json &meta = index.at("metadata");
    if (!meta.is_object())
      fail_format("index_metadata_invalid", index_path + ": metadata is not an object");
    if (meta.contains("total_size") && !meta.at("total_size").is_number()) {
      fail_format("index_metadata_invalid", index_path + ": total_size is not a number");
    }
  }
  if (!index.contains("weight_map") || !index.at("weight_map").is_object()) {
    fail_format("index_weight_map_invalid", index_path + ": no \"weight_map\" object");
  }

  // shard file -> tensors the index puts there
  std::map<std::string, std::set<std::string>> listed;
  for (const auto &item : index.at("weight_map").items()) {
    if (!item.value().is_string()) {
      fail_format("index_weight_map_invalid",
                  index_path + ": weight_map value of \"" + item.key() + "\" is not a string");
    }
    const std::string shard = item.value().get<std::string>();
    // Plain names only: the index must not point outside the folder.
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos) {
      fail_format("index_shard_path_invalid",
                  index_path + ": shard \"" + shard + "\" is not a file name in the folder");
    }
    listed[shard].insert(item.key());
  }
  if (listed.empty()) fail_format("index_empty", index_path + ": weight_map is empty");

  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, std::string> owner;  // tensor -> shard holding it
  for (const auto &shard : listed) {
    const std::string shard_path = dir + "/" + shard.first;
    struct stat st;
    if (::stat(shard_path.c_str(), &st) != 0 && errno == ENOENT) {
      fail_format("index_shard_missing",
                  index_path + " names shard " + shard.first + ", which does not exist");
    }
    try {
      files.push_back(SafetensorsFile::open(shard_path));
    } catch (const Error &e) {
      throw Error(e.code(), "shard of " + dir + ": " + e.what());
    }
    for (const TensorEntry &entry : files.back()->tensors()) {
      const auto seen = owner.emplace(entry.name, shard.first);
      if (!seen.second) {
        fail_format("index_duplicate_tensor", dir + ": tensor \"" + entry.name + "\" is in " +
                                                  seen.first->second + " and in " + shard.first);
      }
      if (shard.second.count(entry.name) == 0) {
        const auto it = index.at("weight_map").find(entry.name);
        if (it == index.at("weight_map").end()) {
          fail_format("index_tensor_unlisted", dir + ": tensor \"" + entry.name + "\" of " +
                                                   shard.first + " is not in the weight_map");
        }
        fail_format("index_wrong_shard", dir + ": weight_map puts \"" + entry.name + "\" in " +
                                             it->get<std::string>() + " but it is in " +
                                             shard.first);
      }
    }
  }
  for (const auto &shard : listed) {
    for (const std::string &name : shard.second) {
      if (owner.count(name) == 0) {
        fail_format("index_tensor_missing", dir + ": weight_map puts \"" + name + "\" in " +
                                                shard.first + ", which has no such tensor");
      }
    }
  }
  return files;
}

}  // namespace fw
