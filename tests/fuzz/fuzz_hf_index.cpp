// libFuzzer harness: model.safetensors.index.json text through parse_hf_index. fw::Error is an
// expected rejection; an accepted index lists only plain shard names and its two maps agree.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/hf_index_json.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fw::HfIndex index;
  try {
    index = fw::parse_hf_index(std::string(reinterpret_cast<const char *>(data), size),
                               "fuzz/model.safetensors.index.json");
  } catch (const fw::Error &) {
    return 0;
  }
  FW_FUZZ_CHECK(!index.shards.empty());
  size_t listed = 0;
  for (const auto &shard : index.shards) {
    const std::string &name = shard.first;
    FW_FUZZ_CHECK(!name.empty() && name != "." && name != ".." &&
                  name.find('/') == std::string::npos);
    FW_FUZZ_CHECK(!shard.second.empty());
    for (const std::string &tensor : shard.second) {
      const auto it = index.weight_map.find(tensor);
      FW_FUZZ_CHECK(it != index.weight_map.end() && it->second == name);
    }
    listed += shard.second.size();
  }
  FW_FUZZ_CHECK(listed == index.weight_map.size());
  return 0;
}
