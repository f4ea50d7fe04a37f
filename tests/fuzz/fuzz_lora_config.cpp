// libFuzzer harness: PEFT adapter_config.json text through parse_lora_config, then the
// rank_pattern / alpha_pattern lookup (RE2) for module names. Input: the config text, optionally
// followed by a NUL byte and newline-separated module names (JSON text never holds a raw NUL);
// without one, a few typical module names are looked up. fw::Error is an expected rejection.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/lora_config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string input(reinterpret_cast<const char *>(data), size);
  const size_t nul = input.find('\0');
  std::vector<std::string> modules;
  if (nul == std::string::npos) {
    modules = {"model.layers.0.self_attn.q_proj", "transformer.h.11.attn.c_attn", "q_proj",
               "model.embed_tokens", ""};
  } else {
    size_t start = nul + 1;
    while (start <= input.size()) {
      size_t end = input.find('\n', start);
      if (end == std::string::npos) end = input.size();
      // open_lora_adapter refuses longer module names before it looks them up
      modules.push_back(input.substr(start, std::min(end - start, fw::kMaxLoraModuleChars)));
      start = end + 1;
    }
  }
  fw::LoraConfig config;
  try {
    config = fw::parse_lora_config(input.substr(0, nul), "fuzz/adapter_config.json");
  } catch (const fw::Error &) {
    return 0;
  }
  FW_FUZZ_CHECK(config.r > 0);
  // A key with regex metacharacters is compiled; a plain module path is matched by its characters.
  const auto compiled_iff_regex = [](const std::string &key, const void *re) {
    return (key.find_first_of("\\^$|?*+()[]{}") != std::string::npos) == (re != nullptr);
  };
  for (const auto &rule : config.rank_pattern)
    FW_FUZZ_CHECK(rule.value > 0 && compiled_iff_regex(rule.key, rule.re.get()));
  for (const auto &rule : config.alpha_pattern)
    FW_FUZZ_CHECK(compiled_iff_regex(rule.key, rule.re.get()));
  for (const std::string &module : modules) {
    FW_FUZZ_CHECK(fw::lora_rank_for(config, module) > 0);
    (void)fw::lora_alpha_for(config, module);
  }
  return 0;
}
