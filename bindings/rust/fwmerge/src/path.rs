//! Rust strings and paths to the NUL-terminated strings the C API takes.
use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::raw::c_char;
use std::path::Path;

pub(crate) fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{what} contains a NUL byte: {s:?}")))
}

pub(crate) fn c_path(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("path is not UTF-8: {path:?}")))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Error::invalid(format!("path contains a NUL byte: {path:?}")))
}

/// A list of strings as the C structs take it (`const char *const *` and a count): the copies and
/// the pointer array live as long as this value, which must outlive the call reading the struct.
pub(crate) struct CStringArray {
    _strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStringArray {
    pub(crate) fn new(items: &[String], what: &str) -> Result<CStringArray> {
        let strings: Vec<CString> = items
            .iter()
            .map(|s| c_string(s, what))
            .collect::<Result<_>>()?;
        let ptrs = strings.iter().map(|s| s.as_ptr()).collect();
        Ok(CStringArray {
            _strings: strings,
            ptrs,
        })
    }

    /// NULL for an empty list (the library's "none").
    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        if self.ptrs.is_empty() {
            std::ptr::null()
        } else {
            self.ptrs.as_ptr()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ptrs.len()
    }
}

/// The include and exclude globs of `fw_params` / `fw_merge_params`, kept alive for one call.
pub(crate) struct TensorFilters {
    pub(crate) include: CStringArray,
    pub(crate) exclude: CStringArray,
}

impl TensorFilters {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<TensorFilters> {
        Ok(TensorFilters {
            include: CStringArray::new(include, "include_tensors pattern")?,
            exclude: CStringArray::new(exclude, "exclude_tensors pattern")?,
        })
    }
}
