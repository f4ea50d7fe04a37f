//! Status codes and the error type: every failure carries the library's status and message.
use fwmerge_sys as sys;
use std::ffi::CStr;
use std::fmt;

/// A non-OK `fw_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    InvalidArgument,
    Io,
    Format,
    ShapeMismatch,
    DtypeMismatch,
    NameMismatch,
    Callback,
    NonFinite,
    OutOfMemory,
    Aborted,
    State,
    Unsupported,
    Internal,
    /// A code this version of the crate does not know.
    Other(i32),
}

impl Status {
    /// The status of a raw code; `None` for `FW_OK`.
    pub fn from_raw(code: sys::fw_status) -> Option<Status> {
        Some(match code {
            sys::FW_OK => return None,
            sys::FW_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::FW_ERR_IO => Status::Io,
            sys::FW_ERR_FORMAT => Status::Format,
            sys::FW_ERR_SHAPE_MISMATCH => Status::ShapeMismatch,
            sys::FW_ERR_DTYPE_MISMATCH => Status::DtypeMismatch,
            sys::FW_ERR_NAME_MISMATCH => Status::NameMismatch,
            sys::FW_ERR_CALLBACK => Status::Callback,
            sys::FW_ERR_NON_FINITE => Status::NonFinite,
            sys::FW_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::FW_ERR_ABORTED => Status::Aborted,
            sys::FW_ERR_STATE => Status::State,
            sys::FW_ERR_UNSUPPORTED => Status::Unsupported,
            sys::FW_ERR_INTERNAL => Status::Internal,
            other => Status::Other(other),
        })
    }

    /// The raw `fw_status` code.
    pub fn code(self) -> sys::fw_status {
        match self {
            Status::InvalidArgument => sys::FW_ERR_INVALID_ARGUMENT,
            Status::Io => sys::FW_ERR_IO,
            Status::Format => sys::FW_ERR_FORMAT,
            Status::ShapeMismatch => sys::FW_ERR_SHAPE_MISMATCH,
            Status::DtypeMismatch => sys::FW_ERR_DTYPE_MISMATCH,
            Status::NameMismatch => sys::FW_ERR_NAME_MISMATCH,
            Status::Callback => sys::FW_ERR_CALLBACK,
            Status::NonFinite => sys::FW_ERR_NON_FINITE,
            Status::OutOfMemory => sys::FW_ERR_OUT_OF_MEMORY,
            Status::Aborted => sys::FW_ERR_ABORTED,
            Status::State => sys::FW_ERR_STATE,
            Status::Unsupported => sys::FW_ERR_UNSUPPORTED,
            Status::Internal => sys::FW_ERR_INTERNAL,
            Status::Other(code) => code,
        }
    }

    /// The library's stable name of the code, e.g. "FW_ERR_FORMAT".
    pub fn name(self) -> &'static str {
        // SAFETY: fw_status_name returns a NUL-terminated string in static storage (or NULL).
        let p = unsafe { sys::fw_status_name(self.code()) };
        if p.is_null() {
            return "FW_ERR_UNKNOWN";
        }
        unsafe { CStr::from_ptr(p) }
            .to_str()
            .unwrap_or("FW_ERR_UNKNOWN")
    }
}

/// A failed call: the status and the library's (or this crate's) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error for `status` with the text of `fw_last_error()` of this thread.
    pub(crate) fn last(status: Status) -> Error {
        // SAFETY: fw_last_error returns a NUL-terminated string valid until the next call.
        let p = unsafe { sys::fw_last_error() };
        let message = if p.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        };
        Error { status, message }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

/// Ok for FW_OK, else the error with this thread's last message.
pub(crate) fn check(code: sys::fw_status) -> Result<()> {
    match Status::from_raw(code) {
        None => Ok(()),
        Some(status) => Err(Error::last(status)),
    }
}
