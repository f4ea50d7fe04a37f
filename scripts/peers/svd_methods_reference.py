"""Reference values of the SVD merge methods (TSV-M, Iso-C, Iso-CTS) on small fixed task vectors,
printed as C++ initializers for tests/merge/test_isotropic_methods.cpp (the block between the
"svd_methods_reference.py values" markers there is this script's output, pasted).

The methods are written out here in plain torch following the authors' published code, step by
step: TSV-M as compute_and_sum_svd_mem_reduction of AntoAndGar/task_singular_vectors
(src/utils/TSVM_utils.py), Iso-C and Iso-CTS as iso_c / iso_cts of danielm1405/iso-merging
(zero-filled factor matrices of width r, torch.linalg.svd, the same index arithmetic). They run
in float64 so that the reference carries no fp32 rounding of its own; fwmerge computes in fp32.

Inputs: tau_i[e] = sin(1 + 0.7 e + 2.3 i) + 0.5 cos(0.13 e^2 + 1.1 i), e = r * cols + c, for 3
members of shape [6, 4] and a
vector of 5; the C++ test builds the same fp32 values (std::sin in double, rounded to float).

Run with any python that has torch (e.g. the peer venv):
    ~/.cache/fwmerge/peer-mergekit/bin/python scripts/peers/svd_methods_reference.py
"""

import math

import torch

ROWS, COLS, N, VEC = 6, 4, 3, 5


def task_vector(i, shape):
    count = math.prod(shape)
    values = [math.sin(1 + 0.7 * e + 2.3 * i) + 0.5 * math.cos(0.13 * e * e + 1.1 * i)
              for e in range(count)]
    # fp32 as the test's tensors, then float64 for the reference arithmetic.
    return torch.tensor(values, dtype=torch.float32).to(torch.float64).reshape(shape)


def tsv_m(taus):
    u0, s0, v0 = torch.linalg.svd(taus[0], full_matrices=False)
    sum_u, sum_s, sum_v = torch.zeros_like(u0), torch.zeros_like(s0), torch.zeros_like(v0)
    k = int(s0.shape[0] * (1 / len(taus)))
    for i, t in enumerate(taus):
        u, s, v = torch.linalg.svd(t, full_matrices=False)
        sum_u[:, i * k:(i + 1) * k] = u[:, :k]
        sum_s[i * k:(i + 1) * k] = s[:k]
        sum_v[i * k:(i + 1) * k, :] = v[:k, :]
    u_u, _, v_u = torch.linalg.svd(sum_u, full_matrices=False)
    u_v, _, v_v = torch.linalg.svd(sum_v, full_matrices=False)
    return torch.linalg.multi_dot((u_u, v_u, torch.diag(sum_s), u_v, v_v))


def iso_c(taus):
    u, s, v = torch.linalg.svd(sum(taus), full_matrices=False)
    return torch.linalg.multi_dot((u, torch.diag(torch.ones_like(s) * s.mean()), v))


def iso_cts(taus, fraction):
    r, n = min(taus[0].shape), len(taus)
    common = int(r * fraction)
    common = r - round((r - common) / n) * n
    u, s, v = torch.linalg.svd(sum(taus), full_matrices=False)
    cu, cs, cv = u[:, :common], s[:common], v[:common, :]
    d = int((r - common) / n)
    comb_u, comb_s, comb_v = torch.zeros_like(u), torch.zeros_like(s), torch.zeros_like(v)
    for i, w in enumerate(taus):
        w_ts = w - cu @ cu.T @ w
        ut, st, vt = torch.linalg.svd(w_ts, full_matrices=False)
        comb_u[:, i * d:(i + 1) * d] = ut[:, :d]
        comb_s[i * d:(i + 1) * d] = st[:d]
        comb_v[i * d:(i + 1) * d, :] = vt[:d, :]
    comb_u[:, n * d:n * d + common] = cu
    comb_s[n * d:n * d + common] = cs
    comb_v[n * d:n * d + common, :] = cv
    pu, _, qu = torch.linalg.svd(comb_u, full_matrices=False)
    pv, _, qv = torch.linalg.svd(comb_v, full_matrices=False)
    comb_s = torch.ones_like(comb_s) * comb_s.mean()
    return torch.linalg.multi_dot((pu @ qu, torch.diag(comb_s), pv @ qv))


def running_mean(taus):
    m = taus[0].clone()
    for i, t in enumerate(taus[1:], start=1):
        m += (t - m) / (i + 1)
    return m


def emit(name, t):
    values = ", ".join(f"{x:.9g}" for x in t.reshape(-1).tolist())
    print(f"const std::vector<double> {name} = {{{values}}};")


taus = [task_vector(i, (ROWS, COLS)) for i in range(N)]
# Full rank with distinct singular values everywhere, so that every SVD here is unique up to the
# paired signs (which cancel): the reference is the method's, not an accident of LAPACK.
for t in taus + [sum(taus)]:
    s = torch.linalg.svdvals(t)
    assert s.min() > 1e-2 and (s[:-1] - s[1:]).min() > 1e-2, s
vecs = [task_vector(i, (VEC,)) for i in range(N)]
print("// svd_methods_reference.py values (begin)")
emit("kTsvM", tsv_m(taus))
emit("kIsoC", iso_c(taus))
emit("kIsoCts05", iso_cts(taus, 0.5))
emit("kIsoCts08", iso_cts(taus, 0.8))
emit("kVectorRunningMean", running_mean(vecs))
emit("kVectorMean", sum(vecs) / len(vecs))
print("// svd_methods_reference.py values (end)")
