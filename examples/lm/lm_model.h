// A small pre-LN causal transformer over bytes (vocab 256), written as a plain function of named
// tensors so that a checkpoint is exactly the set of tensors fwmerge merges. Names follow Hugging
// Face's decoder models (model.layers.0.self_attn.q_proj.weight, ...), so PEFT adapter keys look as
// they do for a real model.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model.h"  // demo::NamedTensors

namespace lm {

using Weights = std::map<std::string, at::Tensor>;

constexpr int64_t kVocab = 256;

struct LmConfig {
  int64_t layers = 2, d_model = 128, heads = 4, context = 64, mlp = 512;
  std::string tag() const;  // "L2-d128-h4-c64-m512"
};

// Every tensor name in checkpoint order.
std::vector<std::string> param_names(const LmConfig &c);
// GPT-2's initialization: N(0, 0.02), residual projections scaled by 1/sqrt(2 layers), LN = 1, 0.
demo::NamedTensors init_params(const LmConfig &c, uint64_t seed);

// The modules LoRA adapts (names without ".weight"): q/k/v/o and the MLP's up/down projections.
std::vector<std::string> lora_modules(const LmConfig &c);

Weights to_weights(const demo::NamedTensors &t);

// tokens [B, T] int64 (T <= context) -> logits [B, T, 256].
at::Tensor forward(const LmConfig &c, const Weights &w, const at::Tensor &tokens);

// Mean next-token cross-entropy (nats per byte) of windows [B, T + 1].
at::Tensor lm_loss(const LmConfig &c, const Weights &w, const at::Tensor &windows);

// The same without autograd, over many windows in batches of 64.
double mean_loss(const LmConfig &c, const Weights &w, const at::Tensor &windows);

}  // namespace lm
