"""NumPy arrays over the library's memory (no copies).

The compiled module hands out each tensor as (name, dtype, shape, device, device_index, data),
data being a memoryview of the library's bytes; np.frombuffer wraps it without copying.
Parameter views are read-only arrays, gradient views writable ones. They are only valid as long
as the library says (see README.md, "View lifetimes"): an array kept past that reads freed memory.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._enums import DeviceType, Dtype, Status
from ._errors import Error

#: NumPy has no bfloat16: BF16 tensors are shown as their raw uint16 bit patterns.
_NUMPY_DTYPES: Dict[int, np.dtype[Any]] = {
    Dtype.F32: np.dtype(np.float32),
    Dtype.F16: np.dtype(np.float16),
    Dtype.BF16: np.dtype(np.uint16),
}

Views = Dict[str, np.ndarray]


def array(raw: Any) -> np.ndarray:
    name, dtype, shape, device, _device_index, data = raw
    if device != DeviceType.CPU:
        raise Error(
            Status.UNSUPPORTED,
            f"tensor {name}: the view is in CUDA memory, which NumPy cannot address; "
            "use Params(host_views=True) for host views of a CUDA solver",
        )
    return np.frombuffer(data, dtype=_NUMPY_DTYPES[dtype]).reshape(shape)


def views(raw: Optional[List[Any]]) -> Optional[Views]:
    """{name: array} in base order, or None for None (a loss-only evaluation's gradients)."""
    if raw is None:
        return None
    return {item[0]: array(item) for item in raw}


#: NumPy dtypes save_tensors writes as they are (fw_save_tensors stores integer and BOOL tensors
#: unconverted, whatever its dtype argument says).
_SAVED_AS_IS: Dict[str, Dtype] = {
    "float32": Dtype.F32,
    "float16": Dtype.F16,
    "bfloat16": Dtype.BF16,
    "int64": Dtype.I64,
    "int32": Dtype.I32,
    "int16": Dtype.I16,
    "int8": Dtype.I8,
    "uint8": Dtype.U8,
    "bool": Dtype.BOOL,
    "uint16": Dtype.U16,
    "uint32": Dtype.U32,
    "uint64": Dtype.U64,
}


def save_entry(name: str, value: Any) -> Tuple[str, int, Tuple[int, ...], np.ndarray]:
    """(name, dtype, shape, bytes) of a host array for fw_save_tensors: float32, float16,
    bfloat16 (ml_dtypes / NumPy-compatible), the integer types and bool are written as they are,
    float64 as float32 (the dtype the solver and the merges take)."""
    a = np.asarray(value)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    dtype = _SAVED_AS_IS.get(a.dtype.name)
    if dtype is None:
        raise TypeError(
            f"tensor {name}: dtype {a.dtype} is not float32, float16, bfloat16, float64, "
            "an integer type (int8..int64, uint8..uint64) or bool"
        )
    if a.dtype.byteorder == ">":  # the file is little-endian
        a = a.astype(a.dtype.newbyteorder("<"))
    a = np.asarray(a, order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
    return (name, int(dtype), tuple(int(d) for d in a.shape), a.reshape(-1).view(np.uint8))
