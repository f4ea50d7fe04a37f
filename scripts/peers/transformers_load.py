#!/usr/bin/env python3
"""Checks that a Hugging Face folder written by `fwmerge merge` loads with transformers.

    python transformers_load.py OUT_DIR

Loads the folder with AutoModelForCausalLM.from_pretrained, compares every parameter with the
tensors in the folder's safetensors files (read with the reference `safetensors` package) bit for
bit, and runs one forward pass. Needs torch, transformers and safetensors (a peer venv, never CI).
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main(out_dir: str) -> int:
    model = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.bfloat16)
    index = os.path.join(out_dir, "model.safetensors.index.json")
    files = (sorted(set(json.load(open(index))["weight_map"].values()))
             if os.path.exists(index) else ["model.safetensors"])
    stored = {}
    for f in files:
        stored.update(load_file(os.path.join(out_dir, f)))
    params = dict(model.named_parameters())
    mismatched = [n for n, t in stored.items() if not torch.equal(params[n].detach(), t)]
    missing = sorted(set(params) - set(stored))
    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3, 4]])).logits
    print(f"loaded {type(model).__name__}: {len(params)} parameters tensors, "
          f"{len(stored)} stored in {len(files)} file(s); bit-identical: "
          f"{len(stored) - len(mismatched)}/{len(stored)}; missing: {missing or 'none'}; "
          f"forward pass logits {tuple(logits.shape)}, finite: {bool(torch.isfinite(logits).all())}")
    return 0 if not mismatched and not missing and torch.isfinite(logits).all() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
