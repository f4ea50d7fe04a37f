//! Stopping a solver's work from another thread (`fw_solver_interrupt`).
use fwmerge_sys as sys;
use std::sync::{Arc, Mutex};

/// The solver's handle as interrupters see it: `None` once the solver is dropped. The mutex makes
/// "check, then interrupt" atomic with respect to the drop, so no interrupt reaches a freed solver.
pub(crate) type Shared = Arc<Mutex<Option<RawSolver>>>;

pub(crate) struct RawSolver(pub(crate) *mut sys::fw_solver);
// SAFETY: fw_solver_interrupt may be called from any thread (fwmerge.h); the pointer is only used
// for that call, under the mutex, while the solver is alive.
unsafe impl Send for RawSolver {}

/// Stops the call in progress on its solver (`step`, `run`, an ask/tell step, `export`,
/// `save_state`), or the next one: that call returns an error with [`crate::Status::Aborted`] and
/// the solver stays as before the step. Cheap to clone, `Send + Sync`; once the solver is dropped,
/// [`Interrupter::interrupt`] does nothing.
#[derive(Clone)]
pub struct Interrupter {
    pub(crate) shared: Shared,
}

impl Interrupter {
    /// Requests the stop (one atomic store in the library). Returns false if the solver is gone.
    pub fn interrupt(&self) -> bool {
        let guard = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            // SAFETY: the solver is alive while the mutex holds Some (Solver::drop clears it first).
            Some(raw) => {
                unsafe { sys::fw_solver_interrupt(raw.0) };
                true
            }
            None => false,
        }
    }
}
