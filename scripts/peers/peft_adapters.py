#!/usr/bin/env python3
"""fwmerge's PEFT adapter loading against peft's own merge_and_unload, for every adapter kind.

    python peft_adapters.py FWMERGE_BIN WORK_DIR

Builds a tiny Llama and a tiny GPT-2 with transformers, saves LoRA adapters of each kind with
peft (random, non-zero factors), merges each into its base with peft's merge_and_unload, and with
`fwmerge merge` (a linear recipe of the adapter alone: the adapter's model itself, fp32), then
prints the largest absolute difference per kind. Needs torch, transformers, peft (a peer venv,
never CI).
"""
import os
import subprocess
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM


def llama():
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=2, num_attention_heads=2,
                                        num_key_value_heads=1, tie_word_embeddings=False))


def gpt2():
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=2, n_head=2,
                                      n_positions=32, tie_word_embeddings=False))


KINDS = {
    "plain": (llama, dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]), {}),
    "rslora": (llama, dict(r=4, lora_alpha=8, use_rslora=True, target_modules=["q_proj", "o_proj"]),
               {}),
    "rank/alpha patterns": (llama, dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                        rank_pattern={"v_proj": 2}, alpha_pattern={"v_proj": 3}),
                            {}),
    "modules_to_save": (llama, dict(r=2, lora_alpha=4, target_modules=["q_proj"],
                                    modules_to_save=["lm_head"]), {}),
    "embedding (save_embedding_layers)": (llama, dict(r=4, lora_alpha=8,
                                                      target_modules=["embed_tokens", "q_proj"]),
                                          dict(save_embedding_layers=True)),
    "GPT-2 Conv1D (fan_in_fan_out)": (gpt2, dict(r=2, lora_alpha=4, target_modules=["c_attn"],
                                                 fan_in_fan_out=True), {}),
}


def main(fwmerge: str, work: str) -> int:
    worst = 0.0
    for i, (kind, (make, config, save_args)) in enumerate(KINDS.items()):
        d = os.path.join(work, f"kind{i}")
        os.makedirs(d, exist_ok=True)
        base = make()
        base.save_pretrained(os.path.join(d, "base"), safe_serialization=True)
        model = get_peft_model(make(), LoraConfig(init_lora_weights=False, **config))
        with torch.no_grad():  # modules_to_save copies start equal to the base: move them
            for name, p in model.named_parameters():
                if "modules_to_save" in name:
                    p.add_(0.01 * torch.randn_like(p))
        model.save_pretrained(os.path.join(d, "adapter"), **save_args)
        merged = model.merge_and_unload().state_dict()
        recipe = os.path.join(d, "recipe.yml")
        with open(recipe, "w") as f:
            f.write(f"merge_method: linear\nbase_model: {d}/base\nmodels:\n"
                    f"  - model: {d}/adapter\n    parameters: {{weight: 1.0}}\ndtype: float32\n")
        out = os.path.join(d, "out")
        subprocess.run(["rm", "-rf", out], check=True)
        r = subprocess.run([fwmerge, "merge", "-q", recipe, out], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{kind:36s} fwmerge failed: {r.stderr.strip()}")
            worst = float("inf")
            continue
        ours = load_file(os.path.join(out, "model.safetensors"))
        diff = max((ours[n].float() - t.float()).abs().max().item()
                   for n, t in merged.items() if n in ours)
        missing = [n for n in merged if n not in ours and not n.endswith("attn.bias")]
        print(f"{kind:36s} max |fwmerge - peft merge_and_unload| = {diff:.3g}"
              + (f"  (missing: {missing})" if missing else ""))
        worst = max(worst, diff)
    print(f"worst: {worst:.3g}")
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
