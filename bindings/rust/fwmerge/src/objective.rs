//! The host objective: a boxed Rust closure behind an `extern "C"` trampoline. No panic and no
//! Rust error crosses into C: both become FW_ERR_CALLBACK with the text in fw_set_callback_error.
use crate::tensor::{grad_views, tensor_views, GradView, TensorView};
use fwmerge_sys as sys;
use std::any::Any;
use std::ffi::CString;
use std::fmt::Display;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The type-erased objective, told which term to evaluate (`FW_ALL_TERMS` for the whole
/// objective: always for a single-term closure); the user's error is already rendered to text.
pub(crate) type BoxedObjectiveFn =
    dyn FnMut(i32, &[TensorView<'_>], &mut [GradView<'_>]) -> Result<f64, String> + Send;
pub(crate) type BoxedObjective = Box<BoxedObjectiveFn>;

/// A single-term objective (`set_objective`): the term is always `FW_ALL_TERMS`.
pub(crate) fn boxed<F, E>(mut f: F) -> BoxedObjective
where
    F: FnMut(&[TensorView<'_>], &mut [GradView<'_>]) -> Result<f64, E> + Send + 'static,
    E: Display,
{
    Box::new(move |_term, params, grads| f(params, grads).map_err(|e| e.to_string()))
}

/// A multi-term objective (`set_objective_terms`).
pub(crate) fn boxed_terms<F, E>(mut f: F) -> BoxedObjective
where
    F: FnMut(i32, &[TensorView<'_>], &mut [GradView<'_>]) -> Result<f64, E> + Send + 'static,
    E: Display,
{
    Box::new(move |term, params, grads| f(term, params, grads).map_err(|e| e.to_string()))
}

/// Records `message` as the callback's reason (NUL bytes would truncate it; they are escaped).
pub(crate) fn set_callback_error(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).expect("NUL bytes were escaped");
    // SAFETY: the library copies the text.
    unsafe { sys::fw_set_callback_error(text.as_ptr()) };
}

pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// The `fw_objective_fn` handed to the library; `user_data` is a `*mut BoxedObjective` owned by
/// the solver.
pub(crate) unsafe extern "C" fn trampoline(
    params: *const sys::fw_tensor,
    n: usize,
    grads: *mut sys::fw_tensor,
    loss: *mut f64,
    user_data: *mut c_void,
) -> sys::fw_status {
    // SAFETY: the library's arguments, passed on unchanged.
    unsafe { terms_trampoline(sys::FW_ALL_TERMS, params, n, grads, loss, user_data) }
}

/// The `fw_objective_terms_fn` handed to the library; `user_data` as for [`trampoline`].
pub(crate) unsafe extern "C" fn terms_trampoline(
    term: i32,
    params: *const sys::fw_tensor,
    n: usize,
    grads: *mut sys::fw_tensor,
    loss: *mut f64,
    user_data: *mut c_void,
) -> sys::fw_status {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<f64, String> {
        // SAFETY: user_data is the solver's objective, alive while the solver lives; the solver
        // is exclusively borrowed by the step that runs this callback.
        let f = unsafe { &mut *(user_data as *mut BoxedObjective) };
        // SAFETY: the views are valid during this call only, which the closure's higher-ranked
        // lifetimes enforce: they cannot escape it.
        let views = unsafe { tensor_views(params, n) }.map_err(|e| e.to_string())?;
        let mut grad_views = unsafe { grad_views(grads, n) }.map_err(|e| e.to_string())?;
        f(term, &views, &mut grad_views)
    }));
    let message = match outcome {
        Ok(Ok(value)) => {
            // SAFETY: the library passes a valid out-pointer.
            unsafe { *loss = value };
            return sys::FW_OK;
        }
        Ok(Err(text)) => text,
        Err(payload) => format!("objective panicked: {}", panic_text(payload.as_ref())),
    };
    set_callback_error(&message);
    sys::FW_ERR_CALLBACK
}
