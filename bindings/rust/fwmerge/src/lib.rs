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
mod settings;
mod solver;
mod step;
mod tensor;
mod tensor_set;
mod torchscript;

pub use asktell::{AskTell, Request};
pub use error::{Error, Result, Status};
pub use hooks::LogLevel;
pub use interrupt::Interrupter;
pub use merge::{merge, merge_with_abort, MergeField, MergeMethod, MergeOverride, MergeParams};
pub use params::{
    Device, Dtype, ExportOptions, Granularity, Lmo, Params, Score, SoftSolver, StepRule, TopkRule,
};
pub use settings::{set_malloc_mmap_threshold, set_torch_threads};
pub use solver::Solver;
pub use step::StepInfo;
pub use tensor::{save_tensors, GradView, HostTensor, TensorData, TensorView};
pub use tensor_set::{LoadedTensor, TensorSet};
pub use torchscript::{ObjectiveTerm, TorchScriptObjective};

/// The term of a multi-term objective ([`Solver::set_objective_terms`], [`Request::term`]) that
/// stands for the whole objective (`FW_ALL_TERMS`).
pub const ALL_TERMS: i32 = sys::FW_ALL_TERMS;

/// The raw declarations, for what this crate does not wrap.
pub use fwmerge_sys as sys;

/// The library's version string ("0.5.0").
pub fn version() -> &'static str {
    // SAFETY: fw_version returns a NUL-terminated string in static storage.
    unsafe { std::ffi::CStr::from_ptr(sys::fw_version()) }
        .to_str()
        .unwrap_or("")
}

/// The library's version number (`fw_version_number`: 500 for 0.5.0), MAJOR * 10000 + MINOR * 100
/// + PATCH.
pub fn version_number() -> u32 {
    // SAFETY: plain value-returning call.
    unsafe { sys::fw_version_number() }
}

/// The LibTorch the library was built against and loads (`fw_libtorch_version`: "1.13.0" for
/// Debian's, "2.15.0+cu132" for a pip torch). A process holds one LibTorch: a tool that also uses
/// tch-rs needs a libfwmerge built against tch's LibTorch (`FWMERGE_LIBTORCH=$LIBTORCH`).
pub fn libtorch_version() -> &'static str {
    // SAFETY: fw_libtorch_version returns a NUL-terminated string in static storage.
    unsafe { std::ffi::CStr::from_ptr(sys::fw_libtorch_version()) }
        .to_str()
        .unwrap_or("")
}

/// Why a library of version number `library` cannot serve this crate, compiled against the header
/// version `header` (`sys::FW_VERSION_NUMBER`), or `None` when it can: while the major version is
/// 0 every minor release may change the ABI, so major and minor must match; a patch release only
/// appends (functions, struct versions), so the library must be at least the header's patch.
pub fn version_incompatibility(library: u32, header: u32) -> Option<String> {
    if library / 100 == header / 100 && library >= header {
        return None;
    }
    let text = |n: u32| format!("{}.{}.{}", n / 10000, n / 100 % 100, n % 100);
    Some(format!(
        "the loaded libfwmerge is {}, but this crate was built against fwmerge.h {}; it needs {} \
         or a later {}.{}.x: rebuild the crate against the installed library (FWMERGE_LIB_DIR, \
         pkg-config) or install the matching library",
        text(library),
        text(header),
        text(header),
        header / 10000,
        header / 100 % 100
    ))
}

/// Checked once per process, at the first call that creates something (a solver, a merge, reading
/// or writing tensors): the library this process loaded may not be the one the crate was built
/// against (the dynamic loader resolves libfwmerge.so.0 at run time). A mismatch is
/// `Status::Unsupported` with the message of [`version_incompatibility`].
pub(crate) fn check_library_version() -> Result<()> {
    static CHECK: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    match CHECK.get_or_init(|| version_incompatibility(version_number(), sys::FW_VERSION_NUMBER)) {
        None => Ok(()),
        Some(message) => Err(Error::new(Status::Unsupported, message.clone())),
    }
}
