//! Progress, log and abort hooks: boxed closures behind `extern "C"` trampolines, and the slot
//! that owns a closure the library holds as `user_data`.
use crate::error::Result;
use crate::step::StepInfo;
use fwmerge_sys as sys;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

c_enum!(
    /// Severity of a library log message.
    LogLevel: sys::fw_log_level {
        Debug = sys::FW_LOG_LEVEL_DEBUG,
        Info = sys::FW_LOG_LEVEL_INFO,
        Warn = sys::FW_LOG_LEVEL_WARN,
    }
);

pub(crate) type ProgressFn = dyn FnMut(&StepInfo) + Send;
pub(crate) type LogFn = dyn FnMut(LogLevel, &str) + Send;
pub(crate) type AbortFn = dyn FnMut() -> bool + Send;

/// Owns a closure handed to the library as `user_data` (a thin pointer to a `Box<T>`).
pub(crate) struct Slot<T: ?Sized>(*mut Box<T>);

impl<T: ?Sized> Slot<T> {
    pub(crate) fn empty() -> Slot<T> {
        Slot(std::ptr::null_mut())
    }

    /// Registers `value` through `install(user_data)`; frees the previous closure on success,
    /// the new one on failure.
    pub(crate) fn set(
        &mut self,
        value: Option<Box<T>>,
        install: impl FnOnce(*mut c_void) -> Result<()>,
    ) -> Result<()> {
        let new = value.map_or(std::ptr::null_mut(), |b| Box::into_raw(Box::new(b)));
        if let Err(e) = install(new as *mut c_void) {
            if !new.is_null() {
                // SAFETY: from Box::into_raw above; the library did not take it.
                drop(unsafe { Box::from_raw(new) });
            }
            return Err(e);
        }
        let old = std::mem::replace(&mut self.0, new);
        if !old.is_null() {
            // SAFETY: from Box::into_raw; the library now holds the new pointer instead.
            drop(unsafe { Box::from_raw(old) });
        }
        Ok(())
    }
}

impl<T: ?Sized> Drop for Slot<T> {
    // Runs after Solver::drop has freed the handle, so the library can no longer call it.
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: from Box::into_raw, freed once.
            drop(unsafe { Box::from_raw(self.0) });
        }
    }
}

/// `fw_progress_fn`: a panic is swallowed (the step has already succeeded; the panic hook has
/// printed it).
pub(crate) unsafe extern "C" fn progress_trampoline(
    info: *const sys::fw_step_info,
    ud: *mut c_void,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: ud is the solver's progress closure; info is valid during the call.
        let f = unsafe { &mut *(ud as *mut Box<ProgressFn>) };
        f(&StepInfo::from_raw(unsafe { &*info }));
    }));
}

/// `fw_log_fn`: a panic is swallowed.
pub(crate) unsafe extern "C" fn log_trampoline(
    level: sys::fw_log_level,
    message: *const c_char,
    ud: *mut c_void,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: ud is the solver's log closure; message is a NUL-terminated string.
        let f = unsafe { &mut *(ud as *mut Box<LogFn>) };
        let text = if message.is_null() {
            std::borrow::Cow::Borrowed("")
        } else {
            unsafe { CStr::from_ptr(message) }.to_string_lossy()
        };
        f(LogLevel::from_raw(level).unwrap_or(LogLevel::Warn), &text);
    }));
}

/// `fw_abort_fn`: a panic counts as "abort".
pub(crate) unsafe extern "C" fn abort_trampoline(ud: *mut c_void) -> c_int {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: ud is the solver's abort closure.
        let f = unsafe { &mut *(ud as *mut Box<AbortFn>) };
        f()
    }));
    c_int::from(answer.unwrap_or(true))
}
