#include "io/lora_adapter.h"

#include <re2/re2.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "io/json_util.h"
#include "io/read_only_file.h"
#include "io/safetensors_reader.h"
#include "util/error.h"

namespace fw {
namespace {

using ordered_json = nlohmann::ordered_json;

const char kPrefix[] = "base_model.model.";

std::string shape_text(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---- adapter_config.json ------------------------------------------------------------------------

// PEFT's pattern keys are Python regexes that users (or files from anywhere) supply. They run on
// RE2, whose matching time is linear in the name and whose parser has no recursion to overflow;
// the bounds keep memory small. Real keys and module names are well under 200 characters.
constexpr size_t kMaxPatternChars = 1024;
constexpr size_t kMaxModuleChars = 4096;
constexpr uint64_t kMaxConfigBytes = 16ull << 20;

// One rank_pattern / alpha_pattern entry: PEFT's get_pattern_key takes the first key whose regex
// "(.*\.)?(key)" matches the whole module name.
template <typename Value>
struct PatternRule {
  std::string key;
  std::shared_ptr<const re2::RE2> re;
  Value value;
};

struct LoraConfig {
  int64_t r = 0;
  double alpha = 0;
  bool rslora = false;
  bool fan_in_fan_out = false;
  std::vector<PatternRule<int64_t>> rank_pattern;  // file order
  std::vector<PatternRule<double>> alpha_pattern;
};

std::shared_ptr<const re2::RE2> compile_pattern(const std::string &key, const std::string &path) {
  if (key.size() > kMaxPatternChars)
    fail_format("adapter_config_pattern",
                path + ": a pattern key of " + std::to_string(key.size()) +
                    " characters exceeds the limit of " + std::to_string(kMaxPatternChars));
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // the compiled program; RE2 falls back to slower but linear paths
  auto re = std::make_shared<const re2::RE2>("(.*\\.)?(" + key + ")", options);
  if (!re->ok())
    fail_format("adapter_config_pattern", path + ": pattern \"" + key.substr(0, 200) +
                                              "\" is not a regular expression RE2 accepts (" +
                                              re->error() + ")");
  return re;
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

LoraConfig parse_config(const std::string &path) {
  const std::string text = read_small_file(path, kMaxConfigBytes, "adapter_config_");
  parse_json_strict(text.data(), text.size(), "adapter_config_", path);  // UTF-8, duplicates
  // Ordered: PEFT tries rank/alpha patterns in the file's order.
  const ordered_json j = ordered_json::parse(text);
  if (!j.is_object()) fail_format("adapter_config_not_object", path + " is not a JSON object");

  for (const auto &item : j.items()) {
    if (!known_fields().count(item.key()) && !is_off(item.value()))
      fail(FW_ERR_UNSUPPORTED,
           path + ": unknown field \"" + item.key() +
               "\" is set; it may change the adapter's math, refusing to merge");
  }
  const auto unsupported_if_set = [&](const char *field, const char *what) {
    if (j.contains(field) && !is_off(j[field]))
      fail(FW_ERR_UNSUPPORTED, path + ": " + what + " (\"" + field + "\") is not supported");
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
    fail(FW_ERR_UNSUPPORTED, path + ": peft_type " + j["peft_type"].dump() + " is not LORA");
  if (j.contains("init_lora_weights") && j["init_lora_weights"].is_string()) {
    const std::string init = j["init_lora_weights"];
    // These initializations subtract the initial adapter from the base weights: the adapter only
    // makes sense on that modified base.
    for (const char *changes_base : {"pissa", "olora", "corda", "loftq"})
      if (init.rfind(changes_base, 0) == 0)
        fail(FW_ERR_UNSUPPORTED, path + ": init_lora_weights \"" + init +
                                     "\" rewrites the base weights; convert the adapter first");
  }
  if (j.contains("bias") && !(j["bias"].is_string() || j["bias"].is_null()))
    config_error(path, "\"bias\" must be a string");

  LoraConfig c;
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
          {item.key(), compile_pattern(item.key(), path), item.value().get<int64_t>()});
    }
  }
  if (j.contains("alpha_pattern") && !j["alpha_pattern"].is_null()) {
    if (!j["alpha_pattern"].is_object()) config_error(path, "\"alpha_pattern\" must be an object");
    for (const auto &item : j["alpha_pattern"].items()) {
      if (!item.value().is_number())
        config_error(path, "alpha_pattern[\"" + item.key() + "\"] must be a number");
      c.alpha_pattern.push_back(
          {item.key(), compile_pattern(item.key(), path), item.value().get<double>()});
    }
  }
  return c;
}

template <typename Value>
const Value *match_pattern(const std::vector<PatternRule<Value>> &rules,
                           const std::string &module) {
  for (const auto &rule : rules)
    if (re2::RE2::FullMatch(module, *rule.re)) return &rule.value;
  return nullptr;
}

// ---- the checkpoint -----------------------------------------------------------------------------

struct Patch {
  const TensorEntry *a = nullptr;  // LoRA factors, or
  const TensorEntry *b = nullptr;
  const TensorEntry *full = nullptr;  // a full replacement
  double scale = 0;
  bool transpose = false;  // delta = (B @ A)^T
};

class LoraAdapterCheckpoint : public Checkpoint {
 public:
  LoraAdapterCheckpoint(std::string dir, const Checkpoint *base,
                        std::unique_ptr<SafetensorsFile> file, std::map<std::string, Patch> patches)
      : dir_(std::move(dir)), base_(base), file_(std::move(file)), patches_(std::move(patches)) {}

  const std::string &path() const override { return dir_; }
  const std::vector<TensorMeta> &tensors() const override { return base_->tensors(); }
  const TensorMeta *find(const std::string &name) const override { return base_->find(name); }

  at::Tensor load_f32(const std::string &name) const override {
    const auto it = patches_.find(name);
    if (it == patches_.end()) return base_->load_f32(name);
    const Patch &p = it->second;
    if (p.full) return file_->read_f32(*p.full);
    const at::Tensor a = file_->read_f32(*p.a);
    const at::Tensor b = file_->read_f32(*p.b);
    at::Tensor delta = at::matmul(b, a);
    if (p.transpose) delta = delta.t();
    return base_->load_f32(name).add(delta, p.scale).contiguous();
  }

  // The adapter's own file; the base is the solver's, which checks it itself.
  void check_unchanged() const override { file_->check_unchanged(); }

  // The adapter file, and what its config decided for each patched tensor (the scale in hex, so
  // that a changed rank or alpha is a different identity).
  std::string identity() const override {
    std::string out = "lora:" + file_->identity();
    for (const auto &[name, p] : patches_) {
      char scale[32];
      std::snprintf(scale, sizeof scale, "%a", p.scale);
      out += ";" + name + (p.full ? "=full" : std::string("=") + scale + (p.transpose ? "T" : ""));
    }
    return out;
  }

 private:
  std::string dir_;
  const Checkpoint *base_;
  std::unique_ptr<SafetensorsFile> file_;
  std::map<std::string, Patch> patches_;
};

// "<module>.weight" in the base, dropping leading dotted parts of <module> until a name matches.
const TensorMeta *resolve_base(const Checkpoint &base, std::string module,
                               const std::string &suffix) {
  while (true) {
    if (const TensorMeta *meta = base.find(module + suffix)) return meta;
    const size_t dot = module.find('.');
    if (dot == std::string::npos) return nullptr;
    module = module.substr(dot + 1);
  }
}

struct Factors {
  const TensorEntry *a = nullptr;
  const TensorEntry *b = nullptr;
  bool embedding = false;
};

// Splits a stripped key into (module, kind); kind is "" for a full tensor.
std::pair<std::string, std::string> split_key(const std::string &key) {
  static const char *const kinds[] = {".lora_A.weight",           ".lora_B.weight",
                                      ".lora_embedding_A",        ".lora_embedding_B",
                                      ".lora_embedding_A.weight", ".lora_embedding_B.weight"};
  for (const char *kind : kinds)
    if (ends_with(key, kind)) return {key.substr(0, key.size() - std::strlen(kind)), kind};
  return {key, ""};
}

}  // namespace

std::unique_ptr<Checkpoint> open_lora_adapter(const std::string &dir, const Checkpoint *base) {
  if (base == nullptr)
    fail(FW_ERR_INVALID_ARGUMENT,
         "PEFT adapter " + dir + " needs its base model (an adapter cannot be the base)");
  const std::string config_path = dir + "/adapter_config.json";
  const LoraConfig config = parse_config(config_path);
  const std::string weights_path = dir + "/adapter_model.safetensors";
  if (!path_exists(weights_path)) {
    if (path_exists(dir + "/adapter_model.bin"))
      fail(FW_ERR_UNSUPPORTED, dir +
                                   ": adapter_model.bin (pickle) is not read; save the adapter "
                                   "with safetensors");
    fail_format("adapter_no_weights", dir + " has no adapter_model.safetensors");
  }
  std::unique_ptr<SafetensorsFile> file = SafetensorsFile::open(weights_path);

  std::map<std::string, Factors> factors;  // by module
  std::map<std::string, Patch> patches;    // by base tensor name
  for (const TensorEntry &entry : file->tensors()) {
    if (entry.name.rfind(kPrefix, 0) != 0)
      fail_format("adapter_key", weights_path + ": key \"" + entry.name +
                                     "\" does not start with \"" + kPrefix + "\"");
    const std::string key = entry.name.substr(std::strlen(kPrefix));
    const auto [module, kind] = split_key(key);
    if (kind.empty()) {
      if (key.find("lora_") != std::string::npos || ends_with(key, ".lora_magnitude_vector"))
        fail(FW_ERR_UNSUPPORTED, weights_path + ": LoRA tensor kind of \"" + entry.name +
                                     "\" is not supported (DoRA, LoRA bias or conv LoRA)");
      // A full replacement (modules_to_save, trained bias).
      const TensorMeta *meta = base->find(key);
      const size_t dot = key.rfind('.');
      if (!meta && dot != std::string::npos)
        meta = resolve_base(*base, key.substr(0, dot), key.substr(dot));
      if (!meta)
        fail(FW_ERR_NAME_MISMATCH, dir + ": tensor \"" + key + "\" is not in base " + base->path());
      if (entry.shape != meta->shape)
        fail(FW_ERR_SHAPE_MISMATCH, dir + ": tensor \"" + key + "\" has shape " +
                                        shape_text(entry.shape) + " but the base has " +
                                        shape_text(meta->shape));
      if (patches.count(meta->name))
        fail_format("adapter_conflict",
                    dir + ": base tensor \"" + meta->name + "\" is patched twice");
      Patch p;
      p.full = &entry;
      patches[meta->name] = p;
      continue;
    }
    Factors &f = factors[module];
    const bool is_a = kind.find("_A") != std::string::npos;
    const TensorEntry *&slot = is_a ? f.a : f.b;
    if (slot)
      fail_format("adapter_duplicate_factor", dir + ": module \"" + module + "\" has two " + kind);
    slot = &entry;
    f.embedding = kind.find("embedding") != std::string::npos;
  }

  for (const auto &[module, f] : factors) {
    if (!f.a || !f.b)
      fail_format("adapter_unpaired", dir + ": module \"" + module + "\" has lora_" +
                                          (f.a ? "A without B" : "B without A"));
    if (f.a->shape.size() != 2 || f.b->shape.size() != 2)
      fail(FW_ERR_UNSUPPORTED, dir + ": module \"" + module + "\": LoRA factors of rank " +
                                   std::to_string(f.a->shape.size()) +
                                   " (conv LoRA) are not supported");
    const TensorMeta *meta = resolve_base(*base, module, ".weight");
    if (!meta)
      fail(FW_ERR_NAME_MISMATCH, dir + ": adapter module \"" + module + "\" has no \"" + module +
                                     ".weight\" in base " + base->path() +
                                     " (an adapter of another base?)");
    const int64_t rank = f.a->shape[0];
    if (f.b->shape[1] != rank)
      fail(FW_ERR_SHAPE_MISMATCH, dir + ": module \"" + module + "\": lora_A " +
                                      shape_text(f.a->shape) + " and lora_B " +
                                      shape_text(f.b->shape) + " do not chain");
    if (module.size() > kMaxModuleChars)
      fail_format("adapter_key", dir + ": a module name of " + std::to_string(module.size()) +
                                     " characters exceeds the limit of " +
                                     std::to_string(kMaxModuleChars));
    const int64_t *r_pat = match_pattern(config.rank_pattern, module);
    const double *alpha_pat = match_pattern(config.alpha_pattern, module);
    const int64_t r = r_pat ? *r_pat : config.r;
    if (rank != r)
      fail_format("adapter_rank", dir + ": module \"" + module + "\" has rank " +
                                      std::to_string(rank) +
                                      " but the config says r = " + std::to_string(r));
    Patch p;
    p.a = f.a;
    p.b = f.b;
    // Embeddings store A as [r, num] and B as [dim, r]: delta = (B @ A)^T. Linear layers store
    // [out, in] unless fan_in_fan_out (Conv1D keeps [in, out]).
    p.transpose = f.embedding || config.fan_in_fan_out;
    const double alpha = alpha_pat ? *alpha_pat : config.alpha;
    p.scale = config.rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / r;
    const std::vector<int64_t> delta_shape =
        p.transpose ? std::vector<int64_t>{f.a->shape[1], f.b->shape[0]}
                    : std::vector<int64_t>{f.b->shape[0], f.a->shape[1]};
    if (meta->shape != delta_shape)
      fail(FW_ERR_SHAPE_MISMATCH, dir + ": module \"" + module + "\": B @ A gives " +
                                      shape_text(delta_shape) +
                                      (p.transpose ? " (transposed)" : "") + " but base tensor \"" +
                                      meta->name + "\" is " + shape_text(meta->shape));
    if (patches.count(meta->name))
      fail_format("adapter_conflict",
                  dir + ": base tensor \"" + meta->name + "\" is patched twice");
    patches[meta->name] = p;
  }
  return std::make_unique<LoraAdapterCheckpoint>(dir, base, std::move(file), std::move(patches));
}

}  // namespace fw
