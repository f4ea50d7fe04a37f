"""Per-term top-k (TopkRule) through Solver.set_objective_terms and over ask/tell.

Pool: base 0, members e_0..e_3 in R^4 (tensor "w"); terms l_j = 1/2 ||x - c_j||^2 with
c_0 = (3,0,2,0), c_1 = (0,1,0,0), gradient x - c_j (ALL_TERMS: the sum of both). At x = 0 the
gradients are -c_j, so the scores <g_j, e_i> = -c_j[i]: term 0 picks e_0, then term 1 e_1
(PER_TERM: [0, 1]); the whole gradient -(3,1,2,0) ranks e_0, e_2 first (SUMMED: [0, 2]).
l(0) = 13/2 + 1/2 = 7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_model

import fwmerge

TARGETS = [np.array([3, 0, 2, 0], np.float64), np.array([0, 1, 0, 0], np.float64)]


class Terms:
    """The two-term objective; records (term, gradient wanted) and raises on fail_term."""

    def __init__(self, fail_term: int = -2) -> None:
        self.calls: list = []
        self.fail_term = fail_term

    def __call__(self, term, params, grads):
        self.calls.append((term, grads is not None))
        if term == self.fail_term:
            raise RuntimeError("term exploded")
        x = params["w"].astype(np.float64)
        total = 0.0
        for j, c in enumerate(TARGETS):
            if term not in (fwmerge.ALL_TERMS, j):
                continue
            d = x - c
            total += 0.5 * float(np.dot(d, d))
            if grads is not None:
                grads["w"] += d.astype(np.float32)
        return total


def unit4_solver(tmp_path: Path, rule: fwmerge.TopkRule) -> fwmerge.Solver:
    params = fwmerge.Params(
        lmo=fwmerge.Lmo.SOFT, top_k=2, soft_iters=3, epsilon=0.0, topk_rule=rule
    )
    s = fwmerge.Solver(params)
    s.set_base(write_model(tmp_path / "base.safetensors", {"w": [0, 0, 0, 0]}))
    for i in range(4):
        e = [0.0] * 4
        e[i] = 1.0
        s.pool_add(write_model(tmp_path / f"e{i}.safetensors", {"w": e}))
    return s


def test_default_rule_is_per_term():
    assert fwmerge.Params().topk_rule is fwmerge.TopkRule.PER_TERM
    assert fwmerge.ALL_TERMS == -1


@pytest.mark.parametrize(
    "rule, chosen, first_calls",
    [
        (fwmerge.TopkRule.PER_TERM, (0, 1), [(0, True), (1, True), (fwmerge.ALL_TERMS, True)]),
        (fwmerge.TopkRule.SUMMED, (0, 2), [(fwmerge.ALL_TERMS, True)]),
    ],
)
def test_each_term_brings_its_own_vertex(tmp_path, rule, chosen, first_calls):
    with unit4_solver(tmp_path, rule) as s:
        terms = Terms()
        s.set_objective_terms(terms, 2)
        info = s.step()
        assert tuple(info.chosen) == chosen
        assert info.loss == 7.0
        assert terms.calls[: len(first_calls)] == first_calls


def test_ask_tell_requests_name_the_term(tmp_path):
    with unit4_solver(tmp_path, fwmerge.TopkRule.PER_TERM) as s:
        with pytest.raises(fwmerge.Error) as bad:
            s.set_ask_tell_terms(0)
        assert bad.value.status is fwmerge.Status.INVALID_ARGUMENT
        s.set_ask_tell_terms(2)
        terms = Terms()
        with s.step_begin() as step:
            for req in step:
                req.tell(terms(req.term, req.params, req.grads))
            info = step.finish()
        assert terms.calls[:2] == [(0, True), (1, True)]
        assert terms.calls[2][0] == fwmerge.ALL_TERMS
        assert tuple(info.chosen) == (0, 1)


def test_a_raising_term_fails_the_step(tmp_path):
    with unit4_solver(tmp_path, fwmerge.TopkRule.PER_TERM) as s:
        s.set_objective_terms(Terms(fail_term=1), 2)
        with pytest.raises(fwmerge.Error) as info:
            s.step()
        assert info.value.status is fwmerge.Status.CALLBACK
        assert "term exploded" in str(info.value)
        assert s.history_len() == 0
