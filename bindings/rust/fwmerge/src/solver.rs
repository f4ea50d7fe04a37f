//! The solver handle: RAII over `fw_solver`, owning the host objective it calls.
use crate::asktell::AskTell;
use crate::error::{check, Error, Result, Status};
use crate::hooks::{
    abort_trampoline, log_trampoline, progress_trampoline, AbortFn, LogFn, LogLevel, ProgressFn,
    Slot,
};
use crate::interrupt::{Interrupter, RawSolver, Shared};
use crate::merge::MergeParams;
use crate::objective::{boxed, boxed_terms, terms_trampoline, trampoline, BoxedObjectiveFn};
use crate::params::{ExportOptions, Params};
use crate::path::c_path;
use crate::step::StepInfo;
use crate::tensor::{tensor_views, GradView, TensorView};
use fwmerge_sys as sys;
use std::ffi::CStr;
use std::fmt::Display;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// A Frank-Wolfe merging solver (`fw_solver`); freed on drop.
pub struct Solver {
    raw: NonNull<sys::fw_solver>,
    // Closures the library holds as user_data; fields drop after Solver::drop frees the handle.
    objective: Slot<BoxedObjectiveFn>,
    progress: Slot<ProgressFn>,
    log: Slot<LogFn>,
    abort: Slot<AbortFn>,
    // What Interrupter handles see; cleared before the handle is freed.
    interrupt: Shared,
}

// SAFETY: the library allows a solver on any thread, one thread at a time; `&mut self` on every
// mutating call and !Sync give exactly that, and the objective closure is required to be Send.
unsafe impl Send for Solver {}

impl Solver {
    /// Creates a solver with `params`.
    pub fn new(params: &Params) -> Result<Solver> {
        crate::check_library_version()?;
        let (raw_params, _filters) = params.to_raw()?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: valid params and out-pointer.
        check(unsafe { sys::fw_solver_new(&raw_params, &mut raw) })?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "fw_solver_new returned no handle"))?;
        Ok(Solver {
            raw,
            objective: Slot::empty(),
            progress: Slot::empty(),
            log: Slot::empty(),
            abort: Slot::empty(),
            interrupt: Arc::new(Mutex::new(Some(RawSolver(raw.as_ptr())))),
        })
    }

    /// The raw handle, for calls this crate does not wrap. Do not free it.
    pub fn as_raw(&self) -> *mut sys::fw_solver {
        self.raw.as_ptr()
    }

    /// Replaces the parameters (allowed between steps).
    pub fn set_params(&mut self, params: &Params) -> Result<()> {
        let (raw_params, _filters) = params.to_raw()?;
        check(unsafe { sys::fw_solver_set_params(self.as_raw(), &raw_params) })
    }

    /// Sets the pre-trained model (file or Hugging Face folder); resets the solver.
    pub fn set_base(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let p = c_path(path.as_ref())?;
        check(unsafe { sys::fw_solver_set_base(self.as_raw(), p.as_ptr()) })
    }

    /// Adds a fine-tuned checkpoint to the pool and returns its pool index.
    pub fn pool_add(&mut self, path: impl AsRef<Path>) -> Result<i32> {
        let p = c_path(path.as_ref())?;
        let mut index = -1;
        check(unsafe { sys::fw_solver_pool_add(self.as_raw(), p.as_ptr(), &mut index) })?;
        Ok(index)
    }

    pub fn pool_size(&self) -> usize {
        unsafe { sys::fw_solver_pool_size(self.as_raw()) }
    }

    /// Starts from pool member `index` instead of the base (before the first step only).
    pub fn set_start_member(&mut self, index: i32) -> Result<()> {
        check(unsafe { sys::fw_solver_set_start_member(self.as_raw(), index) })
    }

    /// Starts from a checkpoint file that becomes an extra vertex (before the first step only).
    pub fn set_start_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let p = c_path(path.as_ref())?;
        check(unsafe { sys::fw_solver_set_start_file(self.as_raw(), p.as_ptr()) })
    }

    /// The FW step's merge function: `None` (or `Linear`) is the convex combination; TIES, DARE,
    /// breadcrumbs and task arithmetic apply to the step's directions (before the first step).
    pub fn set_merge_function(&mut self, params: Option<&MergeParams>) -> Result<()> {
        let raw = match params {
            Some(p) if p.weights.is_some() => {
                return Err(Error::invalid("a step merge function takes no weights"));
            }
            Some(p) => Some(p.to_raw()?),
            None => None,
        };
        let ptr = raw
            .as_ref()
            .map_or(std::ptr::null(), |(r, _)| r as *const _);
        check(unsafe { sys::fw_solver_set_merge_function(self.as_raw(), ptr) })
    }

    /// Starts from a data-free merge of the pool against the base (an extra vertex, index -1).
    pub fn set_start_merge(&mut self, params: &MergeParams) -> Result<()> {
        params.check_weights(self.pool_size())?;
        let (raw, _filters) = params.to_raw()?;
        check(unsafe { sys::fw_solver_set_start_merge(self.as_raw(), &raw) })
    }

    /// Sets the objective: given the current point, return the loss and, when `grads` is not
    /// empty, fill it with the gradient (it arrives zero-filled). An empty `grads` means only the
    /// loss is wanted. The views borrow library memory for the call only. An `Err(e)` or a panic
    /// fails the step with [`Status::Callback`] and `e`'s text; the solver is then unchanged.
    pub fn set_objective<F, E>(&mut self, f: F) -> Result<()>
    where
        F: FnMut(&[TensorView<'_>], &mut [GradView<'_>]) -> std::result::Result<f64, E>
            + Send
            + 'static,
        E: Display,
    {
        let raw = self.as_raw();
        self.objective.set(Some(boxed(f)), |ud| {
            // SAFETY: ud stays valid until replaced or the solver is freed.
            check(unsafe { sys::fw_solver_set_objective_callback(raw, Some(trampoline), ud) })
        })
    }

    /// Sets a multi-term objective l = l_0 + ... + l_{n_terms-1}
    /// (`fw_solver_set_objective_terms_callback`): `f(term, params, grads)` evaluates term `term` alone
    /// (0 <= term < n_terms), or the whole objective when `term` is [`crate::ALL_TERMS`], otherwise
    /// as in [`Solver::set_objective`] (same views, same failures). The terms must add up to the
    /// whole objective; with [`crate::TopkRule::PerTerm`] each term's gradient picks its own vertex
    /// of the soft LMO. Replaces any objective set before.
    pub fn set_objective_terms<F, E>(&mut self, n_terms: i32, f: F) -> Result<()>
    where
        F: FnMut(i32, &[TensorView<'_>], &mut [GradView<'_>]) -> std::result::Result<f64, E>
            + Send
            + 'static,
        E: Display,
    {
        let raw = self.as_raw();
        self.objective.set(Some(boxed_terms(f)), |ud| {
            // SAFETY: ud stays valid until replaced or the solver is freed.
            check(unsafe {
                sys::fw_solver_set_objective_terms_callback(
                    raw,
                    Some(terms_trampoline),
                    n_terms,
                    ud,
                )
            })
        })
    }

    /// Frees the closure set by `set_objective` once the library has replaced it.
    pub(crate) fn drop_objective_closure(&mut self) {
        let _ = self.objective.set(None, |_| Ok(()));
    }

    /// Called after each completed step (callback or ask/tell) with its info.
    pub fn set_progress<F: FnMut(&StepInfo) + Send + 'static>(&mut self, f: F) -> Result<()> {
        let raw = self.as_raw();
        self.progress.set(Some(Box::new(f)), |ud| {
            check(unsafe {
                sys::fw_solver_set_progress_callback(raw, Some(progress_trampoline), ud)
            })
        })
    }

    pub fn clear_progress(&mut self) -> Result<()> {
        let raw = self.as_raw();
        self.progress.set(None, |_| {
            check(unsafe { sys::fw_solver_set_progress_callback(raw, None, std::ptr::null_mut()) })
        })
    }

    /// Receives the library's log lines (one INFO line per step, ...).
    pub fn set_log<F: FnMut(LogLevel, &str) + Send + 'static>(&mut self, f: F) -> Result<()> {
        let raw = self.as_raw();
        self.log.set(Some(Box::new(f)), |ud| {
            check(unsafe { sys::fw_solver_set_log_callback(raw, Some(log_trampoline), ud) })
        })
    }

    pub fn clear_log(&mut self) -> Result<()> {
        let raw = self.as_raw();
        self.log.set(None, |_| {
            check(unsafe { sys::fw_solver_set_log_callback(raw, None, std::ptr::null_mut()) })
        })
    }

    /// Polled between tensors and evaluations; returning true (or panicking) aborts the step
    /// with [`Status::Aborted`], leaving the solver unchanged. Not consulted during ask/tell
    /// steps: there the host stops with [`AskTell::cancel`] (or by dropping the step).
    pub fn set_abort<F: FnMut() -> bool + Send + 'static>(&mut self, f: F) -> Result<()> {
        let raw = self.as_raw();
        self.abort.set(Some(Box::new(f)), |ud| {
            check(unsafe { sys::fw_solver_set_abort_callback(raw, Some(abort_trampoline), ud) })
        })
    }

    pub fn clear_abort(&mut self) -> Result<()> {
        let raw = self.as_raw();
        self.abort.set(None, |_| {
            check(unsafe { sys::fw_solver_set_abort_callback(raw, None, std::ptr::null_mut()) })
        })
    }

    /// One FW iteration with the objective. On error the solver is unchanged.
    pub fn step(&mut self) -> Result<StepInfo> {
        let mut info = StepInfo::raw_empty();
        check(unsafe { sys::fw_solver_step(self.as_raw(), &mut info) })?;
        Ok(StepInfo::from_raw(&info))
    }

    /// Steps until max_iters steps have been taken in total or the gap <= epsilon; returns the
    /// last step's info, or `None` if no step was taken.
    pub fn run(&mut self) -> Result<Option<StepInfo>> {
        let before = self.history_len();
        let mut info = StepInfo::raw_empty();
        check(unsafe { sys::fw_solver_run(self.as_raw(), &mut info) })?;
        Ok((self.history_len() > before).then(|| StepInfo::from_raw(&info)))
    }

    /// Declares that the objective the host evaluates over ask/tell has `n_terms` terms (default
    /// 1; kept across steps): requests then name a term ([`crate::Request::term`]), see
    /// [`crate::TopkRule`]. Not allowed while a step is pending ([`Status::State`]).
    pub fn set_ask_tell_terms(&mut self, n_terms: i32) -> Result<()> {
        check(unsafe { sys::fw_solver_set_ask_tell_terms(self.as_raw(), n_terms) })
    }

    /// Starts an ask/tell step: the host evaluates the objective in its own loop.
    pub fn step_begin(&mut self) -> Result<AskTell<'_>> {
        check(unsafe { sys::fw_solver_step_begin(self.as_raw()) })?;
        Ok(AskTell::new(self))
    }

    /// Number of completed steps.
    pub fn history_len(&self) -> usize {
        unsafe { sys::fw_solver_history_size(self.as_raw()) }.max(0) as usize
    }

    /// The info of completed step `i`.
    pub fn history_get(&self, i: usize) -> Result<StepInfo> {
        let i = i32::try_from(i).map_err(|_| Error::invalid("history index out of range"))?;
        let mut info = StepInfo::raw_empty();
        check(unsafe { sys::fw_solver_history_get(self.as_raw(), i, &mut info) })?;
        Ok(StepInfo::from_raw(&info))
    }

    /// All completed steps, in order.
    pub fn history(&self) -> Result<Vec<StepInfo>> {
        (0..self.history_len())
            .map(|i| self.history_get(i))
            .collect()
    }

    /// Name of block `block` (layer-wise: tensor name or prefix; task-wise: "").
    pub fn block_name(&self, block: i32) -> Result<String> {
        let p = unsafe { sys::fw_solver_block_name(self.as_raw(), block) };
        if p.is_null() {
            // fw_solver_block_name sets no error text: say what went wrong here.
            return Err(Error::invalid(format!("no block {block}")));
        }
        Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    /// Views of the current merged tensors theta_t (fp32, base order); the borrow of `self`
    /// keeps them from outliving the next step.
    pub fn current(&self) -> Result<Vec<TensorView<'_>>> {
        let mut ptr = std::ptr::null();
        let mut n = 0usize;
        check(unsafe { sys::fw_solver_current(self.as_raw(), &mut ptr, &mut n) })?;
        // SAFETY: valid until the next step, reset or free, all of which need `&mut self`.
        unsafe { tensor_views(ptr, n) }
    }

    /// Writes theta_t (recipe and history in the metadata), atomically.
    pub fn export(&mut self, path: impl AsRef<Path>, options: &ExportOptions) -> Result<()> {
        let p = c_path(path.as_ref())?;
        // _card: the model card's text the struct points to, alive until the call returns.
        let (raw, _card) = options.to_raw()?;
        check(unsafe { sys::fw_solver_export(self.as_raw(), p.as_ptr(), &raw) })
    }

    /// Writes what the run has computed so far (iterate, history, start point, the pool's
    /// identity) to `path`, atomically (`fw_solver_state_save`).
    pub fn save_state(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let p = c_path(path.as_ref())?;
        check(unsafe { sys::fw_solver_state_save(self.as_raw(), p.as_ptr()) })
    }

    /// Restores a state saved by [`Solver::save_state`], possibly in another process, into this
    /// solver, which must have the same base, pool (in order), blocks and merge function
    /// (`fw_solver_state_load`). On error the solver is unchanged.
    pub fn load_state(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let p = c_path(path.as_ref())?;
        check(unsafe { sys::fw_solver_state_load(self.as_raw(), p.as_ptr()) })
    }

    /// A handle that stops this solver's work from any thread (`fw_solver_interrupt`).
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            shared: self.interrupt.clone(),
        }
    }
}

impl Drop for Solver {
    fn drop(&mut self) {
        // Interrupters first: none may reach the handle once it is freed.
        *self.interrupt.lock().unwrap_or_else(|e| e.into_inner()) = None;
        // SAFETY: the handle came from fw_solver_new and is freed once; the closures (fields)
        // are dropped after this, when the library can no longer call them.
        unsafe { sys::fw_solver_free(self.as_raw()) };
    }
}
