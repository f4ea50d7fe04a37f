"""Expected values of mergekit 0.1.5's geometric merge methods on small fixed tensors, printed as
C++ initializers for tests/merge/test_geometric_methods.cpp (the block between the "mergekit
0.1.5 values" markers there is this script's output, pasted).

Run with the peer venv (mergekit 0.1.5 and torch):
    ~/.cache/fwmerge/peer-mergekit/bin/python scripts/peers/mergekit_geometric.py

With --big PATH it also writes PATH, a safetensors file with a [300, 700] base, three members
and mergekit's result of every method on them (as in the test MergekitGeometricLarge, which reads
it when FWMERGE_MERGEKIT_GEOMETRIC_BIG=PATH is set): sizes where mergekit's fp32 reductions and
fwmerge's double ones differ by more than on the small cases, and above one chunk.

Inputs are fp32 draws of a seeded torch generator, printed with 9 significant digits (exact for
fp32), and every method is called through mergekit's own merge-method objects (the code path a
mergekit-yaml run takes per tensor: contract checks, parameter binding, fp32 arithmetic).
"""

import argparse

import torch
from mergekit.merge_methods.arcee_fusion import arcee_fusion_merge_method
from mergekit.merge_methods.base import TensorGroup
from mergekit.merge_methods.karcher import karcher_merge_method
from mergekit.merge_methods.multislerp import multislerp
from mergekit.merge_methods.nearswap import nearswap_merge
from mergekit.merge_methods.nuslerp import nuslerp_merge_method
from mergekit.merge_methods.slerp import slerp_merge_method

gen = torch.Generator().manual_seed(2027)


def draw(*shape, scale=1.0):
    return (torch.randn(*shape, generator=gen) * scale).to(torch.float32)


def emit(name, t):
    values = ", ".join(f"{v:.9g}f" for v in t.reshape(-1).tolist())
    print(f"const std::vector<float> {name} = {{{values}}};")


def merge(method, base, members, **parameters):
    tensors = ([base] if base is not None else []) + list(members)
    group = TensorGroup.from_tensors(tensors, base_index=0 if base is not None else None)
    (out,) = method([group], parameters=parameters)
    return out


print("// mergekit 0.1.5 values (scripts/peers/mergekit_geometric.py); shapes in the test")
# slerp: a generic pair (the spherical branch) at t = 0.3, and an almost collinear pair (b ~ 2a,
# the lerp branch) at t = 0.6; shape [3, 4].
a, b = draw(3, 4), draw(3, 4)
emit("kSlerpBase", a)
emit("kSlerpMember", b)
emit("kSlerpT03", merge(slerp_merge_method, a, [b], t=0.3))
c = (2 * a + draw(3, 4, scale=1e-3)).to(torch.float32)
emit("kSlerpNearMember", c)
emit("kSlerpNearT06", merge(slerp_merge_method, a, [c], t=0.6))

# nearswap, t = 0.05: a member whose entries lie at distances from 1e-4 to about 1 from the base's.
a = draw(2, 6)
d = torch.tensor([1e-4, -2e-3, 0.01, -0.04, 0.05, 0.06, -0.1, 0.2, -0.5, 1.0, 3e-7, 0.0])
b = (a + d.reshape(2, 6)).to(torch.float32)
emit("kNearswapBase", a)
emit("kNearswapMember", b)
emit("kNearswapT005", merge(nearswap_merge, a, [b], t=0.05))

# multislerp over task vectors: base + 3 members, shape [2, 5], weights 0.5, 1, 2 normalized, and
# 0.2, 0.3, 0.4 unnormalized.
base = draw(2, 5)
ms = [base + draw(2, 5, scale=0.1) for _ in range(3)]
emit("kMultiBase", base)
for i, m in enumerate(ms):
    emit(f"kMultiMember{i}", m)
emit(
    "kMultiNormalized",
    merge(multislerp, base, ms, weight=[0.5, 1.0, 2.0], normalize_weights=True),
)
emit(
    "kMultiRaw",
    merge(multislerp, base, ms, weight=[0.2, 0.3, 0.4], normalize_weights=False),
)

# nuslerp: base + 2 members, shape [3, 4], weights 1 and 3 (t = 0.75): flattened, per row and per
# column (row-wise).
base = draw(3, 4)
n0, n1 = base + draw(3, 4, scale=0.1), base + draw(3, 4, scale=0.1)
emit("kNuBase", base)
emit("kNuMember0", n0)
emit("kNuMember1", n1)
for label, flatten, row_wise in (
    ("kNuFlat", True, False),
    ("kNuRows", False, False),
    ("kNuColumns", False, True),
):
    emit(
        label,
        merge(
            nuslerp_merge_method,
            base,
            [n0, n1],
            weight=[1.0, 3.0],
            nuslerp_flatten=flatten,
            nuslerp_row_wise=row_wise,
        ),
    )

# karcher: 3 inputs (mergekit takes no base for it), shape [2, 5], defaults (max_iter 10, tol 1e-5)
# and max_iter 1.
ks = [draw(2, 5) for _ in range(3)]
for i, k in enumerate(ks):
    emit(f"kKarcherMember{i}", k)
emit("kKarcher", merge(karcher_merge_method, None, ks))
emit("kKarcherOneStep", merge(karcher_merge_method, None, ks, max_iter=1))

# arcee_fusion: base + member, shape [6, 8]: small changes everywhere, large ones in rows 1 and 4
# (high KL there), so that the mask keeps a few entries of those rows.
base = draw(6, 8)
delta = draw(6, 8, scale=0.01)
delta[1] += draw(8, scale=1.0)
delta[4, :4] += draw(4, scale=2.0)
member = (base + delta).to(torch.float32)
emit("kFusionBase", base)
emit("kFusionMember", member)
emit("kFusion", merge(arcee_fusion_merge_method, base, [member]))


def write_big(path):
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(7)
    shape = (300, 700)
    base = torch.randn(*shape, generator=g) * 0.05
    ms = [base + torch.randn(*shape, generator=g) * 0.01 for _ in range(3)]
    ms[0][17] += torch.randn(700, generator=g) * 0.2  # one row far off: high KL for arcee_fusion
    out = {
        "base": base,
        "m0": ms[0],
        "m1": ms[1],
        "m2": ms[2],
        "slerp": merge(slerp_merge_method, base, [ms[0]], t=0.3),
        "nearswap": merge(nearswap_merge, base, [ms[0]], t=0.005),
        "multislerp": merge(
            multislerp, base, ms, weight=[0.5, 1.0, 2.0], normalize_weights=True
        ),
        "nuslerp_flat": merge(nuslerp_merge_method, base, ms[:2], weight=[1.0, 3.0]),
        "nuslerp_rows": merge(
            nuslerp_merge_method, base, ms[:2], weight=[1.0, 3.0], nuslerp_flatten=False
        ),
        "nuslerp_cols": merge(
            nuslerp_merge_method,
            base,
            ms[:2],
            weight=[1.0, 3.0],
            nuslerp_flatten=False,
            nuslerp_row_wise=True,
        ),
        "karcher": merge(karcher_merge_method, None, ms),
        "arcee_fusion": merge(arcee_fusion_merge_method, base, [ms[0]]),
    }
    save_file({k: v.contiguous() for k, v in out.items()}, path)


def emit_bf16():
    """bf16 inputs (the tensors as a `dtype: bfloat16` recipe loads them), for fwmerge's
    --semantics mergekit, which computes these methods in the recipe's dtype as mergekit does."""
    g = torch.Generator().manual_seed(2028)

    def bf16(t):
        return t.to(torch.bfloat16)

    def emit16(name, t):
        emit(name, t.to(torch.float32))  # bf16 values, exact in fp32

    print("// mergekit 0.1.5 bf16 values (scripts/peers/mergekit_geometric.py --bf16); shape [4, 32]")
    # A base of weight-like magnitude and members with task vectors of ~0.003: the sizes where
    # bf16 rounding of every op shows (as in a bf16 checkpoint).
    base = bf16(torch.randn(4, 32, generator=g) * 0.02)
    ms = [bf16(base.float() + torch.randn(4, 32, generator=g) * 0.003) for _ in range(3)]
    emit16("kBf16Base", base)
    for i, m in enumerate(ms):
        emit16(f"kBf16Member{i}", m)
    emit16("kBf16Nearswap", merge(nearswap_merge, base, [ms[0]], t=0.001))
    emit16(
        "kBf16Multislerp",
        merge(multislerp, base, ms, weight=[0.5, 1.0, 2.0], normalize_weights=True),
    )
    emit16(
        "kBf16MultislerpRaw",
        merge(multislerp, base, ms, weight=[0.2, 0.3, 0.4], normalize_weights=False),
    )
    emit16("kBf16NuFlat", merge(nuslerp_merge_method, base, ms[:2], weight=[1.0, 0.5]))
    emit16(
        "kBf16NuRows",
        merge(nuslerp_merge_method, base, ms[:2], weight=[1.0, 0.5], nuslerp_flatten=False),
    )
    emit16(
        "kBf16NuColumns",
        merge(
            nuslerp_merge_method,
            base,
            ms[:2],
            weight=[1.0, 0.5],
            nuslerp_flatten=False,
            nuslerp_row_wise=True,
        ),
    )

    # torch's fp32 vector_norm (lib/merge/torch_norm.h): x_i = 0.01 + ((i * 7919) % 2001) * 1e-5
    # in fp32 for i < 100003 (positive: the fp32 lane sums drift from the exact norm), and the same
    # rounded to bf16, normed as bf16.
    i = torch.arange(100003, dtype=torch.float64)
    x = (0.01 + ((i * 7919) % 2001) * 1e-5).to(torch.float32)
    n32 = torch.linalg.vector_norm(x)
    n16 = torch.linalg.vector_norm(x.to(torch.bfloat16))
    print(f"const float kTorchNormF32 = {n32.item():.9g}f;")
    print(f"const float kTorchNormBf16 = {n16.item():.9g}f;  // rounded to bf16 by torch")
    print(f"const double kExactNormF32 = {x.double().square().sum().sqrt().item():.17g};")
    # karcher of the three members (mergekit's karcher takes no base), max_iter 10 and 1.
    emit16("kBf16Karcher", merge(karcher_merge_method, None, ms))
    emit16("kBf16KarcherOneStep", merge(karcher_merge_method, None, ms, max_iter=1))

parser = argparse.ArgumentParser()
parser.add_argument("--big", help="also write the [300, 700] case to this safetensors file")
parser.add_argument("--bf16", action="store_true", help="also print the bf16 cases")
args = parser.parse_args()
if args.bf16:
    emit_bf16()
if args.big:
    write_big(args.big)
