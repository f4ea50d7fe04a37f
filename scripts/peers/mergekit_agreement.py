#!/usr/bin/env python3
"""How far `fwmerge merge` agrees with mergekit, and how far mergekit agrees with itself.

Peer comparison, never a CI test. Needs a venv with mergekit (it pulls torch and safetensors)
and an installed fwmerge:

    python3 -m venv /tmp/mk-venv && /tmp/mk-venv/bin/pip install mergekit
    LD_LIBRARY_PATH=/tmp/fwprefix/lib /tmp/mk-venv/bin/python scripts/peers/mergekit_agreement.py \
        --dir /tmp/mk-agree --fwmerge /tmp/fwprefix/bin/fwmerge

It builds a small LLaMA-shaped bf16 pool under --dir (a base and --members members as Hugging Face
folders; members = base + small random task vectors, rounded to bf16, so task vectors hold many
equal magnitudes as real bf16 checkpoints do), then for each method writes a mergekit recipe
(weights 1, density 0.5, gamma 0.01, mergekit's default normalize, dtype bfloat16) and runs

  * `mergekit-yaml` once per ATEN_CPU_CAPABILITY in {avx512, avx2, default} (the env var torch
    reads at start-up; it picks the CPU kernels, including the sort behind torch.argsort);
  * `fwmerge merge --semantics mergekit` (fw-mk), the same with `--exact-ties` (fw-mk-exact,
    mergekit's argsort order among equal magnitudes) and `--semantics fwmerge` (fw-fp32).

Methods: linear (recipe without base_model), linear-with-base (base_model also listed in
models with weight 1; mergekit averages it in), task_arithmetic, ties, breadcrumbs,
breadcrumbs_ties, dare_linear, dare_ties (the DARE ones on a one-member recipe). mergekit runs
under the first capability only for linear-with-base and DARE. It prints, per method, a pairwise
table over all these outputs: bit-identical % and within-1-bf16-ulp % over all elements of all
matrices (ndim >= 2) and separately over the 1-D norm vectors.
For the magnitude-trimmed methods (ties, breadcrumbs, breadcrumbs_ties) it also recomputes each
member's task vector as mergekit does (member - base in bf16), the trim threshold(s) with k as
mergekit computes it (ties: k = max(1, int(density * numel)), kept = the k largest |tv| by
torch.argsort(descending=True); breadcrumbs: torch.sort ascending, kept = positions
[n_bot, n_bot + int(density * numel)), n_bot = numel - int(density * numel) - int(gamma * numel)),
and reports which fraction of the elements where fwmerge and mergekit differ sit at a tie: some
member's |tv| there equals a nonzero threshold magnitude of that member that straddles the cut
(equal magnitudes both kept and dropped), so that only the sort's tie order decides. For DARE
(dare_linear, dare_ties; random masks: fwmerge uses its own generator, mergekit torch's) it
compares distributions only, on a one-member recipe: keep rate per tensor and the rescale of the
survivors against the L1 factor sum|tv| / sum|kept tv| mergekit uses.

Before the merges it checks the sort itself: the unstable torch.argsort(descending=True) and
torch.sort orders of member0's |tv| for every tensor, in a child process per ATEN_CPU_CAPABILITY,
and, where g++ is found, against libstdc++'s std::sort of (value, index) pairs with the same
comparison (ATen's fallback when it is not built with x86-simd-sort).

The 0.5.0 methods (`--methods new`, or any of slerp, nearswap, arcee_fusion, multislerp, nuslerp,
karcher, passthrough, della, della_linear, sce, ram, ramplus_tl; recipes in NEW): mergekit runs
under the first capability only, plus once more with the recipe's `dtype: float32` (mk-f32: inputs
cast up, output bf16; separates mergekit's intermediate bf16 rounding from other differences);
fwmerge with --semantics mergekit and fwmerge (and --exact-ties for sce and della). Per method it
prints the pairwise table, an ulp-distance histogram and the worst tensors of fw-* vs mk-*.
della / della_linear run at density 1, epsilon 0 (no random draw matters: every element is kept,
rescale 1), and once more on one member at density 0.5, epsilon 0.1 compared by distribution as
DARE (keep rate, rescale against mergekit's L1 factor, keep rate by row-wise |tv| rank quarter).
A fwmerge run that fails is reported (command and log tail) and the run goes on.

--methods restricts the methods, --capabilities the mergekit runs; --keep reuses outputs already in
--dir (the pool is rebuilt only when its marker is missing or differs). A full run on 2 cores takes
7-12 minutes.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file, save_file

METHODS = ["linear", "linear-with-base", "task_arithmetic", "ties", "breadcrumbs",
           "breadcrumbs_ties", "dare_linear", "dare_ties"]
# linear-with-base: merge_method linear, base_model set and listed in models with weight 1
# (mergekit averages the base in as an input; one mergekit run)
TRIMMED = {"ties": "magnitude", "breadcrumbs": "outliers", "breadcrumbs_ties": "outliers"}
DARE = ("dare_linear", "dare_ties")
CAPABILITIES = ["avx512", "avx2", "default"]
# The 0.5.0 methods (fwmerge) / mergekit 0.1.5: name -> recipe. "base": base_model set;
# "members": which members (indices into the pool; None: all); "per": per-model parameters
# (a dict, or a list of dicts, one per member); "top": the recipe's top-level `parameters`.
NEW = {
    "slerp": dict(base=True, members=[0], top={"t": 0.3}),
    "nearswap": dict(base=True, members=[0], top={"t": 0.001}),
    "arcee_fusion": dict(base=True, members=[0]),
    "multislerp": dict(base=True, members=None, per={"weight": 1.0}),
    "nuslerp": dict(base=True, members=[0, 1], per=[{"weight": 1.0}, {"weight": 0.5}]),
    "karcher": dict(base=True, members=None),  # base_model counts as an input (5 inputs)
    "passthrough": dict(base=False, members=[0], per={"scale": 0.5}),
    # density 1, epsilon 0: no draw matters (every element kept, rescale 1); only the TIES sign
    # consensus and normalize remain. The random case: della-one / della_linear-one below.
    "della": dict(base=True, members=None, per={"weight": 1.0, "density": 1.0, "epsilon": 0.0}),
    "della_linear": dict(base=True, members=None,
                         per={"weight": 1.0, "density": 1.0, "epsilon": 0.0}),
    "sce": dict(base=True, members=None, top={"select_topk": 0.5}),
    "ram": dict(base=True, members=None),
    "ramplus_tl": dict(base=True, members=None),
}
# DELLA with random draws (density 0.5, epsilon 0.1), one member: distributions only, as DARE.
DELLA_RANDOM = ("della", "della_linear")
DELLA_EPS = 0.1
DENSITY = 0.5
GAMMA = 0.01


# ---------------------------------------------------------------------------------------------
# The pool


def shapes(hidden, intermediate, kv_dim, layers, vocab):
    out = {"model.embed_tokens.weight": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        out[p + "self_attn.q_proj.weight"] = (hidden, hidden)
        out[p + "self_attn.k_proj.weight"] = (kv_dim, hidden)
        out[p + "self_attn.v_proj.weight"] = (kv_dim, hidden)
        out[p + "self_attn.o_proj.weight"] = (hidden, hidden)
        out[p + "mlp.gate_proj.weight"] = (intermediate, hidden)
        out[p + "mlp.up_proj.weight"] = (intermediate, hidden)
        out[p + "mlp.down_proj.weight"] = (hidden, intermediate)
        out[p + "input_layernorm.weight"] = (hidden,)
        out[p + "post_attention_layernorm.weight"] = (hidden,)
    out["model.norm.weight"] = (hidden,)
    out["lm_head.weight"] = (vocab, hidden)
    return out


def build_pool(args):
    cfg = dict(hidden=args.hidden, intermediate=args.intermediate, kv_dim=args.kv_dim,
               layers=args.layers, vocab=args.vocab)
    marker = os.path.join(args.dir, "pool.json")
    want = dict(cfg, members=args.members, seed=args.seed, version=1)
    if os.path.exists(marker) and json.load(open(marker)) == want:
        return
    if os.path.exists(args.dir):
        shutil.rmtree(args.dir)
    os.makedirs(args.dir)
    heads = args.hidden // 64
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": args.hidden, "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers, "num_attention_heads": heads,
        "num_key_value_heads": heads * args.kv_dim // args.hidden, "head_dim": 64,
        "vocab_size": args.vocab, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
    }
    g = torch.Generator().manual_seed(args.seed)
    spec = shapes(**cfg)
    # base ~ N(0, 0.02) (norm weights 1 + N(0, 0.02)); member m = bf16(base + tv), tv ~ N(0, s_m),
    # s_m = 0.0005 * (1 + m % 4), a quarter of the entries 4x larger (as fw_bench_merge's pool).
    base = {}
    for name, shape in spec.items():
        x = 0.02 * torch.randn(shape, generator=g)
        base[name] = (x + (1.0 if len(shape) == 1 else 0.0)).to(torch.bfloat16)
    for m in range(-1, args.members):
        folder = model_dir(args, m)
        os.makedirs(folder)
        json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=2)
        if m < 0:
            tensors = base
        else:
            tensors = {}
            for name, shape in spec.items():
                s = 0.0005 * (1 + m % 4)
                big = torch.rand(shape, generator=g) < 0.25
                tv = s * torch.randn(shape, generator=g) * torch.where(big, 4.0, 1.0)
                tensors[name] = (base[name].float() + tv).to(torch.bfloat16)
        save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    json.dump(want, open(marker, "w"))
    n = sum(t.numel() for t in base.values())
    print(f"pool: base + {args.members} members, {n / 1e6:.2f} M parameters each, bf16, "
          f"in {args.dir}")


def model_dir(args, m):
    return os.path.join(args.dir, "base" if m < 0 else f"member{m}")


# ---------------------------------------------------------------------------------------------
# Recipes and runs


def yval(v):
    return str(v).lower() if isinstance(v, bool) else str(v)


def recipe_new(args, method, members, spec):
    y = f"merge_method: {method}\n"
    if spec.get("base"):
        y += f"base_model: {model_dir(args, -1)}\n"
    y += "models:\n"
    per = spec.get("per") or {}
    for i, m in enumerate(members):
        y += f"  - model: {model_dir(args, m)}\n"
        p = per[i] if isinstance(per, list) else per
        if p:
            y += "    parameters:\n" + "".join(f"      {k}: {yval(v)}\n" for k, v in p.items())
    if spec.get("top"):
        y += "parameters:\n" + "".join(f"  {k}: {yval(v)}\n" for k, v in spec["top"].items())
    y += "dtype: bfloat16\nout_dtype: bfloat16\n"
    return y


def recipe(args, method, members):
    if method in NEW:
        spec = dict(NEW[method])
        if method in DELLA_RANDOM and len(members) == 1 and members[0] == args.members - 1:
            spec["per"] = {"weight": 1.0, "density": DENSITY, "epsilon": DELLA_EPS}
        return recipe_new(args, method, members, spec)
    # linear: no base_model (mergekit makes base_model an input of linear and asks for its weight)
    y = f"merge_method: {method.split('-')[0]}\n"
    if method != "linear":
        y += f"base_model: {model_dir(args, -1)}\n"
    y += "models:\n"
    if method == "linear-with-base":
        y += f"  - model: {model_dir(args, -1)}\n    parameters:\n      weight: 1.0\n"
    for m in members:
        y += f"  - model: {model_dir(args, m)}\n    parameters:\n      weight: 1.0\n"
        if not method.startswith("linear") and method != "task_arithmetic":
            y += f"      density: {DENSITY}\n"
        if method.startswith("breadcrumbs"):
            y += f"      gamma: {GAMMA}\n"
    y += "dtype: bfloat16\nout_dtype: bfloat16\n"
    return y


def run(cmd, env, log):
    t = time.time()
    with open(log, "w") as f:
        r = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        FAILED.append((cmd, log, r.returncode))
        print(f"  FAILED ({r.returncode}): {' '.join(cmd)}\n" +
              "".join("    " + line for line in open(log).readlines()[-15:]))
        return None
    return time.time() - t


FAILED = []


def produce(args, method, tag, members):
    """Writes the recipe, runs every tool on it; returns {label: output folder}."""
    work = os.path.join(args.dir, f"{method}{tag}")
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "recipe.yml")
    open(path, "w").write(recipe(args, method, members))
    outs, times = {}, {}
    caps = args.capabilities if method in METHODS[:1] + METHODS[2:6] else args.capabilities[:1]
    fw = [("fw-mk", "mergekit"), ("fw-mk-exact", "exact"), ("fw-fp32", "fwmerge")]
    if method in NEW and method not in ("sce", "della", "della_linear"):
        fw = [fw[0], fw[2]]  # --exact-ties changes only magnitude selections (sce, della)
    runs = [(f"mk-{c}", c) for c in caps] + fw
    if method in NEW and method != "passthrough":
        # mergekit again with `dtype: float32` (inputs cast up, output bf16): separates
        # intermediate rounding (mergekit computes in the recipe's dtype) from other differences
        runs.insert(len(caps), ("mk-f32", caps[0]))
        open(os.path.join(work, "recipe-f32.yml"), "w").write(
            recipe(args, method, members).replace("dtype: bfloat16\nout_dtype",
                                                  "dtype: float32\nout_dtype"))
    for label, what in runs:
        out = os.path.join(work, "out-" + label)
        outs[label] = out
        if args.keep and os.path.isdir(out) and os.listdir(out):
            continue
        shutil.rmtree(out, ignore_errors=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   OMP_NUM_THREADS=str(args.threads))
        if label.startswith("mk-"):
            env["ATEN_CPU_CAPABILITY"] = what
            rp = os.path.join(work, "recipe-f32.yml") if label == "mk-f32" else path
            cmd = [args.mergekit, rp, out, "--no-cuda", "--num-threads", str(args.threads),
                   "--no-copy-tokenizer", "--quiet"]
        else:
            cmd = [args.fwmerge, "merge", path, out, "-q", "--threads", str(args.threads)]
            cmd += (["--semantics", "mergekit", "--exact-ties"] if what == "exact" else
                    ["--semantics", what])
        times[label] = run(cmd, env, out + ".log")
        if times[label] is None:
            del times[label]
            del outs[label]
    if times:
        print(f"  {method}{tag}: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    return outs


def load_folder(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = (sorted(set(json.load(open(index))["weight_map"].values()))
             if os.path.exists(index) else ["model.safetensors"])
    out = {}
    for f in files:
        out.update(load_file(os.path.join(folder, f)))
    return out


# ---------------------------------------------------------------------------------------------
# Comparisons


def ordered(t):
    """bf16 bits as an integer that is monotonic in the value (+0 and -0 both 0)."""
    u = t.view(torch.int16).to(torch.int32) & 0xFFFF
    mag = u & 0x7FFF
    return torch.where((u & 0x8000) != 0, -mag, mag)


def ulp_distance(a, b):
    return (ordered(a) - ordered(b)).abs()


def agreement(x, y, names):
    """(bit-identical %, within 1 ulp %) over the named tensors."""
    n = same = near = 0
    for name in names:
        d = ulp_distance(x[name], y[name])
        n += d.numel()
        same += int((d == 0).sum())
        near += int((d <= 1).sum())
    return 100.0 * same / max(n, 1), 100.0 * near / max(n, 1)


def task_vectors(args, members):
    base = load_folder(model_dir(args, -1))
    tvs = [load_folder(model_dir(args, m)) for m in members]
    return base, {name: [tv[name] - base[name] for tv in tvs] for name in base}  # bf16, as mergekit


def tie_mask(tv, kind):
    """Elements whose |tv| equals a nonzero trim threshold that straddles the cut (equal
    magnitudes both kept and dropped): the sort's tie order decides whether they are kept."""
    w = tv.abs().reshape(-1).float()
    numel = w.numel()
    s = torch.sort(w).values  # ascending; the values at sorted positions do not depend on order
    bounds = []  # (value, position of the first kept, position after the last kept) in s
    if kind == "magnitude":
        k = max(1, int(DENSITY * numel))
        bounds.append((s[numel - k], numel - k, None))
    else:
        target_n = int(DENSITY * numel)
        n_top = int(GAMMA * numel)
        n_bot = max(0, numel - target_n - n_top)
        if target_n > 0:
            bounds.append((s[n_bot], n_bot, None))
            bounds.append((s[n_bot + target_n - 1], None, n_bot + target_n))
    mask = torch.zeros(numel, dtype=torch.bool)
    for value, first_kept, after_last in bounds:
        if value == 0:  # keeping one zero or another changes nothing (no value, no sign)
            continue
        if first_kept is not None and first_kept > 0 and s[first_kept - 1] == value:
            mask |= w == value
        if after_last is not None and after_last < numel and s[after_last] == value:
            mask |= w == value
    return mask.reshape(tv.shape)


def tie_report(outs, labels, tvs, names, kind):
    """For each mergekit output: differing elements vs fw-mk, and how many sit at a tie."""
    fw = outs["fw-mk"]
    rows = []
    ties_at = {name: torch.stack([tie_mask(t, kind) for t in tvs[name]]).any(0) for name in names}
    n_all = sum(t.numel() for t in ties_at.values())
    n_tie = sum(int(t.sum()) for t in ties_at.values())
    for label in labels:
        mk = outs[label]
        diff = tied = big = big_tied = 0
        for name in names:
            d = ulp_distance(fw[name], mk[name])
            nz = d != 0
            diff += int(nz.sum())
            tied += int((nz & ties_at[name]).sum())
            b = d > 1
            big += int(b.sum())
            big_tied += int((b & ties_at[name]).sum())
        rows.append((label, diff, tied, big, big_tied))
    return n_all, n_tie, rows


def compare(args, method, outs):
    data = {label: load_folder(folder) for label, folder in outs.items()}
    labels = list(data)
    names = sorted(data[labels[0]])
    mats = [n for n in names if data[labels[0]][n].dim() >= 2]
    vecs = [n for n in names if data[labels[0]][n].dim() == 1]
    for label in labels:
        if sorted(data[label]) != names:
            print(f"  {method}: {label} has other tensors than {labels[0]}: "
                  f"{sorted(set(data[label]) ^ set(names))[:5]}")
            FAILED.append((method, label, "other tensors"))
            return data, []
    print(f"\n### {method}\n")
    print("| A | B | matrices bit-identical | within 1 ulp | norm vectors bit-identical "
          "| within 1 ulp |")
    print("|---|---|---|---|---|---|")
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            m0, m1 = agreement(data[a], data[b], mats)
            v0, v1 = agreement(data[a], data[b], vecs)
            print(f"| {a} | {b} | {m0:.2f} % | {m1:.2f} % | {v0:.2f} % | {v1:.2f} % |")
    return data, mats + vecs


def check_linear(args, data, names, members):
    """linear: the fp32 mean of the inputs (the members; -1: the base too), rounded to bf16."""
    tensors = [load_folder(model_dir(args, m)) for m in members]
    ref = {n: (sum(t[n].float() for t in tensors) / len(tensors)).to(torch.bfloat16)
           for n in names}
    for label in data:
        s, u = agreement(data[label], ref, names)
        what = "base and members" if -1 in members else "members"
        print(f"  {label} vs bf16(fp32 mean of the {what}): {s:.2f} % bit-identical, "
              f"{u:.2f} % within 1 ulp")


def dare_report(args, method, data, member):
    """Keep rate and rescale of a one-member DARE merge: out = base + r * mask * tv."""
    base = load_folder(model_dir(args, -1))
    mem = load_folder(model_dir(args, member))
    print(f"\n  {method}, one member (member{member}, density {DENSITY}), over the elements with "
          "tv != 0. keep: kept / nonzero, pooled (min - max over tensors). scale: the survivors' "
          "effective rescale sum|out - base| / sum|kept tv| per tensor, over mergekit's L1 factor "
          "sum|tv| / sum|kept tv| and over 1/density (mean, min - max over tensors)")
    print("\n  | output | part | keep rate | scale / L1 factor | scale / (1/density) |")
    print("  |---|---|---|---|---|")
    for label, out in data.items():
        for part, want_dim in (("matrices", 2), ("norm vectors", 1)):
            nz_all = kept_all = 0
            keep, vs_l1, vs_p = [], [], []
            for name in base:
                if (base[name].dim() >= 2) != (want_dim == 2):
                    continue
                tv = (mem[name] - base[name]).float()
                delta = out[name].float() - base[name].float()
                nz = tv != 0
                kept = nz & (delta != 0)
                nz_all += int(nz.sum())
                kept_all += int(kept.sum())
                keep.append(float(kept.sum() / nz.sum()))
                scale = float(delta[kept].abs().sum() / tv[kept].abs().sum())
                vs_l1.append(scale / float(tv.abs().sum() / tv[kept].abs().sum()))
                vs_p.append(scale * DENSITY)

            def mmm(v):
                return f"{sum(v) / len(v):.4f} ({min(v):.4f} - {max(v):.4f})"
            print(f"  | {label} | {part} | {kept_all / nz_all:.4f} ({min(keep):.4f} - "
                  f"{max(keep):.4f}) | {mmm(vs_l1)} | {mmm(vs_p)} |")


def where_report(method, data, names, a="fw-mk", b=None):
    """Where `a` and the first mergekit output differ: ulp histogram and the worst tensors."""
    b = b or next(label for label in data if label.startswith("mk-") and label != "mk-f32")
    if a not in data or b not in data:
        return
    hist = {0: 0, 1: 0, 2: 0, "3-15": 0, ">=16": 0}
    rows = []
    for name in names:
        d = ulp_distance(data[a][name], data[b][name])
        for k, lo, hi in ((0, 0, 0), (1, 1, 1), (2, 2, 2), ("3-15", 3, 15), (">=16", 16, 1 << 20)):
            hist[k] += int(((d >= lo) & (d <= hi)).sum())
        rows.append((100.0 * float((d <= 1).float().mean()), int(d.max()), name))
    n = sum(hist.values())
    print(f"\n  {a} vs {b}, ulp distance over all elements: " +
          ", ".join(f"{k}: {100.0 * v / n:.3f} %" for k, v in hist.items()))
    rows.sort()
    print("  worst tensors (within 1 ulp %, max ulp): " +
          "; ".join(f"{nm.replace('model.', '')} {w:.2f} % / {m}" for w, m, nm in rows[:4]))


def della_rank_report(args, data, member):
    """Keep rate of a one-member DELLA merge by the row-wise rank of |tv| (mergekit ranks each
    row; p = density - eps + 2 eps rank_norm): quarters of rank_norm, matrices pooled."""
    base = load_folder(model_dir(args, -1))
    mem = load_folder(model_dir(args, member))
    print(f"\n  keep rate by row-wise |tv| rank quarter (expected {DENSITY - DELLA_EPS * 0.75:.3f}, "
          f"{DENSITY - DELLA_EPS * 0.25:.3f}, {DENSITY + DELLA_EPS * 0.25:.3f}, "
          f"{DENSITY + DELLA_EPS * 0.75:.3f}), matrices:")
    for label, out in data.items():
        kept = [0] * 4
        tot = [0] * 4
        for name in base:
            if base[name].dim() < 2:
                continue
            tv = (mem[name] - base[name]).float()
            delta = out[name].float() - base[name].float()
            r = tv.abs().argsort(dim=1, stable=True).argsort(dim=1).float()
            q = (r / (tv.shape[1] - 1) * 4).clamp(max=3.999).long()
            nz = tv != 0
            for i in range(4):
                sel = nz & (q == i)
                tot[i] += int(sel.sum())
                kept[i] += int((sel & (delta != 0)).sum())
        print(f"  | {label} | " + " | ".join(f"{k / max(t, 1):.4f}" for k, t in zip(kept, tot)) +
              " |")


STD_SORT_CPP = r"""
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>
// argv: values (float32 file), output (int64 indices), "desc" or "asc". ATen's std::sort path:
// (key, index) pairs ordered by the key alone.
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  std::FILE *f = std::fopen(argv[1], "rb");
  std::vector<std::pair<float, int64_t>> p;
  float x;
  while (std::fread(&x, 4, 1, f) == 1) p.emplace_back(x, static_cast<int64_t>(p.size()));
  std::fclose(f);
  if (argv[3][0] == 'd')
    std::sort(p.begin(), p.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
  else
    std::sort(p.begin(), p.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
  std::FILE *g = std::fopen(argv[2], "wb");
  for (const auto &q : p) std::fwrite(&q.second, 8, 1, g);
  std::fclose(g);
  return 0;
}
"""


def probe_sort_child(path):
    """Child: one line, the capability and a digest of each sort order of the stored vectors."""
    import hashlib
    vecs = load_file(path)
    out = [torch.backends.cpu.get_cpu_capability()]
    for name in sorted(vecs):
        w = vecs[name]
        for desc in (True, False):
            i = torch.argsort(w, descending=True) if desc else torch.sort(w).indices
            out.append(hashlib.sha1(i.numpy().tobytes()).hexdigest()[:10])
    print(" ".join(out))


def probe_sort(args):
    base = load_folder(model_dir(args, -1))
    mem = load_folder(model_dir(args, 0))
    vecs = {n: (mem[n] - base[n]).abs().reshape(-1).float().contiguous() for n in sorted(base)}
    shown = ["model.layers.0.self_attn.k_proj.weight", "model.layers.0.mlp.up_proj.weight",
             "lm_head.weight", "model.norm.weight"]
    path = os.path.join(args.dir, "sort-probe.safetensors")
    save_file(vecs, path)
    print(f"\nsort order of |tv| (member0, all {len(vecs)} tensors; unstable torch.argsort "
          "descending and torch.sort ascending) per ATEN_CPU_CAPABILITY:")
    lines = {}
    for cap in args.capabilities:
        env = dict(os.environ, ATEN_CPU_CAPABILITY=cap)
        r = subprocess.run([sys.executable, __file__, "--probe-sort", path], env=env,
                           capture_output=True, text=True, check=True)
        lines[cap] = r.stdout.split()
        digest = __import__("hashlib").sha1(" ".join(lines[cap][1:]).encode()).hexdigest()[:12]
        print(f"  {cap:8s} -> {lines[cap][0]}, sha1 over all {2 * len(vecs)} orders {digest}")
    orders = {tuple(v[1:]) for v in lines.values()}
    print(f"  the orders are {'the same' if len(orders) == 1 else 'DIFFERENT'} across "
          "capabilities")
    for n in shown:
        w = vecs[n]
        stable = torch.argsort(w, descending=True, stable=True)
        unstable = torch.argsort(w, descending=True)
        moved = 100.0 * float((stable != unstable).float().mean())
        print(f"  {n}: {w.numel()} elements, {w.unique().numel()} distinct |tv|; unstable order "
              f"differs from the stable one at {moved:.1f} % of positions")
    gxx = shutil.which("g++")
    if not gxx:
        print("  (no g++: std::sort comparison skipped)")
        return
    src = os.path.join(args.dir, "std_sort.cpp")
    exe = os.path.join(args.dir, "std_sort")
    open(src, "w").write(STD_SORT_CPP)
    subprocess.run([gxx, "-O2", "-std=c++17", src, "-o", exe], check=True)
    same = []
    for n, w in vecs.items():
        vals = os.path.join(args.dir, "sort-probe.f32")
        idx = os.path.join(args.dir, "sort-probe.i64")
        w.numpy().tofile(vals)
        for desc in (True, False):
            subprocess.run([exe, vals, idx, "desc" if desc else "asc"], check=True)
            ref = torch.from_file(idx, size=w.numel(), dtype=torch.int64)
            got = torch.argsort(w, descending=True) if desc else torch.sort(w).indices
            same.append(torch.equal(ref, got))
    print(f"  torch's order equals libstdc++ std::sort of (|tv|, index) pairs ({gxx}) in "
          f"{sum(same)} of {len(same)} cases ({len(vecs)} tensors x descending/ascending)")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--probe-sort":
        return probe_sort_child(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="/tmp/mk-agree")
    ap.add_argument("--fwmerge", default="/tmp/fwprefix/bin/fwmerge")
    ap.add_argument("--mergekit", default=os.path.join(os.path.dirname(sys.executable),
                                                       "mergekit-yaml"))
    ap.add_argument("--methods", default=",".join(METHODS),
                    help="comma-separated; also " + ",".join(NEW) + " (or 'new': all of those)")
    ap.add_argument("--capabilities", default=",".join(CAPABILITIES))
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--intermediate", type=int, default=1408)
    ap.add_argument("--kv-dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--keep", action="store_true", help="reuse outputs already in --dir")
    args = ap.parse_args()
    args.capabilities = args.capabilities.split(",")
    if args.methods == "new":
        args.methods = ",".join(NEW)
    torch.set_num_threads(args.threads)

    import mergekit.merge  # noqa: F401  (only for the version line)
    from importlib.metadata import version
    print(f"mergekit {version('mergekit')}, torch {torch.__version__}, "
          f"this process's CPU capability {torch.backends.cpu.get_cpu_capability()}")
    build_pool(args)
    if any(m in TRIMMED for m in args.methods.split(",")):
        probe_sort(args)
    members = list(range(args.members))
    tvs = None
    t_start = time.time()
    for method in args.methods.split(","):
        if method in NEW:
            mem = NEW[method]["members"] or members
            outs = produce(args, method, "", mem)
            if len(outs) >= 2:
                data, names = compare(args, method, outs)
                if names:
                    where_report(method, data, names)
                    where_report(method, data, names, "fw-fp32")
                    if "mk-f32" in data:
                        where_report(method, data, names, "fw-mk", "mk-f32")
                        where_report(method, data, names, "fw-fp32", "mk-f32")
            if method in DELLA_RANDOM:
                member = args.members - 1
                outs = produce(args, method, "-one", [member])
                if len(outs) >= 2:
                    data = {label: load_folder(folder) for label, folder in outs.items()}
                    compare(args, method + f" (one member, density {DENSITY}, epsilon "
                            f"{DELLA_EPS})", outs)
                    dare_report(args, method, data, member)
                    della_rank_report(args, data, member)
            sys.stdout.flush()
            continue
        if method in DARE:
            member = args.members - 1
            outs = produce(args, method, "-one", [member])
            data = {label: load_folder(folder) for label, folder in outs.items()}
            compare(args, method + " (one member)", outs)
            dare_report(args, method, data, member)
            continue
        outs = produce(args, method, "", members)
        data, names = compare(args, method, outs)
        if method == "linear":
            check_linear(args, data, names, members)
        if method == "linear-with-base":
            check_linear(args, data, names, [-1] + members)
        if method in TRIMMED:
            if tvs is None:
                _, tvs = task_vectors(args, members)
            mk = [label for label in data if label.startswith("mk-")]
            for part, sel in (("matrices", [n for n in names if data["fw-mk"][n].dim() >= 2]),
                              ("norm vectors", [n for n in names if data["fw-mk"][n].dim() == 1])):
                n_all, n_tie, rows = tie_report(data, mk, tvs, sel, TRIMMED[method])
                print(f"\n  {part}: {n_tie} of {n_all} elements ({100.0 * n_tie / n_all:.2f} %) "
                      "have some member's |tv| at a straddling nonzero trim threshold")
                print("\n  | fw-mk vs | differing elements | of them at a tie | differing by > 1 "
                      "ulp | of them at a tie |")
                print("  |---|---|---|---|---|")
                for label, diff, tied, big, big_tied in rows:
                    pct = 100.0 * tied / diff if diff else 100.0
                    bpct = 100.0 * big_tied / big if big else 100.0
                    print(f"  | {label} | {diff} | {tied} ({pct:.2f} %) | {big} | "
                          f"{big_tied} ({bpct:.2f} %) |")
        sys.stdout.flush()
    print(f"\nmethods took {time.time() - t_start:.0f} s")
    for f in FAILED:
        print("FAILED:", f)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
