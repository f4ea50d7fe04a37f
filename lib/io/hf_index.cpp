#include "io/hf_index.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "io/folder_links.h"
#include "io/hf_index_json.h"
#include "io/read_only_file.h"
#include "util/error.h"

namespace fw {
namespace {

// Index files of real models are tens of KB; the cap only stops a hostile file from exhausting
// memory before the JSON parser sees it.
constexpr uint64_t kMaxIndexBytes = 64ull << 20;

}  // namespace

std::vector<std::unique_ptr<SafetensorsFile>> open_sharded_folder(const std::string &dir,
                                                                  bool allow_outside_links) {
  const std::string index_path = dir + "/model.safetensors.index.json";
  check_inside_folder(dir, index_path, allow_outside_links);
  const std::string text = read_small_file(index_path, kMaxIndexBytes, "index_");
  const HfIndex index = parse_hf_index(text, index_path);
  const std::map<std::string, std::set<std::string>> &listed = index.shards;

  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, std::string> owner;  // tensor -> shard holding it
  for (const auto &shard : listed) {
    const std::string shard_path = dir + "/" + shard.first;
    struct stat st;
    if (::stat(shard_path.c_str(), &st) != 0 && errno == ENOENT) {
      fail_format("index_shard_missing",
                  index_path + " names shard " + shard.first + ", which does not exist");
    }
    check_inside_folder(dir, shard_path, allow_outside_links);
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
        const auto it = index.weight_map.find(entry.name);
        if (it == index.weight_map.end()) {
          fail_format("index_tensor_unlisted", dir + ": tensor \"" + entry.name + "\" of " +
                                                   shard.first + " is not in the weight_map");
        }
        fail_format("index_wrong_shard", dir + ": weight_map puts \"" + entry.name + "\" in " +
                                             it->second + " but it is in " + shard.first);
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
