//! Process-wide settings: they change state shared by everything in the process (the host's own
//! LibTorch or malloc use included), not one solver. Call them once, early, from one thread.
use crate::error::{check, Result};
use fwmerge_sys as sys;

/// LibTorch's intra-op thread count for the whole process (`fw_set_torch_threads`), `n >= 1`.
pub fn set_torch_threads(n: i32) -> Result<()> {
    crate::check_library_version()?;
    // SAFETY: plain call; the library checks n.
    check(unsafe { sys::fw_set_torch_threads(n) })
}

/// glibc's `M_MMAP_THRESHOLD` for the whole process (`fw_set_malloc_mmap_threshold`): allocations
/// of at least `bytes` get their own mapping and go back to the OS when freed. 1 MiB is
/// recommended for large merges; at most 32 MiB. `Status::Unsupported` where malloc is not glibc's.
pub fn set_malloc_mmap_threshold(bytes: u64) -> Result<()> {
    crate::check_library_version()?;
    // SAFETY: plain call; the library checks bytes.
    check(unsafe { sys::fw_set_malloc_mmap_threshold(bytes) })
}
