"""Ask/tell steps: the host evaluates in its own loop (mirrors the Go and Java ask/tell tests)."""

from __future__ import annotations

import math

import pytest
from conftest import LOSS0, LOSS1, THETA2, check_step, current, quadratic

import fwmerge


def ask_tell_step(s: fwmerge.Solver) -> fwmerge.StepInfo:
    step = s.step_begin()
    while (request := step.ask()) is not None:
        assert request.need_gradient == (request.grads is not None)
        request.tell(quadratic(request.params, request.grads))
    return step.finish()


def test_ask_tell_matches_callback_steps(solver):
    check_step(ask_tell_step(solver), 0, LOSS0, 2, 0)
    check_step(ask_tell_step(solver), 1, LOSS1, 1, 1)
    assert current(solver) == THETA2
    assert len(solver.history()) == 2


def test_iterating_over_the_step(solver):
    progress = []
    solver.set_progress(progress.append)
    with solver.step_begin() as step:
        for request in step:
            request.tell(quadratic(request.params, request.grads))
        info = step.finish()
    check_step(info, 0, LOSS0, 2, 0)
    assert progress == [info]


def test_host_error_and_cancel(solver):
    before = current(solver)
    step = solver.step_begin()
    request = step.ask()
    assert request is not None
    request.fail("cluster unavailable")
    assert step.ask() is None, "the step asked again after a failed evaluation"
    with pytest.raises(fwmerge.Error) as info:
        step.finish()
    assert info.value.status is fwmerge.Status.CALLBACK
    assert "cluster unavailable" in info.value.message
    assert current(solver) == before

    step = solver.step_begin()
    assert step.ask() is not None
    step.cancel()
    assert solver.history_len() == 0 and current(solver) == before

    # Leaving the context manager without finish() cancels too: a new step can begin.
    with solver.step_begin() as step:
        assert step.ask() is not None
    check_step(ask_tell_step(solver), 0, LOSS0, 2, 0)


def test_a_nan_answer_ends_the_step(solver):
    step = solver.step_begin()
    request = step.ask()
    with pytest.raises(fwmerge.Error) as info:
        request.tell(math.nan)
    assert info.value.status is fwmerge.Status.NON_FINITE
    with pytest.raises(fwmerge.Error) as info:
        step.finish()
    assert info.value.status is fwmerge.Status.NON_FINITE
    assert solver.history_len() == 0


def test_order_errors(solver):
    step = solver.step_begin()
    with pytest.raises(fwmerge.Error) as info:
        solver.step_begin()  # one step at a time
    assert info.value.status is fwmerge.Status.STATE
    assert step.ask() is not None
    with pytest.raises(fwmerge.Error) as info:
        step.finish()  # the request is not answered yet: the step stays pending
    assert info.value.status is fwmerge.Status.STATE
    with pytest.raises(fwmerge.Error) as info:
        solver.step()  # not while an ask/tell step is pending
    assert info.value.status is fwmerge.Status.STATE
    step.cancel()
