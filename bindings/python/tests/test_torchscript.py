"""The built-in LibTorch objective (fw_solver_set_objective_torchscript). No TorchScript module can be
written from here without torch: CTest passes FWMERGE_TS_FIXTURE, a helper that writes one (the
Rust tests' bindings/rust/ts_fixture.cpp); without it the closed-form test is skipped."""

from __future__ import annotations

import math
import os
import subprocess

import numpy as np
import pytest
import safetensors.numpy
from conftest import make_solver, quadratic

import fwmerge


def objective(pool, module):
    return fwmerge.TorchScriptObjective(
        module_path=pool / module,
        calibration_path=pool / "base.safetensors",
        terms=[fwmerge.ObjectiveTerm(inputs="x", labels="y")],
    )


def test_errors_come_back_and_keep_the_callback(pool):
    with make_solver(pool) as s:
        s.set_objective(quadratic)
        with pytest.raises(fwmerge.Error) as info:
            s.set_objective_torchscript(objective(pool, "missing.pt"))
        assert info.value.status is fwmerge.Status.IO and "missing.pt" in info.value.message
        (pool / "garbage.pt").write_bytes(b"not a zip archive")
        with pytest.raises(fwmerge.Error) as info:
            s.set_objective_torchscript(objective(pool, "garbage.pt"))
        assert info.value.status is fwmerge.Status.FORMAT
        # Failed replacements keep the callback objective.
        assert s.step().chosen == (0,)


def test_cross_entropy_step_matches_the_closed_form(tmp_path):
    helper = os.environ.get("FWMERGE_TS_FIXTURE")
    if not helper:
        pytest.skip("FWMERGE_TS_FIXTURE is not set (CTest sets it)")
    subprocess.run([helper, str(tmp_path)], check=True)

    def model(name, w):
        fwmerge.save_tensors(
            tmp_path / name,
            {
                "fc.weight": np.array(w, np.float32).reshape(2, 2),
                "fc.bias": np.zeros(2, np.float32),
            },
        )

    # Base W = 0, b = 0; member 0 moves W against the gradient, member 1 along it.
    model("base.safetensors", [0, 0, 0, 0])
    model("good.safetensors", [-0.5, 0.75, 0.5, -0.75])
    model("bad.safetensors", [0.5, -0.75, -0.5, 0.75])
    calibration = {"x": np.array([[1, 2], [3, -1]], np.float32), "y": np.array([0, 1], np.int64)}
    safetensors.numpy.save_file(calibration, str(tmp_path / "calib.safetensors"))
    with fwmerge.Solver() as s:
        s.set_base(tmp_path / "base.safetensors")
        s.pool_add(tmp_path / "good.safetensors")
        s.pool_add(tmp_path / "bad.safetensors")
        s.set_objective(lambda p, g: 0.0)
        ts = fwmerge.TorchScriptObjective(
            tmp_path / "net.pt",
            tmp_path / "calib.safetensors",
            [fwmerge.ObjectiveTerm(inputs="x", labels="y")],
        )
        for bad in (
            fwmerge.ObjectiveTerm(inputs="x", labels="y", weight=math.nan),
            fwmerge.ObjectiveTerm(inputs="nope"),
        ):
            with pytest.raises(fwmerge.Error) as info:
                s.set_objective_torchscript(
                    fwmerge.TorchScriptObjective(ts.module_path, ts.calibration_path, [bad])
                )
            assert info.value.status is fwmerge.Status.INVALID_ARGUMENT
        s.set_objective_torchscript(ts)
        # At W = 0: p = (1/2, 1/2), loss = ln 2, dL/dW = [[0.5, -0.75], [-0.5, 0.75]], dL/db = 0.
        # Scores <grad, theta_i>: good -1.625, bad +1.625, base 0 -> good; gap = 1.625.
        info = s.step()
        assert info.loss == pytest.approx(math.log(2), abs=1e-6)
        assert info.chosen == (0,)
        assert info.gap == pytest.approx(1.625, abs=1e-6)
        assert info.loss_after is not None and info.loss_after < info.loss
