"""fwmerge.Solver: a context manager over fw_solver, owning the Python callables it calls."""

from __future__ import annotations

import math
import threading
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np

from . import _views
from ._enums import LogLevel, Status
from ._errors import Error
from ._library import _fwmerge
from ._types import ExportOptions, MergeParams, Params, StepInfo, TorchScriptObjective
from ._views import Views

#: params, grads (None for a loss-only evaluation) -> loss
Objective = Callable[[Views, Optional[Views]], float]
#: term (ALL_TERMS: the whole objective), params, grads -> that term's loss
TermsObjective = Callable[[int, Views, Optional[Views]], float]
#: the term of a multi-term objective that stands for the whole objective (FW_ALL_TERMS)
ALL_TERMS: int = _fwmerge.FW_ALL_TERMS


class _Failure:
    """The exception that failed the last evaluation, to chain to the Error of the step."""

    exception: Optional[BaseException] = None


def _traceback_text(exc: BaseException) -> str:
    tb = exc.__traceback__
    # The first frame is the adapter below: the user's code starts after it.
    return "".join(traceback.format_exception(type(exc), exc, tb.tb_next if tb else None)).rstrip()


def _objective_adapter(
    fn: Callable[..., float], failure: _Failure
) -> Callable[..., Optional[float]]:
    """What the C trampoline calls, with (params, grads) or (term, params, grads): the loss, or
    None after recording why the evaluation failed (the traceback text becomes the step's
    FW_ERR_CALLBACK message)."""

    def evaluate(*args: Any) -> Optional[float]:
        *term, params, grads = args
        try:
            return float(fn(*term, _views.views(params), _views.views(grads)))  # type: ignore
        except BaseException as exc:  # noqa: B902 - KeyboardInterrupt too: it is re-raised later
            failure.exception = exc
            _fwmerge.fw_set_callback_error(_traceback_text(exc))
            return None

    return evaluate


def _log_level(level: int) -> LogLevel:
    try:
        return LogLevel(level)
    except ValueError:  # a level newer than this binding: shown as a warning (as in Rust)
        return LogLevel.WARN


class Solver:
    """A Frank-Wolfe merging solver (`fw_solver`). Use it as a context manager, or call
    close(); it is also freed when garbage-collected.

    One thread uses a solver at a time: a call made while another is in progress (from another
    thread, or from inside the objective or a hook) raises Error(Status.STATE) instead of
    waiting. interrupt() is the exception: any thread may call it at any time.
    """

    def __init__(self, params: Optional[Params] = None) -> None:
        self._handle: Any = None
        self._busy = threading.Lock()  # held by the call in progress
        self._life = threading.Lock()  # orders interrupt() against close()
        self._callbacks: Dict[str, Any] = {}  # what the library holds as user_data
        self._failure = _Failure()
        params = params or Params()
        self._handle = _fwmerge.fwpy_solver_new(params._to_raw(), *params._filters())

    # ---- lifetime ----

    def __enter__(self) -> "Solver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Frees the solver (a pending ask/tell step is cancelled). Closing twice is a no-op."""
        if not self._busy.acquire(blocking=False):
            raise Error(Status.STATE, "close() while a call on this solver is in progress")
        try:
            with self._life:
                handle, self._handle = self._handle, None
            if handle is not None:
                _fwmerge.fw_solver_free(handle)
            self._callbacks.clear()  # after the free: the library can no longer call them
        finally:
            self._busy.release()

    @contextmanager
    def _use(self) -> Iterator[Any]:
        if not self._busy.acquire(blocking=False):
            raise Error(
                Status.STATE,
                "the solver is in use by another call (another thread, or "
                "the objective or a hook calling back into its solver)",
            )
        try:
            if self._handle is None:
                raise Error(Status.STATE, "the solver is closed")
            yield self._handle
        finally:
            self._busy.release()

    def _install(self, slot: str, setter: Callable[[Any, Any], None], value: Any) -> None:
        """Registers value (None: removes), then drops the previous one, which the library
        no longer holds."""
        with self._use() as h:
            setter(h, value)
            self._callbacks[slot] = value

    # ---- set-up ----

    def set_params(self, params: Params) -> None:
        """Replaces the parameters (allowed between steps)."""
        with self._use() as h:
            _fwmerge.fwpy_solver_set_params(h, params._to_raw(), *params._filters())

    def set_base(self, path: Any) -> None:
        """The pre-trained model (file or Hugging Face folder); resets the solver."""
        with self._use() as h:
            _fwmerge.fw_solver_set_base(h, path)

    def pool_add(self, path: Any) -> int:
        """Adds a fine-tuned checkpoint (file, sharded folder, PEFT LoRA adapter folder) to the
        pool; returns its pool index."""
        with self._use() as h:
            return int(_fwmerge.fw_solver_pool_add(h, path))

    def pool_size(self) -> int:
        with self._use() as h:
            return int(_fwmerge.fw_solver_pool_size(h))

    def set_start_member(self, index: int) -> None:
        """Starts from pool member `index` instead of the base (before the first step only)."""
        with self._use() as h:
            _fwmerge.fw_solver_set_start_member(h, index)

    def set_start_file(self, path: Any) -> None:
        """Starts from a checkpoint that becomes an extra vertex, index -1 (before the first
        step only)."""
        with self._use() as h:
            _fwmerge.fw_solver_set_start_file(h, path)

    def set_start_merge(self, params: MergeParams) -> None:
        """Starts from a data-free merge of the pool against the base (an extra vertex)."""
        with self._use() as h:
            _fwmerge.fwpy_set_start_merge(h, params._to_raw(), params._arrays())

    def set_merge_function(self, params: Optional[MergeParams]) -> None:
        """The FW step's merge function; None (or MergeMethod.LINEAR) is the convex combination
        (before the first step only)."""
        with self._use() as h:
            if params is None:
                _fwmerge.fwpy_set_merge_function(h, None, (None, None, None))
            else:
                _fwmerge.fwpy_set_merge_function(h, params._to_raw(), params._arrays())

    # ---- objective and hooks ----

    def set_objective(self, fn: Optional[Objective]) -> None:
        """fn(params, grads) -> loss at the current point. params: {name: read-only array} in
        base order; grads: {name: writable zero-filled array} to fill with the gradient, or None
        when only the loss is wanted. The arrays are views of library memory, valid during the
        call only. An exception fails the step with Status.CALLBACK and its traceback as the
        message, and leaves the solver unchanged. None removes the objective."""
        adapter = None if fn is None else _objective_adapter(fn, self._failure)
        self._install("objective", _fwmerge.fwpy_set_objective, adapter)

    def set_objective_terms(self, fn: Optional[TermsObjective], n_terms: int) -> None:
        """A multi-term objective l = l_0 + ... + l_{n_terms-1}
        (fw_solver_set_objective_terms_callback): fn(term, params, grads) -> the loss of term `term`
        alone (0 <= term < n_terms), or of the whole objective when term is ALL_TERMS, with its
        gradient added into grads; otherwise as set_objective (same views, same failures). The
        terms must add up to the whole objective; with TopkRule.PER_TERM each term's gradient
        picks its own vertex of the soft LMO. Replaces any objective set before; None removes
        it."""
        adapter = None if fn is None else _objective_adapter(fn, self._failure)
        self._install(
            "objective",
            lambda h, a: _fwmerge.fwpy_set_objective_terms(h, a, int(n_terms)),
            adapter,
        )

    def set_ask_tell_terms(self, n_terms: int) -> None:
        """Declares that the objective the host evaluates over ask/tell has n_terms terms
        (default 1; kept across steps): requests then name a term (Request.term), see
        TopkRule. Not allowed while a step is pending (Status.STATE)."""
        with self._use() as h:
            _fwmerge.fw_solver_set_ask_tell_terms(h, int(n_terms))

    def set_objective_torchscript(self, objective: TorchScriptObjective) -> None:
        """Makes the library evaluate the objective itself with a TorchScript module (after
        set_base); replaces a callable set with set_objective."""
        param_map = None
        if objective.param_map is not None:
            param_map = [name for pair in objective.param_map for name in pair]
        terms = [(t.method, t.inputs, t.labels, float(t.weight)) for t in objective.terms]
        with self._use() as h:
            _fwmerge.fwpy_set_objective_torchscript(
                h, objective.module_path, objective.calibration_path, param_map, terms
            )
            self._callbacks.pop("objective", None)  # the library no longer calls it

    def set_progress(self, fn: Optional[Callable[[StepInfo], None]]) -> None:
        """Called after each completed step (callback or ask/tell). An exception is reported
        through sys.unraisablehook and ignored."""
        adapter = None if fn is None else (lambda info: fn(StepInfo(**info)))
        self._install("progress", _fwmerge.fwpy_set_progress, adapter)

    def set_log(self, fn: Optional[Callable[[LogLevel, str], None]]) -> None:
        """Receives the library's log lines. An exception is reported and ignored."""
        adapter = None if fn is None else (lambda level, text: fn(_log_level(level), text))
        self._install("log", _fwmerge.fwpy_set_log, adapter)

    def set_abort(self, fn: Optional[Callable[[], bool]]) -> None:
        """Polled between tensors and evaluations; a true result aborts the step with
        Status.ABORTED, leaving the solver unchanged. An exception counts as true (and is
        reported). Not consulted by ask/tell steps (cancel those)."""
        self._install("abort", _fwmerge.fwpy_set_abort, fn)

    # ---- steps ----

    def _stepping(self, call: Callable[[Any], Any]) -> Any:
        """Runs a call that evaluates the objective. Its failure is chained to the Error; an
        objective interrupted by KeyboardInterrupt or SystemExit re-raises it here."""
        self._failure.exception = None
        try:
            with self._use() as h:
                return call(h)
        except Error as error:
            cause, self._failure.exception = self._failure.exception, None
            if cause is None or error.status != Status.CALLBACK:
                raise
            if not isinstance(cause, Exception):
                raise cause from None
            raise error from cause
        finally:
            self._failure.exception = None

    def step(self) -> StepInfo:
        """One FW iteration with the objective. On error the solver is unchanged."""
        return StepInfo(**self._stepping(_fwmerge.fw_solver_step))

    def run(self) -> Optional[StepInfo]:
        """Steps until max_iters steps have been taken in total or the gap <= epsilon; returns
        the last step's info, or None if no step was taken."""
        before = self.history_len()
        info = self._stepping(_fwmerge.fw_solver_run)
        return StepInfo(**info) if self.history_len() > before else None

    def step_begin(self) -> "AskTell":
        """Starts an ask/tell step: the host evaluates the objective in its own loop."""
        with self._use() as h:
            _fwmerge.fw_solver_step_begin(h)
        return AskTell(self)

    def history_len(self) -> int:
        """Number of completed steps."""
        with self._use() as h:
            return max(0, int(_fwmerge.fw_solver_history_size(h)))

    def history_get(self, i: int) -> StepInfo:
        with self._use() as h:
            return StepInfo(**_fwmerge.fw_solver_history_get(h, i))

    def history(self) -> List[StepInfo]:
        """All completed steps, in order."""
        return [self.history_get(i) for i in range(self.history_len())]

    def block_name(self, block: int) -> str:
        """Name of block `block` (layer-wise: a tensor name or prefix; task-wise: "")."""
        with self._use() as h:
            name = _fwmerge.fw_solver_block_name(h, block)
        if name is None:  # fw_solver_block_name sets no error text
            raise Error(Status.INVALID_ARGUMENT, f"no block {block}")
        return name

    def current(self, copy: bool = False) -> Views:
        """theta_t as {name: array} in base order: read-only views of library memory, valid
        until the next step, reset, parameter change or close; copy=True returns copies."""
        with self._use() as h:
            out = _views.views(_fwmerge.fw_solver_current(h))
        assert out is not None
        return {k: np.array(v) for k, v in out.items()} if copy else out

    # ---- output and resume ----

    def export(self, path: Any, options: Optional[ExportOptions] = None) -> None:
        """Writes theta_t (recipe and history in the metadata), atomically."""
        options = options or ExportOptions()
        with self._use() as h:
            _fwmerge.fwpy_export(h, path, options._to_raw(), options.model_card)

    def save_state(self, path: Any) -> None:
        """Writes what the run has computed so far, for load_state in a later process."""
        with self._use() as h:
            _fwmerge.fw_solver_state_save(h, path)

    def load_state(self, path: Any) -> None:
        """Restores a saved state into a solver with the same base, pool (in order), blocks and
        merge function. On error the solver is unchanged."""
        with self._use() as h:
            _fwmerge.fw_solver_state_load(h, path)

    def interrupt(self) -> None:
        """Stops the call in progress on this solver (step, run, an ask/tell step, export,
        set_start_merge, save_state), or the next one, from any thread: it raises
        Error(Status.ABORTED). A no-op once the solver is closed."""
        with self._life:
            if self._handle is not None:
                _fwmerge.fw_solver_interrupt(self._handle)


class Request:
    """One evaluation an ask/tell step needs: read `params`, fill `grads` (None when only the
    loss is wanted), then tell(loss) or fail(message). The arrays are valid until then."""

    def __init__(
        self, solver: Solver, params: Views, grads: Optional[Views], term: int = ALL_TERMS
    ) -> None:
        self._solver = solver
        self.params = params
        self.grads = grads
        #: what to evaluate: ALL_TERMS (the whole objective; always, unless the host declared
        #: terms with Solver.set_ask_tell_terms) or one term alone
        self.term = term

    @property
    def need_gradient(self) -> bool:
        return self.grads is not None

    def tell(self, loss: float) -> None:
        """Answers with the loss (the gradient written into grads). If this answer ends the step
        in failure (e.g. a NaN loss), that error is raised here and by finish()."""
        with self._solver._use() as h:
            _fwmerge.fw_solver_step_tell(h, _fwmerge.FW_OK, float(loss))

    def fail(self, message: str) -> None:
        """Answers that the evaluation failed: the step ends, and finish() raises
        Error(Status.CALLBACK) with `message`."""
        with self._solver._use() as h:
            _fwmerge.fw_set_callback_error(message)
            try:
                _fwmerge.fw_solver_step_tell(h, _fwmerge.FW_ERR_CALLBACK, math.nan)
            except Error as error:
                if error.status != Status.CALLBACK:  # the expected outcome; finish() reports it
                    raise


class AskTell:
    """A step in progress (Solver.step_begin). As a context manager, leaving it without
    finish() cancels the step; iterating over it yields the requests until the step ends."""

    def __init__(self, solver: Solver) -> None:
        self._solver = solver
        self._open = True

    def __enter__(self) -> "AskTell":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._open:
            try:
                self.cancel()
            except Error:
                pass

    def __iter__(self) -> Iterator[Request]:
        while True:
            request = self.ask()
            if request is None:
                return
            yield request

    def ask(self) -> Optional[Request]:
        """The next evaluation the step needs, or None when the step has ended (then finish)."""
        with self._solver._use() as h:
            done, _need_gradient, params, grads, term = _fwmerge.fw_solver_step_ask(h)
        if done:
            return None
        return Request(
            self._solver, _views.views(params), _views.views(grads), term  # type: ignore
        )

    def finish(self) -> StepInfo:
        """Ends the step: its info on success (committed), or raises the error that ended it."""
        try:
            with self._solver._use() as h:
                info = _fwmerge.fw_solver_step_finish(h)
        except Error as error:
            if error.status != Status.STATE:  # STATE: still waiting for an answer, still open
                self._open = False
            raise
        self._open = False
        return StepInfo(**info)

    def cancel(self) -> None:
        """Abandons the step; the solver is as before step_begin."""
        self._open = False
        with self._solver._use() as h:
            _fwmerge.fw_solver_step_cancel(h)
