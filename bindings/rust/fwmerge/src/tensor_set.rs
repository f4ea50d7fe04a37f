//! Reading a checkpoint's tensors back into host memory (fw_load_tensors): any dtype, as the raw
//! little-endian bytes of the file, or only the headers.
use crate::error::{check, Error, Result};
use crate::path::c_path;
use fwmerge_sys as sys;
use std::ffi::CStr;
use std::path::Path;
use std::ptr::NonNull;

/// The tensors of a .safetensors file, Hugging Face folder or PEFT adapter folder, validated as
/// the solver validates its inputs. Owns the memory its [`LoadedTensor`] views borrow.
#[derive(Debug)]
pub struct TensorSet {
    raw: NonNull<sys::fw_tensor_set>,
}

// SAFETY: the set is immutable after loading; the library keeps no thread affinity for it.
unsafe impl Send for TensorSet {}
unsafe impl Sync for TensorSet {}

/// One tensor of a [`TensorSet`]. `bytes` is `None` when only the headers were read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadedTensor<'a> {
    pub name: &'a str,
    /// The safetensors dtype string ("BF16", "I64", "F8_E4M3", ...).
    pub dtype: &'a str,
    pub shape: &'a [i64],
    pub nbytes: u64,
    pub bytes: Option<&'a [u8]>,
}

impl LoadedTensor<'_> {
    /// The elements of an F32 tensor (as Go's `Float32s()` and Java's `toFloats()`): copied out of
    /// the file's little-endian bytes, so they outlive the set. `InvalidArgument` for another dtype
    /// or a header-only read.
    pub fn to_f32s(&self) -> Result<Vec<f32>> {
        Ok(self.elements::<4>("F32")?.map(f32::from_le_bytes).collect())
    }

    /// The elements of an I64 tensor (Go's `Int64s()`, Java's `toLongs()`); errors as `to_f32s`.
    pub fn to_i64s(&self) -> Result<Vec<i64>> {
        Ok(self.elements::<8>("I64")?.map(i64::from_le_bytes).collect())
    }

    // The bytes are not aligned for the element type (the header before them has any length), so
    // each element is read from its own N bytes rather than through a cast slice.
    fn elements<const N: usize>(&self, dtype: &str) -> Result<impl Iterator<Item = [u8; N]> + '_> {
        match self.bytes {
            Some(bytes) if self.dtype == dtype => Ok(bytes
                .chunks_exact(N)
                .map(|c| c.try_into().expect("chunks_exact yields N bytes"))),
            bytes => Err(Error::invalid(format!(
                "tensor {:?} is {} (data loaded: {}), not {dtype}",
                self.name,
                self.dtype,
                bytes.is_some()
            ))),
        }
    }
}

impl TensorSet {
    /// Reads `path` with every tensor's bytes (`header_only`: names, dtypes, shapes, sizes and
    /// metadata only, any dtype).
    pub fn load(path: impl AsRef<Path>, header_only: bool) -> Result<TensorSet> {
        crate::check_library_version()?;
        let c = c_path(path.as_ref())?;
        let flags = if header_only {
            sys::FW_LOAD_FLAG_HEADER_ONLY
        } else {
            0
        };
        let mut raw = std::ptr::null_mut();
        // SAFETY: c is NUL-terminated; raw receives an owned set or NULL.
        check(unsafe { sys::fw_load_tensors(c.as_ptr(), flags as u32, &mut raw) })?;
        NonNull::new(raw)
            .map(|raw| TensorSet { raw })
            .ok_or_else(|| Error::new(crate::Status::Internal, "fw_load_tensors returned NULL"))
    }

    pub fn len(&self) -> usize {
        // SAFETY: self.raw is a live set.
        unsafe { sys::fw_tensor_set_count(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tensor `i` in checkpoint order, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<LoadedTensor<'_>> {
        let mut t = std::mem::MaybeUninit::<sys::fw_tensor>::zeroed();
        // SAFETY: self.raw is live; t is written on FW_OK.
        if unsafe { sys::fw_tensor_set_get(self.raw.as_ptr(), i, t.as_mut_ptr()) } != sys::FW_OK {
            return None;
        }
        // SAFETY: FW_OK filled t; its pointers live as long as the set (borrowed by 'self).
        let t = unsafe { t.assume_init() };
        unsafe {
            let name = CStr::from_ptr(t.name).to_str().unwrap_or("");
            let dtype_ptr = sys::fw_tensor_set_dtype_name(self.raw.as_ptr(), i);
            let dtype = CStr::from_ptr(dtype_ptr).to_str().unwrap_or("");
            let shape = if t.ndim == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(t.shape, t.ndim as usize)
            };
            let nbytes = sys::fw_tensor_set_nbytes(self.raw.as_ptr(), i);
            let bytes = if t.data.is_null() {
                None
            } else {
                Some(std::slice::from_raw_parts(
                    t.data as *const u8,
                    nbytes as usize,
                ))
            };
            Some(LoadedTensor {
                name,
                dtype,
                shape,
                nbytes,
                bytes,
            })
        }
    }

    /// Every tensor in checkpoint order.
    pub fn iter(&self) -> impl Iterator<Item = LoadedTensor<'_>> {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// The `__metadata__` entries, sorted by key.
    pub fn metadata(&self) -> Vec<(&str, &str)> {
        // SAFETY: self.raw is live; the strings live as long as the set.
        let n = unsafe { sys::fw_tensor_set_metadata_count(self.raw.as_ptr()) };
        (0..n)
            .filter_map(|i| unsafe {
                let (mut k, mut v) = (std::ptr::null(), std::ptr::null());
                if sys::fw_tensor_set_metadata(self.raw.as_ptr(), i, &mut k, &mut v) != sys::FW_OK {
                    return None;
                }
                Some((
                    CStr::from_ptr(k).to_str().unwrap_or(""),
                    CStr::from_ptr(v).to_str().unwrap_or(""),
                ))
            })
            .collect()
    }
}

impl Drop for TensorSet {
    fn drop(&mut self) {
        // SAFETY: the set is owned and freed once.
        unsafe { sys::fw_tensor_set_free(self.raw.as_ptr()) }
    }
}
