"""Progress, log and abort hooks: Python callables; an exception in one never crashes."""

from __future__ import annotations

import sys

import pytest
from conftest import LOSS0, check_step, current, quadratic

import fwmerge


@pytest.fixture
def unraisable(monkeypatch):
    """What reached sys.unraisablehook (where hook exceptions are reported)."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def test_progress_and_log_hooks(solver):
    progress, logs = [], []
    solver.set_progress(progress.append)
    solver.set_log(lambda level, message: logs.append((level, message)))
    solver.set_objective(quadratic)
    first = solver.step()
    last = solver.run()
    assert progress == [first, last] == solver.history()
    assert logs and all(
        isinstance(level, fwmerge.LogLevel) and isinstance(text, str) for level, text in logs
    )
    assert any(level is fwmerge.LogLevel.INFO for level, _ in logs)
    solver.set_progress(None)
    solver.set_log(None)


def test_abort_hook_stops_the_step(solver):
    solver.set_objective(quadratic)
    polls = []
    solver.set_abort(lambda: polls.append(1) or True)
    with pytest.raises(fwmerge.Error) as info:
        solver.step()
    assert info.value.status is fwmerge.Status.ABORTED and polls
    assert solver.history_len() == 0 and current(solver) == {"b": [0.0], "w": [0.0, 0.0]}
    solver.set_abort(lambda: False)
    check_step(solver.step(), 0, LOSS0, 2, 0)
    solver.set_abort(None)


def test_exceptions_in_hooks_are_reported_not_raised(solver, unraisable):
    def broken_progress(info):
        raise RuntimeError("progress hook bug")

    def broken_log(level, message):
        raise RuntimeError("log hook bug")

    solver.set_objective(quadratic)
    solver.set_progress(broken_progress)
    solver.set_log(broken_log)
    check_step(solver.step(), 0, LOSS0, 2, 0)  # the step itself succeeded
    texts = [str(u.exc_value) for u in unraisable]
    assert "progress hook bug" in texts and "log hook bug" in texts

    # An exception in the abort hook counts as "abort".
    def broken_abort():
        raise RuntimeError("abort hook bug")

    unraisable.clear()
    solver.set_abort(broken_abort)
    with pytest.raises(fwmerge.Error) as info:
        solver.step()
    assert info.value.status is fwmerge.Status.ABORTED
    assert solver.history_len() == 1
    assert any(str(u.exc_value) == "abort hook bug" for u in unraisable)
