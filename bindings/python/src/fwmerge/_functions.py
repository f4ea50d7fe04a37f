"""Module-level calls: data-free merging, writing tensors, version and process-wide settings."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from . import _views
from ._enums import Dtype
from ._library import _fwmerge
from ._types import ExportOptions, MergeParams


def version() -> str:
    """The loaded library's version string ("0.5.0")."""
    return _fwmerge.fw_version()


def libtorch_version() -> str:
    """The LibTorch the loaded library was built against and uses ("2.15.0+cu132" for a pip
    torch, "1.13.0" for Debian's libtorch-dev): fw_libtorch_version."""
    return _fwmerge.fw_libtorch_version()


def merge(
    params: MergeParams,
    base: Any,
    pool: Sequence[Any],
    out: Any,
    options: Optional[ExportOptions] = None,
    *,
    abort: Optional[Callable[[], bool]] = None,
) -> None:
    """Merges the pool members against the base with a data-free method (fw_merge) and writes
    the result to `out` like Solver.export does (atomically, one file or shards, the recipe in
    the metadata). `abort` is polled before each tensor (it may read a flag another thread
    sets); a true result stops the merge with Error(Status.ABORTED) and writes nothing."""
    options = options or ExportOptions()
    _fwmerge.fwpy_merge(
        params._to_raw(),
        params._arrays(),
        abort,
        base,
        list(pool),
        out,
        options._to_raw(),
        options.model_card,
    )


def save_tensors(
    path: Any,
    tensors: Mapping[str, Any],
    dtype: Dtype = Dtype.DEFAULT,
    metadata: Optional[Mapping[str, str]] = None,
) -> None:
    """Writes {name: array} (in that order) as one .safetensors file, atomically, with `metadata`
    in __metadata__. Floating arrays are converted to `dtype` (Dtype.DEFAULT: each array's own
    float32/float16/bfloat16; float64 is written as float32); integer (int8..int64,
    uint8..uint64) and bool arrays are written as they are whatever `dtype` says (labels of a
    calibration file, e.g.)."""
    entries = [_views.save_entry(name, value) for name, value in tensors.items()]
    kv = None if not metadata else [s for pair in metadata.items() for s in pair]
    _fwmerge.fwpy_save_tensors(path, entries, int(dtype), kv)


def set_torch_threads(n: int) -> None:
    """LibTorch's intra-op thread count for the whole process (fw_set_torch_threads)."""
    _fwmerge.fw_set_torch_threads(n)


def set_malloc_mmap_threshold(nbytes: int) -> None:
    """glibc's M_MMAP_THRESHOLD for the whole process (fw_set_malloc_mmap_threshold)."""
    _fwmerge.fw_set_malloc_mmap_threshold(nbytes)
