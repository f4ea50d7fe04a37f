#!/usr/bin/env python3
"""The entries mergekit keeps on a small tie-heavy task vector, for tests/merge/test_tie_order.cpp.

Peer script, never a CI dependency. Run with the peer venv's python (it has torch):

    ~/.cache/fwmerge/peer-mergekit/bin/python scripts/peers/tie_order_expected.py

The task vector imitates a bf16 fine-tune a few ulps from its base: n entries, entry e is
(d - 3) * 2^-9 with d = (state >> 33) % 7 for a 64-bit LCG state (the test rebuilds the same values),
so |tau| takes 4 values and every trim threshold splits equal magnitudes. It prints the kept indices
(ascending) as mergekit's sparsify picks them on the CPU: TIES keeps
torch.argsort(|tau|, descending=True)[:k], k = max(1, int(density * n)); breadcrumbs keeps
torch.sort(|tau|).indices[n_bot:n - n_top], n_top = int(gamma * n), n_bot = n - int(density * n)
- n_top. Only the sort's order among equal magnitudes decides which of the ties are kept.
"""
import torch

MASK = (1 << 64) - 1


def task_vector(n, seed):
    state, out = seed, []
    for _ in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        out.append(((state >> 33) % 7 - 3) * 2.0 ** -9)
    return torch.tensor(out, dtype=torch.bfloat16)


def main():
    n, seed = 300, 2026
    tau = task_vector(n, seed).float().abs()
    k = max(1, int(0.3 * n))
    ties = torch.argsort(tau, descending=True)[:k]
    n_top = int(0.1 * n)
    n_bot = n - int(0.4 * n) - n_top
    crumbs = torch.sort(tau).indices[n_bot:n - n_top]
    print(f"// torch {torch.__version__}, n {n}, seed {seed}")
    for name, idx in (("ties (density 0.3)", ties), ("breadcrumbs (density 0.4, gamma 0.1)", crumbs)):
        kept = sorted(idx.tolist())
        print(f"// {name}: {len(kept)} kept")
        print("{" + ", ".join(str(i) for i in kept) + "}")


if __name__ == "__main__":
    main()
