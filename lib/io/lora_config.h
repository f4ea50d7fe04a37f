// PEFT adapter_config.json from its text in memory (no file access), so the same code serves
// open_lora_adapter and the fuzz harnesses. The rules are those of lora_adapter.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace re2 {
class RE2;
}

namespace fw {

// One rank_pattern / alpha_pattern entry: PEFT's get_pattern_key takes the first key whose regex
// "(.*\.)?(key)" matches the whole module name.
template <typename Value>
struct LoraPatternRule {
  std::string key;
  // Null for a plain module-path key (matched by its characters) and in a build without RE2.
  std::shared_ptr<const re2::RE2> re;
  Value value;
};

struct LoraConfig {
  int64_t r = 0;
  double alpha = 0;
  bool rslora = false;
  bool fan_in_fan_out = false;
  std::vector<LoraPatternRule<int64_t>> rank_pattern;  // file order
  std::vector<LoraPatternRule<double>> alpha_pattern;
};

// Bounds on pattern keys and module names (RE2 is linear in the name; the bounds keep memory
// small). Real keys and module names are well under 200 characters.
constexpr size_t kMaxLoraPatternChars = 1024;
constexpr size_t kMaxLoraModuleChars = 4096;
// A key that is a plain (dotted) module path is matched without compiling anything, whatever the
// count. A key with regex metacharacters costs a compiled RE2 program (~75 KB each measured for a
// complex one, more once matching fills its DFA cache), so a config may hold at most this many,
// each with at most kLoraRegexMaxMem bytes for its program and caches (RE2 falls back to slower
// but still linear matching when the cache is full): 256 MiB in all at the very worst, against
// > 20 GB that a 16 MB config of regex keys could ask for. Real configs hold a handful.
constexpr size_t kMaxLoraRegexPatterns = 256;
constexpr int64_t kLoraRegexMaxMem = 1 << 20;

// Parses and validates adapter_config.json text. Throws Status::Format "[adapter_config_...]" or
// Status::Unsupported naming `path`.
LoraConfig parse_lora_config(const std::string &json, const std::string &path);

// r and lora_alpha for `module` (at most kMaxLoraModuleChars characters): the first matching
// rank_pattern / alpha_pattern entry in file order, else the config's r / lora_alpha.
int64_t lora_rank_for(const LoraConfig &config, const std::string &module);
double lora_alpha_for(const LoraConfig &config, const std::string &module);

}  // namespace fw
