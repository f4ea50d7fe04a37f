#!/usr/bin/env python3
"""Expected values for tests/merge/test_sparse_methods.cpp, computed by mergekit 0.1.5 itself.

Peer script, never a CI test. Needs a venv with mergekit 0.1.5 (and torch):

    ~/.cache/fwmerge/peer-mergekit/bin/python scripts/peers/mergekit_sparse_methods.py \
        > tests/merge/mergekit_sparse_expected.h

Prints the header tests/merge/mergekit_sparse_expected.h: C++ initializer lists of the inputs and
mergekit's outputs (float32 as %.9g, which round-trips). The inputs are small fixed fp32 tensors drawn from torch.manual_seed, with
distinct magnitudes (no ties: mergekit's torch.argsort is unstable among equal magnitudes, this
library breaks ties by index).

DELLA draws random numbers with torch.bernoulli. For the comparison the script replaces
mergekit.sparsify's torch.bernoulli by this library's counter-based draws (lib/merge/counter_rng.h:
entry e of member i of tensor t kept when unit_double(splitmix64_at(stream_key(seed, t, i), e)) <
p, with p mergekit's own probabilities), so mergekit's della_magprune, rescale and consensus run
unchanged on the same keep decisions; the deterministic cases (density 1 and 0) run unpatched.
"""
import sys

import torch

import mergekit.sparsify as sparsify_module
from mergekit.merge_methods import registry
from mergekit.merge_methods.base import TensorGroup

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def splitmix64_at(state, i):
    return mix64((state + (i + 1) * GOLDEN) & M64)


def stream_key(seed, tensor, member):
    return splitmix64_at(splitmix64_at(seed, tensor), member)


def unit_double(r):
    return (r >> 11) * 2.0**-53


def literal(v):
    text = "%.9g" % v
    if not any(c in text for c in ".e"):
        text += ".0"  # "0f" or "-3f" would not be a float literal
    return text + "f"


def fmt(t):
    vals = t.detach().reshape(-1).tolist()
    return "{" + ", ".join(literal(v) for v in vals) + "}"


def shape(t):
    return "{" + ", ".join(str(d) for d in t.shape) + "}"


class CounterBernoulli:
    """torch.bernoulli(probs) with this library's draws; one stream per call, members in order."""

    def __init__(self, seed, tensor):
        self.seed, self.tensor, self.member = seed, tensor, 0
        self.original = torch.bernoulli

    def __call__(self, probs, *args, **kwargs):
        key = stream_key(self.seed, self.tensor, self.member)
        self.member += 1
        flat = probs.reshape(-1).double().tolist()
        keep = [1.0 if unit_double(splitmix64_at(key, e)) < p else 0.0 for e, p in enumerate(flat)]
        return torch.tensor(keep, dtype=probs.dtype).reshape(probs.shape)


def run(method, base, members, parameters, patch=None):
    ids = ["base"] + ["m%d" % i for i in range(len(members))]
    group = TensorGroup.from_tensors([base] + members, ids=ids, base_index=0)
    original = torch.bernoulli
    if patch is not None:
        sparsify_module.torch.bernoulli = patch  # sparsify.py calls torch.bernoulli
    try:
        (out,) = registry.get(method)([group], parameters=parameters)
    finally:
        sparsify_module.torch.bernoulli = original
    return out


def per_member(values):
    return {"m%d" % i: v for i, v in enumerate(values)}


def pool(seed, shape_, n):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape_, generator=g)
    members = [base + 0.1 * torch.randn(shape_, generator=g) for _ in range(n)]
    return base, members


def cpp_bool(b):
    return "true" if b else "false"


def cpp_doubles(values):
    return "{" + ", ".join(repr(float(v)) for v in values) + "}"


def emit_pool(name, base, members):
    print("const MkPool %s = {%s, %s, {" % (name, shape(base), fmt(base)))
    for m in members:
        print("    %s," % fmt(m))
    print("}};")


def della():
    seed, tensor = 7, 3
    weights = [1.0, 0.5, -0.75]
    cases = [
        # (method, densities, epsilons, lambda, normalize, rescale, patched)
        ("della", [0.5, 0.3, 0.6], [0.2, 0.1, 0.3], 1.0, True, True, True),
        ("della", [0.5, 0.3, 0.6], [0.2, 0.1, 0.3], 0.7, False, False, True),
        ("della_linear", [0.4, 0.7, 0.5], [0.15, 0.05, 0.4], 1.0, False, True, True),
        ("della_linear", [0.4, 0.7, 0.5], [0.15, 0.05, 0.4], 1.3, True, True, True),
        ("della", [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], 1.0, True, True, False),
        ("della", [1.0, 0.0, 1.0], [0.15, 0.15, 0.15], 0.5, True, True, False),
        ("della_linear", [1.0, 1.0, 0.0], [0.15, 0.15, 0.15], 1.0, False, True, False),
    ]
    print("// DELLA: weights %s, seed %d, tensor index %d; `patched`: mergekit ran with this"
          % (weights, seed, tensor))
    print("// library's draws in place of torch.bernoulli (the docstring above).")
    names = []
    for name, shp in (("kDella2d", (4, 6)), ("kDella3d", (2, 3, 4)), ("kDella1d", (9,))):
        base, members = pool(11 + len(shp), shp, 3)
        emit_pool(name, base, members)
        names.append((name, base, members))
    print("const std::vector<MkDellaCase> kDellaCases = {")
    for name, base, members in names:
        for method, dens, eps, lam, norm, resc, patched in cases:
            params = {
                "weight": per_member(weights),
                "density": per_member(dens),
                "epsilon": per_member(eps),
                "lambda": lam,
                "normalize": norm,
                "rescale": resc,
            }
            out = run(method, base, members, params,
                      CounterBernoulli(seed, tensor) if patched else None)
            print("    {&%s, \"%s\", %s, %s, %r, %s, %s, %s,\n     %s}," % (
                name, method, cpp_doubles(dens), cpp_doubles(eps), lam, cpp_bool(norm),
                cpp_bool(resc), cpp_bool(patched), fmt(out)))
    print("};")


def sce():
    print("// SCE: no weights (mergekit's sce takes none).")
    g = torch.Generator().manual_seed(21)
    base = torch.randn(5, 8, generator=g)
    members = [base + 0.1 * torch.randn(5, 8, generator=g) for _ in range(3)]
    # Entries 0..5 move every member by the same amount: variance exactly 0 there, so they are
    # never selected and count_nonzero is below numel.
    for m in members:
        m.view(-1)[:6] = base.view(-1)[:6] + 0.05
    emit_pool("kSce", base, members)
    tiny = [base + 1e-4 * torch.randn(5, 8, generator=g) for _ in range(2)]  # mean squares < 1e-6
    emit_pool("kSceTiny", base, tiny)
    one = [members[0]]
    emit_pool("kSceOne", base, one)
    print("const std::vector<MkSceCase> kSceCases = {")
    for name, ms in (("kSce", members), ("kSceTiny", tiny), ("kSceOne", one)):
        for topk in (1.0, 0.5, 0.3, 0.05, 0.0):
            out = run("sce", base, ms, {"select_topk": topk})
            print("    {&%s, %r,\n     %s}," % (name, topk, fmt(out)))
    print("};")


def passthrough():
    print("// passthrough: one input (mergekit refuses a second one, the base included).")
    g = torch.Generator().manual_seed(31)
    member = torch.randn(3, 4, generator=g)
    print("const std::vector<float> kPassthroughMember = %s;" % fmt(member))
    print("const std::vector<MkScaleCase> kPassthroughCases = {")
    group = TensorGroup.from_tensors([member], ids=["m0"])
    for scale in (None, 1.0, 0.5, -1.7, 3.3, 0.0):
        params = {} if scale is None else {"scale": {"m0": scale}}
        (out,) = registry.get("passthrough")([group], parameters=params)
        print("    {%r, %s}," % (1.0 if scale is None else scale, fmt(out)))
    print("};")


def ram():
    print("// RAM: members move a random half of the entries each (the others equal the base), some")
    print("// entries by less than 0.05 (below the larger epsilon).")
    g = torch.Generator().manual_seed(41)
    base = torch.randn(6, 7, generator=g)
    members = []
    for i in range(3):
        moved = torch.rand(6, 7, generator=g) < 0.5
        step = 0.2 * torch.randn(6, 7, generator=g)
        step[torch.rand(6, 7, generator=g) < 0.2] *= 0.1  # small moves
        members.append(torch.where(moved, base + step, base))
    # Member 2 moves only where another member does too: no unique contributions, rho = shared /
    # epsilon, clamped to alpha.
    members[2] = torch.where((members[0] != base) | (members[1] != base), members[2], base)
    emit_pool("kRam", base, members)
    print("const std::vector<MkRamCase> kRamCases = {")
    cases = [
        ("ram", {}),
        ("ram", {"epsilon": 0.05}),
        ("ram", {"epsilon": 0.0}),
        ("ramplus_tl", {}),
        ("ramplus_tl", {"r": 0.5, "alpha": 2.0}),
        ("ramplus_tl", {"r": 1.5, "alpha": 0.7, "epsilon": 0.05}),
    ]
    for method, params in cases:
        out = run(method, base, members, params)
        full = {"epsilon": 1e-5, "r": 0.1, "alpha": 0.2}
        full.update(params)
        print("    {\"%s\", %r, %r, %r,\n     %s}," % (method, full["epsilon"], full["r"],
                                                    full["alpha"], fmt(out)))
    print("};")


def ram_bf16():
    print("// RAM in bf16 (a `dtype: bfloat16` recipe: mergekit computes in the tensors' dtype; for")
    print("// fwmerge's --semantics mergekit): a weight-sized base, members moving about half of the")
    print("// entries by ~0.003 (epsilon 0.001 drops the smaller moves). ramplus_tl's")
    print("// result is fp32 (its fp32 lambdas promote it), before mergekit's cast to out_dtype.")
    g = torch.Generator().manual_seed(43)
    base = (torch.randn(8, 16, generator=g) * 0.02).to(torch.bfloat16)
    members = []
    for i in range(3):
        step = 0.003 * torch.randn(8, 16, generator=g)
        step[torch.rand(8, 16, generator=g) < 0.1] *= 1e-3  # tiny moves
        moved = torch.rand(8, 16, generator=g) < 0.5
        members.append(torch.where(moved, (base.float() + step).to(torch.bfloat16), base))
    emit_pool("kRamBf16", base.float(), [m.float() for m in members])
    print("const std::vector<MkRamCase> kRamBf16Cases = {")
    for method, params in [("ram", {}), ("ramplus_tl", {}),
                           ("ramplus_tl", {"r": 0.5, "alpha": 2.0, "epsilon": 0.001})]:
        out = run(method, base, members, params)
        full = {"epsilon": 1e-5, "r": 0.1, "alpha": 0.2}
        full.update(params)
        print("    {\"%s\", %r, %r, %r,\n     %s}," % (method, full["epsilon"], full["r"],
                                                    full["alpha"], fmt(out.float())))
    print("};")


HEADER = """// clang-format off
// Generated by scripts/peers/mergekit_sparse_methods.py (mergekit 0.1.5, torch %s): inputs and
// mergekit's outputs for tests/merge/test_sparse_methods.cpp. Do not edit; rerun the script.
#pragma once

#include <cstdint>
#include <vector>

namespace mk {

struct MkPool {
  std::vector<int64_t> shape;
  std::vector<float> base;
  std::vector<std::vector<float>> members;
};

struct MkDellaCase {
  const MkPool *pool;
  const char *method;
  std::vector<double> densities, epsilons;
  double lambda;
  bool normalize, rescale, patched;
  std::vector<float> expected;
};

struct MkScaleCase {
  double scale;
  std::vector<float> expected;
};

struct MkRamCase {
  const char *method;
  double epsilon, r, alpha;
  std::vector<float> expected;
};

struct MkSceCase {
  const MkPool *pool;
  double select_topk;
  std::vector<float> expected;
};
"""

if __name__ == "__main__":
    wanted = sys.argv[1:] or ["della", "sce", "passthrough", "ram", "ram_bf16"]
    print(HEADER % torch.__version__)
    for w in wanted:
        globals()[w]()
    print("}  // namespace mk")
