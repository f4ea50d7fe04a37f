"""Reading a checkpoint's tensors back (fw_load_tensors, 0.3.1) into NumPy arrays."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from ._library import _fwmerge

# safetensors dtype -> NumPy dtype. NumPy has no bfloat16: BF16 comes as uint16 bit patterns
# (`(a.astype(np.uint32) << 16).view(np.float32)` reads them), as solver views do.
_NUMPY_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "BF16": np.uint16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


@dataclass(frozen=True)
class LoadedTensor:
    """One tensor of a TensorSet: `dtype` is the safetensors dtype string ("F32", "I64", "BF16",
    "F8_E4M3", ...), `nbytes` its size in the file, `array` a NumPy copy of its data (None when
    only the headers were read)."""

    name: str
    dtype: str
    shape: Tuple[int, ...]
    nbytes: int
    array: Optional[np.ndarray]


class TensorSet(Mapping[str, Optional[np.ndarray]]):
    """What load_tensors read: a mapping name -> array (None with header_only) in checkpoint
    order, `.info` (LoadedTensor per tensor, same order) and `.metadata` (the __metadata__ dict,
    sorted by key). Everything is a Python-owned copy: the library's set is freed at load."""

    def __init__(self, info: List[LoadedTensor], metadata: Dict[str, str]):
        self.info = info
        self.metadata = metadata
        self._arrays = {t.name: t.array for t in info}

    def __getitem__(self, name: str) -> Optional[np.ndarray]:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        inner = ", ".join(f"{t.name}: {t.dtype}{list(t.shape)}" for t in self.info)
        return f"TensorSet({inner})"


def load_tensors(path: Any, header_only: bool = False) -> TensorSet:
    """Reads a .safetensors file, Hugging Face folder or PEFT adapter folder (fw_load_tensors),
    validated as the solver validates its inputs. Integer dtypes become NumPy integer arrays, BOOL
    bool, BF16 uint16 bit patterns. header_only: names, dtypes, shapes, sizes and metadata only
    (any dtype; arrays are None). Failures raise fwmerge.Error (Status.IO, Status.FORMAT, ...)."""
    handle = _fwmerge.fw_load_tensors(path, _fwmerge.FW_LOAD_FLAG_HEADER_ONLY if header_only else 0)
    try:
        info = []
        for i in range(_fwmerge.fw_tensor_set_count(handle)):
            name, _, shape, address = _fwmerge.fw_tensor_set_get(handle, i)
            dtype = _fwmerge.fw_tensor_set_dtype_name(handle, i)
            nbytes = _fwmerge.fw_tensor_set_nbytes(handle, i)
            array = None
            if address is not None:
                raw = (ctypes.c_char * nbytes).from_address(address) if nbytes else b""
                array = np.frombuffer(raw, dtype=np.dtype(_NUMPY_DTYPES[dtype]).newbyteorder("<"))
                array = array.reshape(shape).copy()  # own the bytes: the set is freed below
            info.append(LoadedTensor(name, dtype, tuple(shape), nbytes, array))
        metadata = dict(
            _fwmerge.fw_tensor_set_metadata(handle, i)
            for i in range(_fwmerge.fw_tensor_set_metadata_count(handle))
        )
    finally:
        _fwmerge.fw_tensor_set_free(handle)
    return TensorSet(info, metadata)
