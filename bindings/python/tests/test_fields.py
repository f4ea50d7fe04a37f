"""The fields newer than the first Python API reach the library: each changes what it computes or
is rejected by its own checks (pool of conftest: base b=[0] w=[0,0]; m0 b=[2] w=[1,0]; m1 b=[-1]
w=[0,1]); save_tensors / load_tensors with every integer dtype."""

from __future__ import annotations

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from conftest import constant_params

import fwmerge

M = fwmerge.MergeMethod


def merged(pool, params):
    out = pool / "out.safetensors"
    fwmerge.merge(
        params, pool / "base.safetensors", [pool / "m0.safetensors", pool / "m1.safetensors"], out
    )
    return {k: v.tolist() for k, v in safetensors.numpy.load_file(str(out)).items()}


def test_merge_filters_and_mergekit_fields(pool):
    # base + 0.5 * (tau0 + tau1); an excluded (or not included) b stays the base's.
    want = {"b": [0.0], "w": [0.5, 0.5]}
    exclude = fwmerge.MergeParams(M.TASK_ARITHMETIC, scaling=0.5, exclude_tensors=["b"])
    include = fwmerge.MergeParams(M.TASK_ARITHMETIC, scaling=0.5, include_tensors=("w*",))
    assert merged(pool, exclude) == want
    assert merged(pool, include) == want

    # TIES on b with weights 1, 2: the weighted signs +2 and -2 sum to zero. fwmerge elects no
    # sign (b stays at the base); mergekit elects + (m0 agrees: b = 2).
    ties = fwmerge.MergeParams(M.TIES, density=1.0, weights=[1, 2])
    assert ties.mergekit_compat is False and ties.compute_dtype == fwmerge.Dtype.DEFAULT
    assert merged(pool, ties)["b"] == [0.0]
    compat = fwmerge.MergeParams(
        M.TIES, density=1.0, weights=[1, 2], mergekit_compat=True, compute_dtype=fwmerge.Dtype.F32
    )
    assert merged(pool, compat)["b"] == [2.0]

    # A scaling override for b: base + 1 * (tau0 + tau1) = 1 there, w keeps the struct's 0.5.
    scale_b = fwmerge.MergeOverride("b", -1, fwmerge.MergeField.SCALING, 1.0)
    over = fwmerge.MergeParams(M.TASK_ARITHMETIC, scaling=0.5, overrides=[scale_b])
    assert merged(pool, over) == {"b": [1.0], "w": [0.5, 0.5]}
    member_scale = fwmerge.MergeOverride("b", 0, fwmerge.MergeField.SCALING, 1.0)
    with pytest.raises(fwmerge.Error) as e:  # SCALING takes no member
        merged(pool, fwmerge.MergeParams(M.TASK_ARITHMETIC, overrides=[member_scale]))
    assert e.value.status == fwmerge.Status.INVALID_ARGUMENT

    # hf_folder: the output is a model folder with a model card.
    fwmerge.merge(
        fwmerge.MergeParams(M.LINEAR),
        pool / "base.safetensors",
        [pool / "m0.safetensors", pool / "m1.safetensors"],
        pool / "folder",
        fwmerge.ExportOptions(hf_folder=True),
    )
    assert (pool / "folder" / "model.safetensors").exists()
    assert (pool / "folder" / "README.md").exists()

    # compute_dtype without mergekit_compat, and model_stock in mergekit mode, are rejected.
    for bad in (
        fwmerge.MergeParams(M.TIES, compute_dtype=fwmerge.Dtype.F16),
        fwmerge.MergeParams(M.MODEL_STOCK, mergekit_compat=True),
    ):
        with pytest.raises(fwmerge.Error) as e:
            merged(pool, bad)
        assert e.value.status == fwmerge.Status.INVALID_ARGUMENT
    with pytest.raises(TypeError):
        merged(pool, fwmerge.MergeParams(M.LINEAR, exclude_tensors=[1]))


def test_model_card_is_the_readme_byte_for_byte(pool):
    card = "---\nlicense: mit\n---\n# Merged \u00e9\u2713 \U0001f600\n\nNo trailing newline"
    members = [pool / "m0.safetensors", pool / "m1.safetensors"]
    linear = fwmerge.MergeParams(M.LINEAR)
    options = fwmerge.ExportOptions(hf_folder=True, model_card=card)
    fwmerge.merge(linear, pool / "base.safetensors", members, pool / "carded", options)
    assert (pool / "carded" / "README.md").read_bytes() == card.encode("utf-8")
    with fwmerge.Solver(constant_params()) as s:
        s.set_base(pool / "base.safetensors")
        s.export(pool / "exported", fwmerge.ExportOptions(hf_folder=True, model_card="# exported"))
        assert (pool / "exported" / "README.md").read_bytes() == b"# exported"
        # Without hf_folder the library rejects the card, and writes nothing.
        with pytest.raises(fwmerge.Error) as e:
            s.export(pool / "card.safetensors", fwmerge.ExportOptions(model_card=card))
        assert e.value.status == fwmerge.Status.INVALID_ARGUMENT
        assert not (pool / "card.safetensors").exists()
    with pytest.raises(fwmerge.Error) as e:
        fwmerge.merge(
            linear, pool / "base.safetensors", members, pool / "card.safetensors",
            fwmerge.ExportOptions(model_card=card),
        )
    assert e.value.status == fwmerge.Status.INVALID_ARGUMENT
    with pytest.raises(ValueError):  # a C string: no NUL
        fwmerge.merge(
            linear, pool / "base.safetensors", members, pool / "nul",
            fwmerge.ExportOptions(hf_folder=True, model_card="a\0b"),
        )


def test_solver_filters(pool):
    with fwmerge.Solver(constant_params(exclude_tensors=["b"])) as s:
        s.set_base(pool / "base.safetensors")
        assert list(s.current(copy=True)) == ["w"]  # only w is merged
    with fwmerge.Solver(constant_params()) as s:
        s.set_params(constant_params(include_tensors=["nothing*"]))
        with pytest.raises(fwmerge.Error) as e:
            s.set_base(pool / "base.safetensors")
        assert e.value.status == fwmerge.Status.NAME_MISMATCH
    with pytest.raises(ValueError):
        fwmerge.Solver(constant_params(include_tensors=["a\0b"]))


def test_save_tensors_integer_dtypes_round_trip(tmp_path):
    tensors = {
        "i64": np.array([-5, 1 << 40, 7], np.int64),
        "i32": np.array([[-(1 << 31), 5]], np.int32),
        "i16": np.array([-32768, 32767], np.int16),
        "i8": np.array([-128, 127], np.int8),
        "u8": np.array([0, 1, 254, 255], np.uint8),
        "mask": np.array([True, False, True]),
        "u16": np.array([65535], np.uint16),
        "u32": np.array(4294967295, np.uint32),
        "u64": np.array([1 << 63], np.uint64),
        "big_endian": np.array([1, 256], ">i4"),
        "x": np.array([0.5, -1.0], np.float32),
    }
    path = tmp_path / "ints.safetensors"
    # Integers stay as they are even when floats are converted (to F16 here).
    fwmerge.save_tensors(path, tensors, dtype=fwmerge.Dtype.F16)
    ref = safetensors.numpy.load_file(str(path))
    back = fwmerge.load_tensors(path)
    for name, want in tensors.items():
        if name == "x":
            assert back[name].dtype == np.float16 and back[name].tolist() == [0.5, -1.0]
            continue
        want_le = want.astype(want.dtype.newbyteorder("<"))
        assert back[name].dtype == want_le.dtype and back[name].shape == want.shape, name
        assert back[name].tobytes() == want_le.tobytes(), name
        assert ref[name].tobytes() == want_le.tobytes(), name  # the reference reader agrees
    with pytest.raises(TypeError):
        fwmerge.save_tensors(path, {"c": np.array([1j])})


def test_max_evaluations_budget_stops_the_run(pool):
    assert fwmerge.Params().max_evaluations == 0
    # A constant step makes one evaluation: a budget of 1 allows one of the two steps.
    from conftest import make_solver, quadratic

    with make_solver(pool, constant_params(max_evaluations=1)) as s:
        s.set_objective(quadratic)
        s.run()
        assert s.history_len() == 1


def test_mergekit_exact_ties_reaches_the_library(tmp_path):
    # 40 equal magnitudes, density 0.5: 20 are kept either way; with mergekit_compat 2 they are the
    # 20 torch's argsort puts first (an unstable sort moves equal entries), not the first 20.
    base, member = tmp_path / "base.safetensors", tmp_path / "m.safetensors"
    fwmerge.save_tensors(base, {"x": np.zeros(40, np.float32)})
    fwmerge.save_tensors(member, {"x": np.ones(40, np.float32)})
    kept = {}
    for compat in (True, 2):
        out = tmp_path / f"out{int(compat)}.safetensors"
        params = fwmerge.MergeParams(
            M.TIES, density=0.5, normalize=False, mergekit_compat=compat,
            compute_dtype=fwmerge.Dtype.F32,
        )
        fwmerge.merge(params, base, [member], out)
        kept[compat] = safetensors.numpy.load_file(str(out))["x"]
    assert kept[True].sum() == 20 and kept[2].sum() == 20
    assert kept[True][:20].all()  # lower index first
    assert not np.array_equal(kept[True], kept[2])


def test_mergekit_compat_named_values(tmp_path):
    # fw_mergekit_compat (0.4) names the integers the field took in 0.3: the same merge either way.
    C = fwmerge.MergekitCompat
    assert (int(C.OFF), int(C.ARITHMETIC), int(C.EXACT_TIES)) == (0, 1, 2)
    base, member = tmp_path / "base.safetensors", tmp_path / "m.safetensors"
    fwmerge.save_tensors(base, {"x": np.zeros(40, np.float32)})
    fwmerge.save_tensors(member, {"x": np.ones(40, np.float32)})
    kept = []
    for compat in (2, C.EXACT_TIES):
        out = tmp_path / f"out_{len(kept)}.safetensors"
        params = fwmerge.MergeParams(
            M.TIES, density=0.5, normalize=False, mergekit_compat=compat,
            compute_dtype=fwmerge.Dtype.F32,
        )
        fwmerge.merge(params, base, [member], out)
        kept.append(safetensors.numpy.load_file(str(out))["x"])
    assert np.array_equal(kept[0], kept[1])


def test_defaults_of_the_0_5_0_methods():
    """fw_merge_params v8 as MergeParams reads it: fwmerge.h's "Defaults per method"."""
    slerp = fwmerge.MergeParams(M.SLERP)
    assert slerp.method is M.SLERP and slerp.t == 0.5
    assert fwmerge.MergeParams(M.NEARSWAP).t == 1e-4
    della = fwmerge.MergeParams(M.DELLA)
    assert (della.epsilon, della.rescale, della.normalize, della.scaling) == (0.15, True, True, 1.0)
    assert della.epsilons is None
    della_linear = fwmerge.MergeParams(M.DELLA_LINEAR)
    assert (della_linear.epsilon, della_linear.rescale, della_linear.normalize) == (
        0.15,
        True,
        False,
    )
    assert fwmerge.MergeParams(M.RAM).epsilon == 1e-5
    ramplus = fwmerge.MergeParams(M.RAMPLUS_TL)
    assert (ramplus.epsilon, ramplus.ram_r, ramplus.ram_alpha) == (1e-5, 0.1, 0.2)
    karcher = fwmerge.MergeParams(M.KARCHER)
    assert (karcher.max_iter, karcher.tol) == (10, 1e-5)
    multislerp = fwmerge.MergeParams(M.MULTISLERP)
    assert (multislerp.normalize, multislerp.eps) == (True, 1e-8)
    nuslerp = fwmerge.MergeParams(M.NUSLERP)
    assert (nuslerp.nuslerp_flatten, nuslerp.nuslerp_row_wise) == (True, False)
    assert fwmerge.MergeParams(M.PASSTHROUGH).scale == 1.0
    assert fwmerge.MergeParams(M.SCE).select_topk == 1.0
    # A value given wins over the default; the others keep theirs.
    given = fwmerge.MergeParams(M.KARCHER, max_iter=3)
    assert (given.max_iter, given.tol) == (3, 1e-5)
    # mergekit's names, upper case, with the C values.
    names = {m.name.lower(): int(m) for m in M if 8 <= int(m) <= 19}
    mergekit = ["slerp", "nuslerp", "multislerp", "karcher", "nearswap", "arcee_fusion",
                "passthrough", "della", "della_linear", "sce", "ram", "ramplus_tl"]
    assert names == {name: 8 + i for i, name in enumerate(mergekit)}
    # The SVD methods after them (0.5.0, not mergekit's).
    assert (int(M.TSV_M), int(M.ISO_C), int(M.ISO_CTS)) == (20, 21, 22)
    iso_cts = fwmerge.MergeParams(M.ISO_CTS)
    assert (iso_cts.scaling, iso_cts.select_topk) == (1.0, 0.8)
    F = fwmerge.MergeField
    assert (int(F.EPSILON), int(F.SCALE), int(F.T)) == (4, 5, 6)
