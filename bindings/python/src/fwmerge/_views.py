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


def save_entry(name: str, value: Any) -> Tuple[str, int, Tuple[int, ...], np.ndarray]:
    """(name, dtype, shape, bytes) of a host array for fw_save_tensors: float32, float16 and
    bfloat16 (ml_dtypes / NumPy-compatible) are written as they are, float64 as float32."""
    a = np.asarray(value)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.dtype.name == "bfloat16":
        dtype = Dtype.BF16
    elif a.dtype == np.float16:
        dtype = Dtype.F16
    elif a.dtype == np.float32:
        dtype = Dtype.F32
    else:
        raise TypeError(
            f"tensor {name}: dtype {a.dtype} is not float32, float16, bfloat16 or float64"
        )
    a = np.asarray(a, order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
    return (name, int(dtype), tuple(int(d) for d in a.shape), a.reshape(-1).view(np.uint8))
