//! Safe Rust API of libfwmerge: Frank-Wolfe merging of fine-tuned checkpoints (FW-Merging).
//!
//! ```no_run
//! use fwmerge::{Params, Solver, TensorView, GradView};
//! # fn main() -> Result<(), fwmerge::Error> {
//! let mut solver = Solver::new(&Params { max_iters: 5, ..Params::default() })?;
//! solver.set_base("base.safetensors")?;
//! solver.pool_add("member0.safetensors")?;
//! solver.set_objective(|params: &[TensorView], grads: &mut [GradView]| {
//!     let mut loss = 0.0;
//!     for (j, p) in params.iter().enumerate() {
//!         for (i, &x) in p.data.iter().enumerate() {
//!             loss += 0.5 * f64::from(x) * f64::from(x);
//!             if let Some(g) = grads.get_mut(j) { g.data[i] = x; }
//!         }
//!     }
//!     Ok::<f64, String>(loss)
//! })?;
//! solver.run()?;
//! for info in solver.history()? {
//!     println!("step {} loss {} gap {}", info.iteration, info.loss, info.gap);
//! }
//! solver.export("merged.safetensors", &Default::default())?;
//! # Ok(()) }
//! ```
//!
//! Threading: a [`Solver`] may move between threads but is used by one at a time (`&mut self`);
//! the objective runs on the thread that called [`Solver::step`] or [`Solver::run`].

#[macro_use]
mod params;
mod asktell;
mod error;
mod hooks;
mod interrupt;
mod merge;
mod objective;
mod path;
mod solver;
mod step;
mod tensor;
mod tensor_set;
mod torchscript;

pub use asktell::{AskTell, Request};
pub use error::{Error, Result, Status};
pub use hooks::LogLevel;
pub use interrupt::Interrupter;
pub use merge::{merge, MergeMethod, MergeParams};
pub use params::{Dtype, ExportOptions, Granularity, Lmo, Params, Score, SoftSolver, StepRule};
pub use solver::Solver;
pub use step::StepInfo;
pub use tensor::{save_tensors, GradView, TensorView};
pub use tensor_set::{LoadedTensor, TensorSet};
pub use torchscript::{ObjectiveTerm, TorchScriptObjective};

/// The raw declarations, for what this crate does not wrap.
pub use fwmerge_sys as sys;

/// The library's version string ("0.3.1").
pub fn version() -> &'static str {
    // SAFETY: fw_version returns a NUL-terminated string in static storage.
    unsafe { std::ffi::CStr::from_ptr(sys::fw_version()) }
        .to_str()
        .unwrap_or("")
}
