"""Callback steps, export, objective failures and error reporting (mirrors bindings/go and
bindings/java: solver_test.go, SolverTest.java)."""

from __future__ import annotations

import importlib.metadata
import pathlib

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from conftest import (
    LOSS0,
    LOSS1,
    TARGET,
    THETA1,
    THETA2,
    check_step,
    constant_params,
    current,
    make_solver,
    quadratic,
    write_model,
)

import fwmerge


def test_version_and_status_names():
    # The library this binding was built against, or a later patch of it (see _library.py).
    header = fwmerge._fwmerge.FW_VERSION_STRING
    assert fwmerge.version().split(".")[:2] == header.split(".")[:2] == ["0", "5"]
    assert fwmerge._fwmerge.fw_version_number() >= fwmerge._fwmerge.FW_VERSION_NUMBER
    # The distribution's version is read from the repository's fwmerge.h at build time.
    assert fwmerge.__version__ == importlib.metadata.version("fwmerge")
    assert fwmerge.__version__.split(".")[:2] == ["0", "5"]
    assert fwmerge.Status(-7) is fwmerge.Status.CALLBACK
    assert fwmerge.Error(-7, "x").status_name == "FW_ERR_CALLBACK"
    # The generated enum agrees with the library's own names of every code.
    for status in fwmerge.Status:
        want = "FW_OK" if status is fwmerge.Status.OK else f"FW_ERR_{status.name}"
        assert fwmerge.Error(status, "").status_name == want
    assert str(fwmerge.Error(-2, "no file")) == "FW_ERR_IO: no file"
    assert fwmerge.Error(-99, "?").status == -99  # a code this binding does not know


def test_the_installed_package_is_tested():
    # CTest runs this suite outside the source tree against the pip-installed package.
    src = pathlib.Path(__file__).resolve().parents[1] / "src"
    assert src not in pathlib.Path(fwmerge.__file__).resolve().parents
    assert (pathlib.Path(fwmerge.__file__).parent / "py.typed").exists()


def test_library_version_check():
    check = fwmerge._check_library_version
    check(300, 300)
    check(301, 300)  # a later patch only appends
    for library, header in ((400, 300), (200, 300), (10300, 300), (300, 301)):
        with pytest.raises(ImportError, match="built against fwmerge.h"):
            check(library, header, "/x/libfwmerge.so.0")


def test_params_defaults_are_the_librarys():
    p = fwmerge.Params()
    assert (p.lmo, p.step_rule, p.max_iters, p.top_k, p.work_dtype) == (
        fwmerge.Lmo.HARD,
        fwmerge.StepRule.LINE_SEARCH,
        10,
        2,
        fwmerge.Dtype.F32,
    )
    m = fwmerge.MergeParams(fwmerge.MergeMethod.TIES)
    assert (m.density, m.scaling, m.normalize) == (0.2, 1.0, True)
    assert fwmerge.MergeParams(fwmerge.MergeMethod.TIES, density=0.5).density == 0.5


def test_steps_match_closed_form(solver):
    solver.set_objective(quadratic)
    check_step(solver.step(), 0, LOSS0, 2, 0)
    assert current(solver) == THETA1
    last = solver.run()  # one more step: max_iters is 2 in total
    check_step(last, 1, LOSS1, 1, 1)
    assert current(solver) == THETA2
    history = solver.history()
    assert len(history) == solver.history_len() == 2
    check_step(history[0], 0, LOSS0, 2, 0)
    check_step(history[1], 1, LOSS1, 1, 1)
    assert solver.run() is None  # the budget is spent: no step taken


def test_views_are_numpy_over_library_memory(solver):
    seen = []

    def objective(params, grads):
        for a in list(params.values()) + list((grads or {}).values()):
            base = a
            while isinstance(base, np.ndarray):  # reshape -> frombuffer -> memoryview
                assert not base.flags.owndata
                base = base.base
            seen.append(type(base))
        with pytest.raises(ValueError):
            params["w"][0] = 1.0
        return quadratic(params, grads)

    solver.set_objective(objective)
    solver.step()
    assert seen and set(seen) == {memoryview}
    views = solver.current()
    assert not views["w"].flags.writeable and not views["w"].flags.owndata
    assert views["w"].tolist() == [0.5, 0.0]


def test_loss_only_evaluations_get_no_gradients(solver):
    # The line search asks for loss-only evaluations: grads is then None.
    solver.set_params(constant_params(step_rule=fwmerge.StepRule.LINE_SEARCH, line_search_evals=2))
    loss_only = []

    def objective(params, grads):
        loss_only.append(grads is None)
        return quadratic(params, grads)

    solver.set_objective(objective)
    info = solver.step()
    assert any(loss_only) and not all(loss_only)
    assert info.chosen == (0,)


def test_export_writes_current_tensors(pool, solver):
    solver.set_objective(quadratic)
    solver.step()
    out = pool / "merged.safetensors"
    solver.export(out)
    tensors = safetensors.numpy.load_file(str(out))
    assert sorted(tensors) == ["b", "w"]
    assert tensors["b"].dtype == np.float32 and tensors["b"].tolist() == [1.0]
    assert tensors["w"].tolist() == [0.5, 0.0]
    with safetensors.safe_open(str(out), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "pt" and "m0.safetensors" in meta["fwmerge.recipe"]
    assert "fwmerge.history" in meta

    solver.export(pool / "merged16.safetensors", fwmerge.ExportOptions(dtype=fwmerge.Dtype.F16))
    assert safetensors.numpy.load_file(str(pool / "merged16.safetensors"))["w"].dtype == np.float16


def host_says_no(params, grads):
    if grads is not None:
        grads["b"][0] = 42.0  # a partial write must not leak into the solver
    raise ValueError("host says no")


@pytest.mark.parametrize("failing", [host_says_no, lambda p, g: float("nan"), lambda p, g: "abc"])
def test_objective_failure_leaves_solver_unchanged(solver, failing):
    solver.set_objective(quadratic)
    solver.step()
    before = current(solver)
    solver.set_objective(failing)
    with pytest.raises(fwmerge.Error) as info:
        solver.step()
    error = info.value
    if failing is host_says_no:
        assert error.status is fwmerge.Status.CALLBACK
        # The message is the Python traceback, and the exception is chained.
        assert "Traceback (most recent call last)" in error.message
        assert "in host_says_no" in error.message
        assert "ValueError: host says no" in error.message
        assert isinstance(error.__cause__, ValueError)
    elif error.status is fwmerge.Status.CALLBACK:  # "abc" is no loss
        assert "ValueError: could not convert string to float" in error.message
    else:
        assert error.status is fwmerge.Status.NON_FINITE
    assert current(solver) == before
    assert solver.history_len() == 1
    # Still usable: the next step is the closed-form step 1.
    solver.set_objective(quadratic)
    check_step(solver.step(), 1, LOSS1, 1, 1)


def test_keyboard_interrupt_in_the_objective_propagates(solver):
    def objective(params, grads):
        raise KeyboardInterrupt

    solver.set_objective(objective)
    with pytest.raises(KeyboardInterrupt):
        solver.run()
    assert solver.history_len() == 0 and current(solver) == {"b": [0.0], "w": [0.0, 0.0]}
    solver.set_objective(quadratic)
    check_step(solver.step(), 0, LOSS0, 2, 0)


def test_calling_back_into_the_solver_fails_the_step(solver):
    def objective(params, grads):
        solver.current()  # the solver is busy with this very step
        return 0.0

    solver.set_objective(objective)
    with pytest.raises(fwmerge.Error) as info:
        solver.step()
    assert info.value.status is fwmerge.Status.CALLBACK
    assert "in use by another call" in info.value.message
    assert solver.history_len() == 0


def test_errors_carry_status_and_message(pool):
    s = fwmerge.Solver(constant_params())
    with s:
        with pytest.raises(fwmerge.Error) as info:
            s.set_base(pool / "missing.safetensors")
        assert info.value.status is fwmerge.Status.IO
        assert "missing.safetensors" in info.value.message
        s.set_base(str(pool / "base.safetensors"))  # str and os.PathLike both work
        write_model(pool / "bad.safetensors", {"b": [1.0], "w": [1.0, 2.0, 3.0]})
        with pytest.raises(fwmerge.Error) as info:
            s.pool_add(pool / "bad.safetensors")
        assert info.value.status is fwmerge.Status.SHAPE_MISMATCH
        assert s.pool_add(pool / "m0.safetensors") == 0
        with pytest.raises(fwmerge.Error) as info:
            s.step()
        assert info.value.status is fwmerge.Status.STATE, "a step without an objective"
        with pytest.raises(fwmerge.Error) as info:
            fwmerge.Solver(constant_params(top_k=0))
        assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
        with pytest.raises(fwmerge.Error) as info:
            s.set_params(constant_params(lmo=7))  # not an fw_lmo value
        assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
    assert s.closed
    with pytest.raises(fwmerge.Error, match="closed") as info:
        s.set_base("x")
    assert info.value.status is fwmerge.Status.STATE
    s.close()  # closing twice is a no-op
    s.interrupt()  # and so is interrupting a closed solver


def test_block_names_and_start_points(pool):
    with make_solver(pool, constant_params(granularity=fwmerge.Granularity.LAYERWISE)) as s:
        s.set_objective(quadratic)
        info = s.step()
        assert info.n_blocks == 2 and len(info.chosen) == 2
        assert [s.block_name(b) for b in range(2)] == ["b", "w"]
        with pytest.raises(fwmerge.Error) as e:
            s.block_name(2)
        assert e.value.status is fwmerge.Status.INVALID_ARGUMENT
    with make_solver(pool) as s:
        assert s.block_name(0) == ""
        s.set_start_member(1)
        assert current(s) == {"b": [-1.0], "w": [0.0, 1.0]}
    with make_solver(pool) as s:
        write_model(pool / "start.safetensors", {"b": [0.5], "w": [1.0, 0.25]})  # the target
        s.set_start_file(pool / "start.safetensors")
        assert current(s) == {"b": [0.5], "w": [1.0, 0.25]}
        s.set_objective(quadratic)
        assert s.step().converged  # the gap at the minimizer is 0 <= epsilon


def to_f32(v):
    """BF16 views are uint16 bit patterns: bf16 is the top half of a float32."""
    return (v.astype(np.uint32) << 16).view(np.float32)


def to_bf16_bits(x):
    return (np.asarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)


@pytest.mark.parametrize("work_dtype", [fwmerge.Dtype.F16, fwmerge.Dtype.BF16])
def test_reduced_precision_views(pool, work_dtype):
    # The pool's and target's values are exact in both formats, so step 0 is the closed form.
    want = np.float16 if work_dtype is fwmerge.Dtype.F16 else np.uint16
    dtypes = set()

    def objective(params, grads):
        dtypes.update(v.dtype for v in params.values())
        as_f32 = {
            k: to_f32(v) if v.dtype == np.uint16 else v.astype(np.float32)
            for k, v in params.items()
        }
        loss = 0.0
        for name, theta in as_f32.items():
            d = theta - TARGET[name]
            loss += 0.5 * float(np.dot(d, d))
            if grads is not None:
                g = grads[name]
                g[...] = d.astype(np.float16) if g.dtype == np.float16 else to_bf16_bits(d)
        return loss

    with make_solver(pool, constant_params(work_dtype=work_dtype)) as s:
        s.set_objective(objective)
        check_step(s.step(), 0, LOSS0, 2, 0)
        assert dtypes == {np.dtype(want)}
        views = s.current()
        assert views["w"].dtype == want
        got = {
            k: (to_f32(v) if v.dtype == np.uint16 else v.astype(np.float32)).tolist()
            for k, v in views.items()
        }
        assert got == THETA1
