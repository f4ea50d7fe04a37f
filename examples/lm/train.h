// Training of the benchmark's models with ATen autograd: pre-training the whole LM on the mixture
// of domains, and fitting a LoRA adapter (rank r on lora_modules()) of the frozen pre-trained model
// on one domain, saved as a PEFT adapter folder.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lm_model.h"

namespace lm {

struct TrainSpec {
  int steps = 600;
  int64_t batch = 32;
  double lr = 2e-3;  // peak; linear warm-up, cosine decay to 10 %
  int warmup = 30;
  uint64_t seed = 1;  // batch sampling
};

struct LoraSpec {
  int64_t r = 8;
  double alpha = 16;  // scale alpha / r, as PEFT
};

// Adam (Kingma & Ba) over a fixed list of tensors with a per-step learning rate (the demo's Adam
// has a fixed one), and gradient clipping at global norm 1.
class Adam {
 public:
  explicit Adam(std::vector<at::Tensor> params);
  void zero_grad();
  void step(double lr);

 private:
  std::vector<at::Tensor> params_, m_, v_;
  int64_t t_ = 0;
};

// `batch` random windows of `len` tokens from a token stream [n].
at::Tensor sample_windows(const at::Tensor &stream, int64_t batch, int64_t len, at::Generator &gen);

demo::NamedTensors pretrain(const LmConfig &c, const at::Tensor &stream, const TrainSpec &spec,
                            uint64_t init_seed);

// The adapter's factors under their PEFT keys, base_model.model.<module>.lora_A.weight [r, in]
// and .lora_B.weight [out, r].
demo::NamedTensors train_lora(const LmConfig &c, const demo::NamedTensors &base,
                              const at::Tensor &stream, const TrainSpec &spec, const LoraSpec &lora,
                              const std::string &label);

// base + alpha / r * B A on every adapted module (the host's own application, for checks).
Weights apply_lora(const LmConfig &c, const Weights &base, const demo::NamedTensors &factors,
                   const LoraSpec &lora);

// dir/adapter_config.json + dir/adapter_model.safetensors (written to a temp folder, renamed).
void save_peft_adapter(const std::string &dir, const demo::NamedTensors &factors,
                       const LoraSpec &lora, const std::string &base_path);

}  // namespace lm
