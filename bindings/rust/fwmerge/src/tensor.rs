//! Zero-copy views of the library's fp32 tensors, and writing host tensors (any storage dtype) to
//! .safetensors.
use crate::error::{check, Error, Result};
use crate::params::Dtype;
use crate::path::{c_path, c_string};
use fwmerge_sys as sys;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::Path;

/// A read-only fp32 tensor: a view of library memory (current point, callback parameters), or of
/// host memory (input to [`save_tensors`]). Row-major, contiguous.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorView<'a> {
    pub name: &'a str,
    pub shape: &'a [i64],
    pub data: &'a [f32],
}

/// A writable fp32 gradient tensor owned by the library, zero-filled before each callback.
#[derive(Debug, PartialEq)]
pub struct GradView<'a> {
    pub name: &'a str,
    pub shape: &'a [i64],
    pub data: &'a mut [f32],
}

/// Name, shape and element count of a raw fp32 tensor, after checking what the views rely on.
///
/// # Safety
/// `t` must describe a live tensor as documented in fwmerge.h, for at least `'a`.
unsafe fn parts<'a>(t: &sys::fw_tensor) -> Result<(&'a str, &'a [i64], usize)> {
    if t.dtype != sys::FW_DTYPE_F32 {
        return Err(Error::new(
            crate::Status::Internal,
            format!("expected an fp32 view, got dtype {}", t.dtype),
        ));
    }
    if t.device != sys::FW_DEVICE_TYPE_CPU {
        return Err(Error::new(
            crate::Status::Unsupported,
            "expected a view in host memory (use FW_DEVICE_TYPE_CPU or host_views)",
        ));
    }
    if t.ndim < 0 || t.numel < 0 || (t.ndim > 0 && t.shape.is_null()) || t.name.is_null() {
        return Err(Error::new(crate::Status::Internal, "malformed tensor view"));
    }
    let name = CStr::from_ptr(t.name)
        .to_str()
        .map_err(|_| Error::new(crate::Status::Format, "tensor name is not UTF-8"))?;
    let shape = if t.ndim == 0 {
        &[][..]
    } else {
        std::slice::from_raw_parts(t.shape, t.ndim as usize)
    };
    let numel = t.numel as usize;
    if numel > 0 && t.data.is_null() {
        return Err(Error::new(
            crate::Status::Internal,
            "tensor view without data",
        ));
    }
    Ok((name, shape, numel))
}

/// # Safety
/// As [`parts`]; the data must not be written while the view lives.
pub(crate) unsafe fn tensor_view<'a>(t: &sys::fw_tensor) -> Result<TensorView<'a>> {
    let (name, shape, numel) = parts(t)?;
    let data = if numel == 0 {
        &[][..]
    } else {
        std::slice::from_raw_parts(t.data as *const f32, numel)
    };
    Ok(TensorView { name, shape, data })
}

/// # Safety
/// As [`parts`]; nothing else may access the data while the view lives.
pub(crate) unsafe fn grad_view<'a>(t: &sys::fw_tensor) -> Result<GradView<'a>> {
    let (name, shape, numel) = parts(t)?;
    let data = if numel == 0 {
        &mut [][..]
    } else {
        std::slice::from_raw_parts_mut(t.data as *mut f32, numel)
    };
    Ok(GradView { name, shape, data })
}

/// # Safety
/// `ptr` points to `n` tensors valid for `'a` (or `n == 0`).
pub(crate) unsafe fn tensor_views<'a>(
    ptr: *const sys::fw_tensor,
    n: usize,
) -> Result<Vec<TensorView<'a>>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    std::slice::from_raw_parts(ptr, n)
        .iter()
        .map(|t| tensor_view(t))
        .collect()
}

/// # Safety
/// `ptr` points to `n` writable tensors valid for `'a`, or is NULL (no gradient wanted).
pub(crate) unsafe fn grad_views<'a>(
    ptr: *mut sys::fw_tensor,
    n: usize,
) -> Result<Vec<GradView<'a>>> {
    if ptr.is_null() || n == 0 {
        return Ok(Vec::new());
    }
    std::slice::from_raw_parts(ptr, n)
        .iter()
        .map(|t| grad_view(t))
        .collect()
}

impl TensorView<'_> {
    /// Number of elements (product of the shape; 1 for rank 0).
    pub fn numel(&self) -> usize {
        self.data.len()
    }
}

/// The elements of a host tensor passed to [`save_tensors`], typed by its storage dtype
/// (`fw_dtype`): little-endian in memory, as the file stores them. F16 and BF16 are the raw
/// 16-bit patterns (IEEE 754 binary16 / bfloat16 bits); `Bool` is one byte per element, 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TensorData<'a> {
    F32(&'a [f32]),
    F16(&'a [u16]),
    BF16(&'a [u16]),
    F64(&'a [f64]),
    I64(&'a [i64]),
    I32(&'a [i32]),
    I16(&'a [i16]),
    I8(&'a [i8]),
    U8(&'a [u8]),
    Bool(&'a [bool]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
}

impl TensorData<'_> {
    /// The element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            TensorData::F32(_) => Dtype::F32,
            TensorData::F16(_) => Dtype::F16,
            TensorData::BF16(_) => Dtype::BF16,
            TensorData::F64(_) => Dtype::F64,
            TensorData::I64(_) => Dtype::I64,
            TensorData::I32(_) => Dtype::I32,
            TensorData::I16(_) => Dtype::I16,
            TensorData::I8(_) => Dtype::I8,
            TensorData::U8(_) => Dtype::U8,
            TensorData::Bool(_) => Dtype::Bool,
            TensorData::U16(_) => Dtype::U16,
            TensorData::U32(_) => Dtype::U32,
            TensorData::U64(_) => Dtype::U64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.parts().1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Address and element count (every variant is a slice of plain values).
    fn parts(&self) -> (*const std::os::raw::c_void, usize) {
        fn p<T>(s: &[T]) -> (*const std::os::raw::c_void, usize) {
            (s.as_ptr() as *const std::os::raw::c_void, s.len())
        }
        match self {
            TensorData::F32(s) => p(s),
            TensorData::F16(s) | TensorData::BF16(s) | TensorData::U16(s) => p(s),
            TensorData::F64(s) => p(s),
            TensorData::I64(s) => p(s),
            TensorData::I32(s) => p(s),
            TensorData::I16(s) => p(s),
            TensorData::I8(s) => p(s),
            TensorData::U8(s) => p(s),
            TensorData::Bool(s) => p(s),
            TensorData::U32(s) => p(s),
            TensorData::U64(s) => p(s),
        }
    }
}

macro_rules! tensor_data_from {
    ($($t:ty => $variant:ident),+ $(,)?) => {
        $(impl<'a> From<&'a [$t]> for TensorData<'a> {
            fn from(s: &'a [$t]) -> TensorData<'a> {
                TensorData::$variant(s)
            }
        })+
    };
}
// u16 is U16: F16 and BF16 bits are named explicitly.
tensor_data_from!(f32 => F32, f64 => F64, i64 => I64, i32 => I32, i16 => I16, i8 => I8, u8 => U8,
                  bool => Bool, u16 => U16, u32 => U32, u64 => U64);

/// A host tensor of any storage dtype, for [`save_tensors`]. Row-major, contiguous.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostTensor<'a> {
    pub name: &'a str,
    pub shape: &'a [i64],
    pub data: TensorData<'a>,
}

impl<'a> HostTensor<'a> {
    pub fn new(name: &'a str, shape: &'a [i64], data: impl Into<TensorData<'a>>) -> HostTensor<'a> {
        HostTensor {
            name,
            shape,
            data: data.into(),
        }
    }
}

impl<'a> From<TensorView<'a>> for HostTensor<'a> {
    fn from(t: TensorView<'a>) -> HostTensor<'a> {
        HostTensor {
            name: t.name,
            shape: t.shape,
            data: TensorData::F32(t.data),
        }
    }
}

/// Writes host tensors as one .safetensors file (atomically), with `metadata` as (key, value)
/// pairs in `__metadata__`. `tensors` are [`HostTensor`]s of any dtype, or fp32 [`TensorView`]s.
/// Floating tensors (F32, F16, BF16, F64) are converted to `dtype` when it is F32, F16 or BF16
/// (`Dtype::Default`: each tensor's own dtype); integer and Bool tensors are written as they are
/// whatever `dtype` says.
pub fn save_tensors<'t, T: Copy + Into<HostTensor<'t>>>(
    path: impl AsRef<Path>,
    tensors: &[T],
    dtype: Dtype,
    metadata: &[(&str, &str)],
) -> Result<()> {
    crate::check_library_version()?;
    let c_path = c_path(path.as_ref())?;
    let tensors: Vec<HostTensor<'t>> = tensors.iter().map(|&t| t.into()).collect();
    let names: Vec<CString> = tensors
        .iter()
        .map(|t| c_string(t.name, "tensor name"))
        .collect::<Result<_>>()?;
    let mut raw = Vec::with_capacity(tensors.len());
    for (t, name) in tensors.iter().zip(&names) {
        // The library trusts numel and the shape to size its reads: check them here.
        let mut numel: i64 = 1;
        for &d in t.shape {
            if d < 0 {
                return Err(Error::invalid(format!(
                    "tensor {}: negative dimension {d}",
                    t.name
                )));
            }
            numel = numel.checked_mul(d).ok_or_else(|| {
                Error::invalid(format!("tensor {}: shape {:?} overflows", t.name, t.shape))
            })?;
        }
        let (data, len) = t.data.parts();
        if numel as u64 != len as u64 {
            return Err(Error::invalid(format!(
                "tensor {}: shape {:?} has {numel} elements but data has {len}",
                t.name, t.shape,
            )));
        }
        let ndim = i32::try_from(t.shape.len())
            .map_err(|_| Error::invalid(format!("tensor {}: too many dimensions", t.name)))?;
        raw.push(sys::fw_tensor {
            name: name.as_ptr(),
            dtype: t.data.dtype().raw(),
            ndim,
            shape: t.shape.as_ptr(),
            numel,
            // fw_save_tensors only reads the data.
            data: data as *mut std::os::raw::c_void,
            device: sys::FW_DEVICE_TYPE_CPU,
            device_index: 0,
            reserved: [0; 4],
        });
    }
    let kv: Vec<CString> = metadata
        .iter()
        .flat_map(|(k, v)| [c_string(k, "metadata key"), c_string(v, "metadata value")])
        .collect::<Result<_>>()?;
    let kv_ptrs: Vec<*const c_char> = kv.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: every pointer refers to memory that outlives the call; counts match the arrays.
    check(unsafe {
        sys::fw_save_tensors(
            c_path.as_ptr(),
            if raw.is_empty() {
                std::ptr::null()
            } else {
                raw.as_ptr()
            },
            raw.len(),
            dtype.raw(),
            if kv_ptrs.is_empty() {
                std::ptr::null()
            } else {
                kv_ptrs.as_ptr()
            },
            metadata.len(),
        )
    })
}
