//! Ask/tell: one FW step driven from the host's loop instead of a callback.
//!
//! ```no_run
//! # fn f(s: &mut fwmerge::Solver) -> fwmerge::Result<()> {
//! let mut step = s.step_begin()?;
//! while let Some(mut req) = step.ask()? {
//!     let (params, grads) = req.views();
//!     let loss = params.iter().map(|p| p.data.len() as f64).sum::<f64>(); // the host's loss
//!     let _ = grads; // fill when non-empty
//!     req.tell(loss)?;
//! }
//! let info = step.finish()?;
//! # Ok(()) }
//! ```
use crate::error::{check, Result};
use crate::objective::set_callback_error;
use crate::solver::Solver;
use crate::step::StepInfo;
use crate::tensor::{grad_views, tensor_views, GradView, TensorView};
use fwmerge_sys as sys;

/// A step in progress. Dropping it without [`AskTell::finish`] cancels the step (the solver is
/// then as before [`Solver::step_begin`]).
pub struct AskTell<'s> {
    solver: &'s mut Solver,
    open: bool,
}

impl<'s> AskTell<'s> {
    pub(crate) fn new(solver: &'s mut Solver) -> AskTell<'s> {
        AskTell { solver, open: true }
    }

    /// The next evaluation the step needs, or `None` when the step has ended (then `finish`).
    pub fn ask(&mut self) -> Result<Option<Request<'_>>> {
        // SAFETY: zeroed is a valid fw_request (ints and NULL pointers).
        let mut req: sys::fw_request = unsafe { std::mem::zeroed() };
        // An output struct: the library writes up to the size this crate was built against.
        req.struct_size = std::mem::size_of::<sys::fw_request>() as u32;
        check(unsafe { sys::fw_solver_step_ask(self.solver.as_raw(), &mut req) })?;
        if req.done != 0 {
            return Ok(None);
        }
        // SAFETY: the views live until fw_solver_step_tell or fw_solver_step_cancel; the request borrows this
        // step mutably, and tell consumes it, so neither can happen while they are reachable.
        let params = unsafe { tensor_views(req.params, req.n) }?;
        let grads = if req.need_gradient != 0 {
            unsafe { grad_views(req.grads, req.n) }?
        } else {
            Vec::new()
        };
        Ok(Some(Request {
            raw: self.solver.as_raw(),
            params,
            grads,
            term: req.term,
            answered: false,
        }))
    }

    /// Ends the step: its info on success (committed), or the error that ended it.
    pub fn finish(mut self) -> Result<StepInfo> {
        self.open = false;
        let mut info = StepInfo::raw_empty();
        check(unsafe { sys::fw_solver_step_finish(self.solver.as_raw(), &mut info) })?;
        Ok(StepInfo::from_raw(&info))
    }

    /// Abandons the step; the solver is as before `step_begin`.
    pub fn cancel(mut self) -> Result<()> {
        self.open = false;
        check(unsafe { sys::fw_solver_step_cancel(self.solver.as_raw()) })
    }
}

impl Drop for AskTell<'_> {
    fn drop(&mut self) {
        if self.open {
            unsafe { sys::fw_solver_step_cancel(self.solver.as_raw()) };
        }
    }
}

/// One evaluation asked for by the step: read `params`, fill `grads` (empty when only the loss
/// is wanted), then [`Request::tell`]. Dropping it unanswered fails the step.
pub struct Request<'a> {
    raw: *mut sys::fw_solver,
    params: Vec<TensorView<'a>>,
    grads: Vec<GradView<'a>>,
    term: i32,
    answered: bool,
}

impl<'a> Request<'a> {
    pub fn params(&self) -> &[TensorView<'a>] {
        &self.params
    }

    /// What to evaluate (`fw_request.term`): [`crate::ALL_TERMS`] (the whole objective; always,
    /// unless the host declared terms with [`Solver::set_ask_tell_terms`]) or one term alone.
    pub fn term(&self) -> i32 {
        self.term
    }

    /// Whether the gradient is wanted (else `grads()` is empty).
    pub fn need_gradient(&self) -> bool {
        !self.grads.is_empty()
    }

    pub fn grads(&mut self) -> &mut [GradView<'a>] {
        &mut self.grads
    }

    /// Both at once, in the shape an objective closure takes.
    pub fn views(&mut self) -> (&[TensorView<'a>], &mut [GradView<'a>]) {
        (&self.params, &mut self.grads)
    }

    /// Answers with the loss (the gradient already written into `grads`). If this answer ends
    /// the step in failure (e.g. a NaN loss), that error is returned here and by `finish`.
    pub fn tell(mut self, loss: f64) -> Result<()> {
        self.answered = true;
        check(unsafe { sys::fw_solver_step_tell(self.raw, sys::FW_OK, loss) })
    }

    /// Answers that the evaluation failed: the step ends, and this returns (as `finish` will)
    /// the step's error, FW_ERR_CALLBACK with `message`.
    pub fn fail(mut self, message: &str) -> Result<()> {
        self.answered = true;
        set_callback_error(message);
        check(unsafe { sys::fw_solver_step_tell(self.raw, sys::FW_ERR_CALLBACK, f64::NAN) })
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        if !self.answered {
            set_callback_error("ask/tell request dropped without an answer");
            unsafe { sys::fw_solver_step_tell(self.raw, sys::FW_ERR_CALLBACK, f64::NAN) };
        }
    }
}
