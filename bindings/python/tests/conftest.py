"""Shared fixtures: the tests' pool, written with the reference `safetensors` package (not with
fwmerge), and the quadratic objective whose steps are computed by hand below.

The pool: tensors b [1] and w [2].

    base: b=[0]  w=[0,0]     m0: b=[2]  w=[1,0]     m1: b=[-1] w=[0,1]

Objective 0.5*||theta - target||^2 with target b=[0.5], w=[1,0.25]: gradient theta - target.
Step 0 from the base: g = (b:-0.5, w:-1,-0.25); scores <g,m0> = -2, <g,m1> = 0.25, <g,base> = 0,
so the hard LMO picks m0; gap = <-g, m0 - base> = 0.5*2 + 1*1 = 2; loss = 0.5*(0.25+1+0.0625).
With the constant step gamma = 0.5: theta_1 = b=[1], w=[0.5,0].
Step 1: g = (b:0.5, w:-0.5,-0.25); <g,m0> = 1-0.5 = 0.5, <g,m1> = -0.5-0.25 = -0.75,
<g,base> = 0, so m1; gap = <-g, m1 - theta_1> = -0.5*(-2) + 0.5*(-0.5) + 0.25*1 = 1;
loss = 0.5*(0.25+0.25+0.0625); theta_2 = 0.5*theta_1 + 0.5*m1 = b=[0], w=[0.25,0.5].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import fwmerge

TARGET = {"b": np.array([0.5], np.float32), "w": np.array([1, 0.25], np.float32)}
LOSS0 = 0.5 * (0.25 + 1 + 0.0625)
LOSS1 = 0.5 * (0.25 + 0.25 + 0.0625)
THETA1 = {"b": [1.0], "w": [0.5, 0.0]}
THETA2 = {"b": [0.0], "w": [0.25, 0.5]}
MODELS = {
    "base": {"b": [0.0], "w": [0.0, 0.0]},
    "m0": {"b": [2.0], "w": [1.0, 0.0]},
    "m1": {"b": [-1.0], "w": [0.0, 1.0]},
}


def write_model(path: Path, tensors: dict) -> Path:
    safetensors.numpy.save_file(
        {k: np.asarray(v, np.float32) for k, v in tensors.items()}, str(path)
    )
    return path


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    for name, tensors in MODELS.items():
        write_model(tmp_path / f"{name}.safetensors", tensors)
    return tmp_path


def quadratic(params, grads):
    """The tests' objective; it also checks the views it is given."""
    assert list(params) == ["b", "w"], "views in base order"
    if grads is not None:
        assert list(grads) == ["b", "w"]
    loss = 0.0
    for name, theta in params.items():
        target = TARGET[name]
        assert theta.dtype == np.float32 and theta.shape == target.shape
        assert not theta.flags.writeable, "parameter views are read-only"
        d = theta - target
        loss += 0.5 * float(np.dot(d.astype(np.float64), d.astype(np.float64)))
        if grads is not None:
            g = grads[name]
            assert g.flags.writeable and g.shape == target.shape
            assert not g.any(), "gradient views start zero-filled"
            g[...] = d
    return loss


def constant_params(**overrides) -> fwmerge.Params:
    values = dict(
        step_rule=fwmerge.StepRule.CONSTANT, step_scale=0.5, max_iters=2, epsilon=0.0, threads=1
    )
    values.update(overrides)
    return fwmerge.Params(**values)


def make_solver(
    pool: Path, params: fwmerge.Params | None = None, members=("m0", "m1")
) -> fwmerge.Solver:
    s = fwmerge.Solver(params or constant_params())
    s.set_base(pool / "base.safetensors")
    for want, name in enumerate(members):
        assert s.pool_add(pool / f"{name}.safetensors") == want
    return s


@pytest.fixture
def solver(pool: Path):
    with make_solver(pool) as s:
        yield s


def current(s: fwmerge.Solver) -> dict:
    return {k: v.tolist() for k, v in s.current(copy=True).items()}


def check_step(info: fwmerge.StepInfo, iteration: int, loss: float, gap: float, chosen: int):
    assert info.iteration == iteration, info
    assert math.isclose(info.loss, loss, rel_tol=1e-12), info
    assert math.isclose(info.gap, gap, rel_tol=1e-12), info
    assert math.isclose(info.gamma, 0.5, rel_tol=1e-12), info
    assert not info.converged and not info.leaves_hull, info
    assert (info.n_blocks, info.k) == (1, 1), info
    assert info.chosen == (chosen,), info
    assert info.lambdas == pytest.approx((0.5,), rel=1e-12), info
    assert info.evaluations >= 1, info
