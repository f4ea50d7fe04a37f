"""Resume (save_state/load_state) and interrupt() from other threads (mirrors state_test.go and
the Java state/interrupt tests), plus the GIL being released during long library calls."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from conftest import (
    LOSS0,
    LOSS1,
    THETA1,
    check_step,
    constant_params,
    current,
    make_solver,
    quadratic,
)

import fwmerge


def test_save_and_load_state_continue_the_run(pool):
    state = pool / "run.state"
    with make_solver(pool) as a:
        a.set_objective(quadratic)
        check_step(a.step(), 0, LOSS0, 2, 0)
        a.save_state(state)
    with make_solver(pool) as b:
        b.set_objective(quadratic)
        b.load_state(state)
        assert b.history_len() == 1 and current(b) == THETA1
        check_step(b.step(), 1, LOSS1, 1, 1)  # the uninterrupted run's step 1
    # Another pool order is refused, and the solver keeps what it had.
    with make_solver(pool, members=("m1", "m0")) as c:
        with pytest.raises(fwmerge.Error) as info:
            c.load_state(state)
        assert info.value.status is fwmerge.Status.STATE
        assert c.history_len() == 0


def test_interrupt_from_another_thread_stops_the_next_step(solver):
    solver.set_objective(quadratic)
    t = threading.Thread(target=solver.interrupt)
    t.start()
    t.join()
    with pytest.raises(fwmerge.Error) as info:
        solver.step()
    assert info.value.status is fwmerge.Status.ABORTED
    assert "interrupted" in info.value.message
    assert solver.history_len() == 0
    check_step(solver.step(), 0, LOSS0, 2, 0)  # the request was consumed


def test_interrupt_during_run_from_another_thread(pool):
    # A long run (epsilon 0, constant steps); a thread interrupts it once steps are under way.
    with make_solver(pool, constant_params(max_iters=100000, step_scale=0.01)) as s:
        started = threading.Event()

        def objective(params, grads):
            started.set()
            return quadratic(params, grads)

        s.set_objective(objective)
        t = threading.Thread(target=lambda: (started.wait(10), s.interrupt()))
        t.start()
        with pytest.raises(fwmerge.Error) as info:
            s.run()
        t.join()
        assert info.value.status is fwmerge.Status.ABORTED
        done = s.history_len()
        assert 0 <= done < 100000  # run() keeps the steps it completed
        s.set_params(constant_params(max_iters=done + 1, step_scale=0.01))
        assert s.run().iteration == done  # and the solver goes on from there


def test_long_library_calls_release_the_gil(tmp_path):
    """While merge() computes (a TIES merge of 3 x 2M floats, about 0.2 s), another Python thread
    keeps running: some of its ticks fall inside the middle half of the call, which could not
    happen if the call held the GIL (the main thread runs no Python code in there)."""
    n = 1 << 21
    rng = np.random.default_rng(0)
    fwmerge.save_tensors(tmp_path / "base.safetensors", {"w": np.zeros(n, np.float32)})
    pool = [tmp_path / f"m{i}.safetensors" for i in range(3)]
    for path in pool:
        fwmerge.save_tensors(path, {"w": rng.standard_normal(n).astype(np.float32)})
    params = fwmerge.MergeParams(fwmerge.MergeMethod.TIES, threads=1)
    for _attempt in range(3):  # a loaded machine may starve the ticker once
        ticks, stop = [], threading.Event()

        def ticker(ticks=ticks, stop=stop):
            while not stop.is_set():
                ticks.append(time.perf_counter())
                time.sleep(0.002)

        t = threading.Thread(target=ticker)
        t.start()
        time.sleep(0.01)
        begin = time.perf_counter()
        fwmerge.merge(params, tmp_path / "base.safetensors", pool, tmp_path / "out.safetensors")
        end = time.perf_counter()
        stop.set()
        t.join()
        quarter = (end - begin) / 4
        if any(begin + quarter < tick < end - quarter for tick in ticks):
            return
    pytest.fail(f"no other thread ran during a {end - begin:.3f} s merge")
