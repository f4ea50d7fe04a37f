#include "io/lora_adapter.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "io/folder_links.h"
#include "io/lora_config.h"
#include "io/read_only_file.h"
#include "io/safetensors_reader.h"
#include "util/error.h"

namespace fw {
namespace {

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

// adapter_config.json is parsed by lora_config.cpp; the cap only stops a hostile file from
// exhausting memory before the JSON parser sees it.
constexpr uint64_t kMaxConfigBytes = 16ull << 20;

// ---- the checkpoint -----------------------------------------------------------------------------

// What an adapter does to one base tensor: replace it (modules_to_save, or the weights of a LoRA
// layer peft saved with save_embedding_layers, ".base_layer.weight"), add scale * B @ A, or both
// (a saved base layer with LoRA on top, which is what merge_and_unload computes).
struct Patch {
  const TensorEntry *a = nullptr;  // LoRA factors
  const TensorEntry *b = nullptr;
  const TensorEntry *full = nullptr;  // a full replacement
  bool base_layer = false;            // `full` is a LoRA layer's own base weights
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
    const at::Tensor start = p.full ? file_->read_f32(*p.full) : base_->load_f32(name);
    if (!p.a) return start;
    const at::Tensor a = file_->read_f32(*p.a);
    const at::Tensor b = file_->read_f32(*p.b);
    at::Tensor delta = at::matmul(b, a);
    if (p.transpose) delta = delta.t();
    return start.add(delta, p.scale).contiguous();
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
      const std::string lora = std::string(scale) + (p.transpose ? "T" : "");
      out += ";" + name + (p.full ? (p.a ? "=full+" + lora : "=full") : "=" + lora);
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

std::unique_ptr<Checkpoint> open_lora_adapter(const std::string &dir, const Checkpoint *base,
                                              bool allow_outside_links) {
  if (base == nullptr)
    fail(Status::InvalidArgument,
         "PEFT adapter " + dir + " needs its base model (an adapter cannot be the base)");
  const std::string config_path = dir + "/adapter_config.json";
  check_inside_folder(dir, config_path, allow_outside_links);
  const LoraConfig config = parse_lora_config(
      read_small_file(config_path, kMaxConfigBytes, "adapter_config_"), config_path);
  const std::string weights_path = dir + "/adapter_model.safetensors";
  if (!path_exists(weights_path)) {
    if (path_exists(dir + "/adapter_model.bin"))
      fail(Status::Unsupported, dir +
                                    ": adapter_model.bin (pickle) is not read; save the adapter "
                                    "with safetensors");
    fail_format("adapter_no_weights", dir + " has no adapter_model.safetensors");
  }
  check_inside_folder(dir, weights_path, allow_outside_links);
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
        fail(Status::Unsupported, weights_path + ": LoRA tensor kind of \"" + entry.name +
                                      "\" is not supported (DoRA, LoRA bias or conv LoRA)");
      // A full replacement (modules_to_save, trained bias), or a LoRA layer's own weights that
      // peft saved with save_embedding_layers under "<module>.base_layer.weight".
      std::string target = key;
      const size_t layer = target.rfind(".base_layer.");
      const bool base_layer = layer != std::string::npos;
      if (base_layer) target.erase(layer, std::strlen(".base_layer"));
      const TensorMeta *meta = base->find(target);
      const size_t dot = target.rfind('.');
      if (!meta && dot != std::string::npos)
        meta = resolve_base(*base, target.substr(0, dot), target.substr(dot));
      if (!meta)
        fail(Status::NameMismatch, dir + ": tensor \"" + key + "\" is not in base " + base->path());
      if (entry.shape != meta->shape)
        fail(Status::ShapeMismatch, dir + ": tensor \"" + key + "\" has shape " +
                                        shape_text(entry.shape) + " but the base has " +
                                        shape_text(meta->shape));
      if (patches.count(meta->name))
        fail_format("adapter_conflict",
                    dir + ": base tensor \"" + meta->name + "\" is patched twice");
      Patch p;
      p.full = &entry;
      p.base_layer = base_layer;
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
      fail(Status::Unsupported, dir + ": module \"" + module + "\": LoRA factors of rank " +
                                    std::to_string(f.a->shape.size()) +
                                    " (conv LoRA) are not supported");
    const TensorMeta *meta = resolve_base(*base, module, ".weight");
    if (!meta)
      fail(Status::NameMismatch, dir + ": adapter module \"" + module + "\" has no \"" + module +
                                     ".weight\" in base " + base->path() +
                                     " (an adapter of another base?)");
    const int64_t rank = f.a->shape[0];
    if (f.b->shape[1] != rank)
      fail(Status::ShapeMismatch, dir + ": module \"" + module + "\": lora_A " +
                                      shape_text(f.a->shape) + " and lora_B " +
                                      shape_text(f.b->shape) + " do not chain");
    if (module.size() > kMaxLoraModuleChars)
      fail_format("adapter_key", dir + ": a module name of " + std::to_string(module.size()) +
                                     " characters exceeds the limit of " +
                                     std::to_string(kMaxLoraModuleChars));
    const int64_t r = lora_rank_for(config, module);
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
    const double alpha = lora_alpha_for(config, module);
    p.scale = config.rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / r;
    const std::vector<int64_t> delta_shape =
        p.transpose ? std::vector<int64_t>{f.a->shape[1], f.b->shape[0]}
                    : std::vector<int64_t>{f.b->shape[0], f.a->shape[1]};
    if (meta->shape != delta_shape)
      fail(Status::ShapeMismatch, dir + ": module \"" + module + "\": B @ A gives " +
                                      shape_text(delta_shape) +
                                      (p.transpose ? " (transposed)" : "") + " but base tensor \"" +
                                      meta->name + "\" is " + shape_text(meta->shape));
    const auto saved = patches.find(meta->name);
    if (saved != patches.end()) {
      // Only a LoRA layer's own saved weights may sit under its factors.
      if (!saved->second.base_layer)
        fail_format("adapter_conflict",
                    dir + ": base tensor \"" + meta->name + "\" is patched twice");
      p.full = saved->second.full;
      p.base_layer = true;
    }
    patches[meta->name] = p;
  }
  return std::make_unique<LoraAdapterCheckpoint>(dir, base, std::move(file), std::move(patches));
}

}  // namespace fw
