// adapter_config.json parsing and PEFT's rank/alpha pattern lookup (see lora_config.h).
#include "io/lora_config.h"

#ifndef FWMERGE_NO_RE2
#include <re2/re2.h>
#endif

#include <nlohmann/json.hpp>
#include <set>

#include "io/json_util.h"
#include "util/error.h"

namespace fw {
namespace {

using ordered_json = nlohmann::ordered_json;

// Regex metacharacters but '.', which the literal matcher below reads as RE2 does.
bool is_plain_key(const std::string &key) {
  return key.find_first_of("\\^$|?*+()[]{}") == std::string::npos;
}

// PEFT's pattern keys are Python regexes that users (or files from anywhere) supply. A plain
// module path ("model.layers.0.q_proj", nearly every real key) is matched by match_key below;
// any other key runs on RE2, whose matching time is linear in the name and whose parser has no
// recursion to overflow, within the budget of lora_config.h (`regexes` counts this config's).
// Null for a plain key, and in a build without RE2 (FWMERGE_NO_RE2), which has only plain keys.
std::shared_ptr<const re2::RE2> compile_pattern(const std::string &key, const std::string &path,
                                                size_t *regexes) {
  if (key.size() > kMaxLoraPatternChars)
    fail_format("adapter_config_pattern",
                path + ": a pattern key of " + std::to_string(key.size()) +
                    " characters exceeds the limit of " + std::to_string(kMaxLoraPatternChars));
  if (is_plain_key(key)) return nullptr;
#ifndef FWMERGE_NO_RE2
  if (++*regexes > kMaxLoraRegexPatterns)
    fail_format("adapter_config_pattern_budget",
                path + ": more than " + std::to_string(kMaxLoraRegexPatterns) +
                    " rank_pattern/alpha_pattern keys are regular expressions (each costs a "
                    "compiled matcher); plain module paths are not limited");
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kLoraRegexMaxMem);
  auto re = std::make_shared<const re2::RE2>("(.*\\.)?(" + key + ")", options);
  if (!re->ok())
    fail_format("adapter_config_pattern", path + ": pattern \"" + key.substr(0, 200) +
                                              "\" is not a regular expression RE2 accepts (" +
                                              re->error() + ")");
  return re;
#else
  (void)regexes;
  fail(Status::Unsupported, path + ": pattern \"" + key.substr(0, 200) +
                                "\" is a regular expression, and this build has no RE2 "
                                "(FWMERGE_WITH_RE2=OFF): only module names and dot-separated "
                                "suffixes of them are supported as pattern keys");
#endif
}

// What RE2's full match of "(.*\.)?(key)" means for a key whose only metacharacter is '.', so that
// plain keys match as regex keys would: `key` matches the whole module name or a part that follows
// a '.', where each '.' of the key stands for any one character (UTF-8 code point) but a newline,
// and the part before may not hold a newline (neither '.' nor ".*" matches one in RE2).
bool match_key(const std::string &key, const std::string &module) {
  for (size_t start = 0; start <= module.size(); ++start) {
    if (start > 0 && module[start - 1] == '\n') return false;
    if (start > 0 && module[start - 1] != '.') continue;
    size_t m = start;
    bool same = true;
    for (size_t k = 0; same && k < key.size(); ++k) {
      if (m == module.size()) {
        same = false;
      } else if (key[k] != '.') {
        same = key[k] == module[m++];
      } else if (module[m] == '\n') {
        same = false;
      } else {  // one code point: a lead byte and its continuation bytes (names are valid UTF-8)
        ++m;
        while (m < module.size() && (static_cast<unsigned char>(module[m]) & 0xC0) == 0x80) ++m;
      }
    }
    if (same && m == module.size()) return true;
  }
  return false;
}

bool is_off(const ordered_json &v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_string() && v.empty()) ||
         ((v.is_array() || v.is_object()) && v.empty());
}

// Fields read, or known not to change W + scale * B @ A once the adapter is trained.
const std::set<std::string> &known_fields() {
  static const std::set<std::string> fields = {
      "r", "lora_alpha", "use_rslora", "fan_in_fan_out", "rank_pattern", "alpha_pattern",
      "peft_type", "target_modules", "modules_to_save", "exclude_modules",
      "base_model_name_or_path", "revision", "task_type", "inference_mode", "lora_dropout", "bias",
      "init_lora_weights", "layers_to_transform", "layers_pattern", "auto_mapping", "peft_version",
      "runtime_config", "eva_config", "corda_config", "megatron_core", "qalora_group_size",
      "ensure_weight_tying",
      // fields whose non-default values are rejected below
      "use_dora", "lora_bias", "layer_replication", "megatron_config", "target_parameters",
      "trainable_token_indices", "use_qalora", "alora_invocation_tokens", "arrow_config",
      "loftq_config"};
  return fields;
}

[[noreturn]] void config_error(const std::string &path, const std::string &what) {
  fail_format("adapter_config_field", path + ": " + what);
}

template <typename Value>
const Value *match_pattern(const std::vector<LoraPatternRule<Value>> &rules,
                           const std::string &module) {
  for (const auto &rule : rules) {
#ifndef FWMERGE_NO_RE2
    if (rule.re ? re2::RE2::FullMatch(module, *rule.re) : match_key(rule.key, module))
      return &rule.value;
#else
    if (match_key(rule.key, module)) return &rule.value;
#endif
  }
  return nullptr;
}

}  // namespace

LoraConfig parse_lora_config(const std::string &text, const std::string &path) {
  parse_json_strict(text.data(), text.size(), "adapter_config_", path);  // UTF-8, duplicates
  // Ordered: PEFT tries rank/alpha patterns in the file's order.
  const ordered_json j = ordered_json::parse(text);
  if (!j.is_object()) fail_format("adapter_config_not_object", path + " is not a JSON object");

  for (const auto &item : j.items()) {
    if (!known_fields().count(item.key()) && !is_off(item.value()))
      fail(Status::Unsupported,
           path + ": unknown field \"" + item.key() +
               "\" is set; it may change the adapter's math, refusing to merge");
  }
  const auto unsupported_if_set = [&](const char *field, const char *what) {
    if (j.contains(field) && !is_off(j[field]))
      fail(Status::Unsupported, path + ": " + what + " (\"" + field + "\") is not supported");
  };
  unsupported_if_set("use_dora", "DoRA");
  unsupported_if_set("lora_bias", "LoRA bias terms");
  unsupported_if_set("layer_replication", "layer replication");
  unsupported_if_set("megatron_config", "Megatron-parallel LoRA");
  unsupported_if_set("target_parameters", "LoRA on nn.Parameter targets");
  unsupported_if_set("trainable_token_indices", "trainable token indices");
  unsupported_if_set("use_qalora", "QA-LoRA");
  unsupported_if_set("alora_invocation_tokens", "activated LoRA");
  unsupported_if_set("arrow_config", "Arrow routing");
  unsupported_if_set("loftq_config", "LoftQ (quantized base)");
  if (j.contains("peft_type") && !(j["peft_type"].is_string() && j["peft_type"] == "LORA"))
    fail(Status::Unsupported, path + ": peft_type " + j["peft_type"].dump() + " is not LORA");
  if (j.contains("init_lora_weights") && j["init_lora_weights"].is_string()) {
    const std::string init = j["init_lora_weights"];
    // These initializations subtract the initial adapter from the base weights: the adapter only
    // makes sense on that modified base.
    for (const char *changes_base : {"pissa", "olora", "corda", "loftq"})
      if (init.rfind(changes_base, 0) == 0)
        fail(Status::Unsupported, path + ": init_lora_weights \"" + init +
                                      "\" rewrites the base weights; convert the adapter first");
  }
  if (j.contains("bias") && !(j["bias"].is_string() || j["bias"].is_null()))
    config_error(path, "\"bias\" must be a string");

  LoraConfig c;
  size_t regexes = 0;  // regex pattern keys compiled so far (lora_config.h's budget)
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0)
    config_error(path, "\"r\" must be a positive integer");
  c.r = j["r"].get<int64_t>();
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number())
    config_error(path, "\"lora_alpha\" must be a number");
  c.alpha = j["lora_alpha"].get<double>();
  const auto flag = [&](const char *field) {
    if (!j.contains(field) || j[field].is_null()) return false;
    if (!j[field].is_boolean()) config_error(path, std::string("\"") + field + "\" must be a bool");
    return j[field].get<bool>();
  };
  c.rslora = flag("use_rslora");
  c.fan_in_fan_out = flag("fan_in_fan_out");
  if (j.contains("rank_pattern") && !j["rank_pattern"].is_null()) {
    if (!j["rank_pattern"].is_object()) config_error(path, "\"rank_pattern\" must be an object");
    for (const auto &item : j["rank_pattern"].items()) {
      if (!item.value().is_number_integer() || item.value().get<int64_t>() <= 0)
        config_error(path, "rank_pattern[\"" + item.key() + "\"] must be a positive integer");
      c.rank_pattern.push_back(
          {item.key(), compile_pattern(item.key(), path, &regexes), item.value().get<int64_t>()});
    }
  }
  if (j.contains("alpha_pattern") && !j["alpha_pattern"].is_null()) {
    if (!j["alpha_pattern"].is_object()) config_error(path, "\"alpha_pattern\" must be an object");
    for (const auto &item : j["alpha_pattern"].items()) {
      if (!item.value().is_number())
        config_error(path, "alpha_pattern[\"" + item.key() + "\"] must be a number");
      c.alpha_pattern.push_back(
          {item.key(), compile_pattern(item.key(), path, &regexes), item.value().get<double>()});
    }
  }
  return c;
}

int64_t lora_rank_for(const LoraConfig &config, const std::string &module) {
  const int64_t *r = match_pattern(config.rank_pattern, module);
  return r ? *r : config.r;
}

double lora_alpha_for(const LoraConfig &config, const std::string &module) {
  const double *alpha = match_pattern(config.alpha_pattern, module);
  return alpha ? *alpha : config.alpha;
}

}  // namespace fw
