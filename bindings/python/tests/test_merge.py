"""Data-free merging (fwmerge.merge), merge start points and step merge functions; expected
values computed by hand from the rules in include/fwmerge.h."""

from __future__ import annotations

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from conftest import constant_params, current, make_solver, quadratic, write_model

import fwmerge

M = fwmerge.MergeMethod


def merged(path):
    return {k: v.tolist() for k, v in safetensors.numpy.load_file(str(path)).items()}


def run_merge(pool, params, out="out.safetensors", **kwargs):
    fwmerge.merge(
        params,
        pool / "base.safetensors",
        [pool / "m0.safetensors", pool / "m1.safetensors"],
        pool / out,
        **kwargs,
    )
    return pool / out


def test_linear_and_task_arithmetic(pool):
    # (1 * m0 + 3 * m1) / 4: b = (2 - 3) / 4, w = (1/4, 3/4)
    out = run_merge(pool, fwmerge.MergeParams(M.LINEAR, weights=[1, 3]))
    assert merged(out) == {"b": [-0.25], "w": [0.25, 0.75]}
    # base + 0.5 * (tau0 + tau1): b = 0.5 * (2 - 1), w = 0.5 * (1, 1)
    out = run_merge(pool, fwmerge.MergeParams(M.TASK_ARITHMETIC, scaling=0.5))
    assert merged(out) == {"b": [0.5], "w": [0.5, 0.5]}
    with safetensors.safe_open(str(out), framework="numpy") as f:
        assert "task_arithmetic" in f.metadata()["fwmerge.recipe"]


@pytest.fixture
def wide_pool(tmp_path):
    """One tensor of 5 entries; base 0, so the task vectors are the members."""
    write_model(tmp_path / "base.safetensors", {"t": [0, 0, 0, 0, 0]})
    write_model(tmp_path / "m0.safetensors", {"t": [3, -1, 0.5, 2, -4]})
    write_model(tmp_path / "m1.safetensors", {"t": [-2, 1, 1.5, -0.5, 1]})
    return tmp_path


def test_ties_with_per_member_densities(wide_pool):
    # k0 = floor(0.4 * 5 + 0.5) = 2: m0 keeps 3 and -4 -> [3, 0, 0, 0, -4].
    # k1 = floor(0.6 * 5 + 0.5) = 3: m1 keeps -2, 1.5 and, of the tied 1s, the lower index 1
    # -> [-2, 1, 1.5, 0, 0]. Signs of the sums: +, +, +, none (stays 0), -. Disjoint means of the
    # agreeing entries: 3, 1, 1.5, 0, -4.
    out = run_merge(wide_pool, fwmerge.MergeParams(M.TIES, densities=[0.4, 0.6]))
    assert merged(out) == {"t": [3.0, 1.0, 1.5, 0.0, -4.0]}


def test_breadcrumbs_with_per_member_betas(wide_pool):
    # m0, beta 0.2: drop the top round(0.2 * 5) = 1 magnitude (-4), keep the next 2 (3, 2).
    # m1, beta 0: keep the top 2 (-2, 1.5). Task arithmetic, scaling 1: the sum.
    out = run_merge(wide_pool, fwmerge.MergeParams(M.BREADCRUMBS, density=0.4, betas=[0.2, 0.0]))
    assert merged(out) == {"t": [1.0, 0.0, 1.5, 2.0, 0.0]}


def test_merge_options_and_errors(pool):
    out = run_merge(
        pool,
        fwmerge.MergeParams(M.LINEAR),
        "half.safetensors",
        options=fwmerge.ExportOptions(dtype=fwmerge.Dtype.F16),
    )
    tensors = safetensors.numpy.load_file(str(out))
    assert tensors["w"].dtype == np.float16 and tensors["w"].tolist() == [0.5, 0.5]

    with pytest.raises(fwmerge.Error) as info:
        run_merge(pool, fwmerge.MergeParams(M.LINEAR, weights=[1, 2, 3]))
    assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
    assert "3 weights for a pool of 2" in info.value.message
    with pytest.raises(fwmerge.Error) as info:
        run_merge(pool, fwmerge.MergeParams(M.TIES, density=1.5))
    assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
    with pytest.raises(fwmerge.Error) as info:
        fwmerge.merge(
            fwmerge.MergeParams(),
            pool / "base.safetensors",
            [pool / "missing.safetensors"],
            pool / "x.safetensors",
        )
    assert info.value.status is fwmerge.Status.IO


def test_merge_abort_hook(pool, monkeypatch):
    with pytest.raises(fwmerge.Error) as info:
        run_merge(pool, fwmerge.MergeParams(), "aborted.safetensors", abort=lambda: True)
    assert info.value.status is fwmerge.Status.ABORTED
    assert not (pool / "aborted.safetensors").exists()
    run_merge(pool, fwmerge.MergeParams(), "kept.safetensors", abort=lambda: False)
    assert (pool / "kept.safetensors").exists()


def test_start_merge_and_merge_function(pool):
    with make_solver(pool) as s:
        s.set_start_merge(fwmerge.MergeParams(M.TASK_ARITHMETIC, scaling=0.5))
        assert current(s) == {"b": [0.5], "w": [0.5, 0.5]}
        with pytest.raises(fwmerge.Error) as info:
            s.set_start_merge(fwmerge.MergeParams(M.LINEAR, weights=[1.0]))
        assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
    with make_solver(pool, constant_params()) as s:
        s.set_merge_function(fwmerge.MergeParams(M.TIES, density=1.0))
        s.set_objective(quadratic)
        assert s.step().leaves_hull
        with pytest.raises(fwmerge.Error) as info:
            s.set_merge_function(None)  # before the first step only
        assert info.value.status is fwmerge.Status.STATE
    with make_solver(pool) as s:
        with pytest.raises(fwmerge.Error) as info:
            s.set_merge_function(fwmerge.MergeParams(M.MODEL_STOCK))
        assert info.value.status is fwmerge.Status.UNSUPPORTED
        s.set_merge_function(None)


def test_allow_outside_links_is_passed_to_the_library(tmp_path):
    """A model folder whose model.safetensors links out of it is refused by default (the folder
    confinement of fw_params / fw_merge_params.allow_outside_links) and read when the field is
    set, for the solver and for merge."""
    from conftest import MODELS

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_model(outside / "real.safetensors", MODELS["m0"])
    folder = tmp_path / "member"
    folder.mkdir()
    (folder / "model.safetensors").symlink_to(outside / "real.safetensors")
    base = write_model(tmp_path / "base.safetensors", MODELS["base"])

    with fwmerge.Solver(fwmerge.Params()) as solver:
        solver.set_base(str(base))
        with pytest.raises(fwmerge.Error) as refused:
            solver.pool_add(str(folder))
        assert refused.value.status == fwmerge.Status.INVALID_ARGUMENT
        assert "real.safetensors" in refused.value.message
    with fwmerge.Solver(fwmerge.Params(allow_outside_links=True)) as solver:
        solver.set_base(str(base))
        assert solver.pool_add(str(folder)) == 0

    params = fwmerge.MergeParams(fwmerge.MergeMethod.TASK_ARITHMETIC)
    with pytest.raises(fwmerge.Error) as refused:
        fwmerge.merge(params, str(base), [str(folder)], str(tmp_path / "no.safetensors"))
    assert refused.value.status == fwmerge.Status.INVALID_ARGUMENT
    params.allow_outside_links = True
    fwmerge.merge(params, str(base), [str(folder)], str(tmp_path / "yes.safetensors"))
    assert (tmp_path / "yes.safetensors").exists()


def test_fill_missing_from_base_is_passed_to_the_library(tmp_path):
    """A member saved without the base's `b` is refused by default (Status.NAME_MISMATCH naming
    the tensor) and, with fill_missing_from_base, reads it from the base: task arithmetic then
    adds nothing for it there. Solver and merge alike."""
    from conftest import MODELS

    base = write_model(tmp_path / "base.safetensors", MODELS["base"])
    m0 = write_model(tmp_path / "m0.safetensors", MODELS["m0"])
    partial = write_model(tmp_path / "partial.safetensors", {"w": [0.0, 3.0]})

    with fwmerge.Solver(fwmerge.Params()) as solver:
        solver.set_base(str(base))
        with pytest.raises(fwmerge.Error) as refused:
            solver.pool_add(str(partial))
        assert refused.value.status == fwmerge.Status.NAME_MISMATCH
        assert 'lacks tensor "b"' in refused.value.message
    with fwmerge.Solver(fwmerge.Params(fill_missing_from_base=True)) as solver:
        solver.set_base(str(base))
        assert solver.pool_add(str(partial)) == 0

    params = fwmerge.MergeParams(fwmerge.MergeMethod.TASK_ARITHMETIC, scaling=1.0)
    members = [str(m0), str(partial)]
    with pytest.raises(fwmerge.Error) as refused:
        fwmerge.merge(params, str(base), members, str(tmp_path / "no.safetensors"))
    assert refused.value.status == fwmerge.Status.NAME_MISMATCH
    params.fill_missing_from_base = True
    out = tmp_path / "yes.safetensors"
    fwmerge.merge(params, str(base), members, str(out))
    merged = fwmerge.load_tensors(str(out))
    # b: 0 + tau_m0 (2) + 0; w: 0 + (1, 0) + (0, 3).
    assert merged["b"].tolist() == [2.0]
    assert merged["w"].tolist() == [1.0, 3.0]
    assert '"filled_from_base":{"%s":["b"]}' % partial in merged.metadata["fwmerge.recipe"]


def test_the_0_5_0_methods_match_hand_computed_values(pool):
    """Merges with 0.5.0 methods against values computed by hand from fwmerge.h, and their fields
    and override fields reach the library (m0 b=[2] w=[1,0] over base 0)."""
    F = fwmerge.MergeField

    def one(params):
        out = pool / "one.safetensors"
        fwmerge.merge(params, pool / "base.safetensors", [pool / "m0.safetensors"], out)
        return merged(out)

    # PASSTHROUGH, scale 2: exactly 2 x m0; a SCALE override of 3 on w: 3 x m0's w there.
    assert one(fwmerge.MergeParams(M.PASSTHROUGH, scale=2.0)) == {"b": [4.0], "w": [2.0, 0.0]}
    over = [fwmerge.MergeOverride("w", -1, F.SCALE, 3.0)]
    params = fwmerge.MergeParams(M.PASSTHROUGH, scale=2.0, overrides=over)
    assert one(params) == {"b": [4.0], "w": [3.0, 0.0]}

    # NEARSWAP, t 1: weight = clamp(1 / max(|m - b|, 1e-6), 0, 1) of m0 over the base. b: |2 - 0|
    # = 2, weight 0.5: 1. w: |1 - 0| = 1, weight 1: 1; |0 - 0| clamped to 1e-6, weight 1: 0.
    assert one(fwmerge.MergeParams(M.NEARSWAP, t=1.0)) == {"b": [1.0], "w": [1.0, 0.0]}
    # A T override of 10 on b: |2 - 0| is far below t, weight 1: exactly m0's 2.
    over = [fwmerge.MergeOverride("b", -1, F.T, 10.0)]
    params = fwmerge.MergeParams(M.NEARSWAP, t=1.0, overrides=over)
    assert one(params) == {"b": [2.0], "w": [1.0, 0.0]}

    # DELLA's per-member epsilons: a count other than the pool's is refused, a value whose density
    # 0.5 +- epsilon leaves (0, 1) by the library, naming the member.
    with pytest.raises(fwmerge.Error) as info:
        run_merge(pool, fwmerge.MergeParams(M.DELLA, density=0.5, epsilons=[0.1]))
    assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
    with pytest.raises(fwmerge.Error) as info:
        run_merge(pool, fwmerge.MergeParams(M.DELLA, density=0.5, epsilons=[0.1, 0.6]))
    assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
    assert "member 1" in info.value.message and "epsilon 0.6" in info.value.message
    out = run_merge(pool, fwmerge.MergeParams(M.DELLA, density=0.5, epsilons=[0.1, 0.1]))
    assert len(merged(out)["w"]) == 2
