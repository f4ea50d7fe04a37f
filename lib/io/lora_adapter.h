// PEFT LoRA adapter folders (adapter_config.json + adapter_model.safetensors) as checkpoints of
// their base: the same tensor names, shapes and dtypes as the base, and load_f32(name) =
// W + scale * (B @ A) in fp32, computed on demand for that tensor only.
//
// Rules (shared/docs/formats.md, PEFT's LoraModel):
//  - keys "base_model.model.<module>.lora_A.weight" [r, in] and ".lora_B.weight" [out, r] patch the
//    base tensor "<module>.weight" [out, in] (transposed, [in, out], with fan_in_fan_out, e.g.
//    GPT-2's Conv1D); ".lora_embedding_A" [r, num] and ".lora_embedding_B" [dim, r] patch an
//    embedding [num, dim] with (B @ A)^T. When "<module>.weight" is not in the base, leading
//    dotted parts of <module> are dropped until a base name matches (GPT-2 files name
//    "transformer.h.0..." as "h.0...").
//  - scale = alpha / r, or alpha / sqrt(r) with use_rslora. r and alpha come from rank_pattern /
//    alpha_pattern as PEFT's get_pattern_key picks them: the first pattern, in file order, for
//    which the regex "(.*\.)?(<pattern>)" matches the whole module name (so a plain name matches a
//    module by dotted suffix); otherwise r / lora_alpha. A's first dimension must equal that r.
//  - any other key "base_model.model.<name>" (modules_to_save, trained biases) replaces base tensor
//    <name> entirely; base tensors the adapter does not touch are the base's.
//  - rejected: use_dora (Status::Unsupported), lora_bias, layer_replication, megatron_config,
//    target_parameters, trainable_token_indices, use_qalora, alora_invocation_tokens, arrow_config,
//    loftq_config, init_lora_weights that rewrite the base (pissa, olora, corda, loftq), any other
//    peft_type than LORA, and unknown fields whose value is not null/false/""/[]/{} (they may
//    change the math). Unknown LoRA tensor kinds (DoRA magnitudes, conv LoRA) are
//    Status::Unsupported; a base lacking a patched tensor is Status::NameMismatch; factors that do
//    not fit the base tensor Status::ShapeMismatch; malformed files Status::Format
//    ("[adapter_...]").
#pragma once

#include <memory>
#include <string>

#include "io/checkpoint.h"

namespace fw {

// `base` must outlive the returned checkpoint; nullptr is Status::InvalidArgument (an adapter is
// never a base). Reads the config and the safetensors header; no tensor data. Either file being a
// symbolic link out of `dir` is Status::InvalidArgument unless `allow_outside_links`
// (folder_links.h).
std::unique_ptr<Checkpoint> open_lora_adapter(const std::string &dir, const Checkpoint *base,
                                              bool allow_outside_links = false);

}  // namespace fw
