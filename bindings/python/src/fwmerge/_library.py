"""Loads the compiled module and refuses a library this binding was not built for.

A process holds one LibTorch: libfwmerge built against Debian's LibTorch and PyTorch's own
libtorch abort the interpreter when the second one loads. So before anything is loaded:
 - a package built against torch (the default where torch is installed) imports torch first, as
   PyTorch extensions do, and refuses a torch of another version than the one it was built for;
 - a package built against a LibTorch of its own refuses to load where torch is already imported,
   and afterwards turns `import torch` into an ImportError that says why, instead of a crash.
"""

from __future__ import annotations

import importlib.abc
import sys

from . import _build_info

__all__ = ["_fwmerge", "check_library_version", "check_torch"]

_REINSTALL = (
    "Reinstall fwmerge in this environment (pip install --force-reinstall ./bindings/python): "
    "where torch is installed it builds libfwmerge against that torch."
)


def check_torch(kind: str, built_for: str, loaded: "str | None") -> None:
    """Raises ImportError unless a package whose library uses LibTorch `built_for` (`kind`
    'torch': the torch package's own; 'system': a LibTorch of its own) can share the process with
    the torch `loaded` (its __version__, None when torch is not imported)."""
    if kind == "torch":
        if loaded != built_for:
            raise ImportError(
                f"fwmerge: this package's libfwmerge was built against torch {built_for}, but the "
                f"torch of this environment is {loaded}; one process holds one LibTorch. " + _REINSTALL
            )
    elif loaded is not None:
        raise ImportError(
            f"fwmerge: this package's libfwmerge uses its own LibTorch {built_for}, and torch "
            f"{loaded} is already imported; two LibTorch builds cannot share a process (the "
            "second one aborts it). " + _REINSTALL
        )


class _RefuseTorch(importlib.abc.MetaPathFinder):
    """Installed once a library with a LibTorch of its own is loaded: `import torch` would load a
    second LibTorch and end the process, so it raises an ImportError that says so instead."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 (importlib protocol)
        if fullname == "torch" or fullname.startswith("torch."):
            raise ImportError(
                f"torch cannot be imported here: fwmerge is loaded with its own LibTorch "
                f"{_build_info.LIBTORCH_VERSION}, and two LibTorch builds cannot share a process "
                "(the second one aborts it). " + _REINSTALL
            )
        return None


if _build_info.LIBTORCH_KIND == "torch":
    import torch as _torch  # loads libtorch (and its CUDA libraries) the way torch wants it

    check_torch("torch", _build_info.LIBTORCH_VERSION, _torch.__version__)
else:
    _torch_module = sys.modules.get("torch")
    check_torch(
        "system", _build_info.LIBTORCH_VERSION, getattr(_torch_module, "__version__", "(unknown)")
        if _torch_module is not None else None
    )

try:
    from . import _fwmerge
except ImportError as exc:  # the extension, or the libfwmerge it links to, did not load
    raise ImportError(
        f"fwmerge: cannot load the compiled module ({exc}). The binding links to "
        "libfwmerge.so.0: install the library, build the binding against it "
        "(CMAKE_PREFIX_PATH=<prefix> pip install ./bindings/python) and keep the library where it "
        "was found then, or name its folder in LD_LIBRARY_PATH."
    ) from exc


def _version_text(number: int) -> str:
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def check_library_version(library: int, header: int, path: str = "") -> None:
    """Raises ImportError unless a library of version number `library` can serve a binding built
    against the header version `header`: while the major version is 0 every minor release may
    change the ABI, so major and minor must match; a patch release only appends (functions,
    struct versions), so the library must be at least the header's patch level."""
    if library // 100 != header // 100 or library < header:
        where = f" ({path})" if path else ""
        raise ImportError(
            f"fwmerge: the loaded libfwmerge{where} is {_version_text(library)}, but this binding "
            f"was built against fwmerge.h {_version_text(header)}; it needs "
            f"{_version_text(header)} or a later {header // 10000}.{header // 100 % 100}.x. "
            "Rebuild the binding against the installed library (pip install ./bindings/python)."
        )


check_library_version(
    _fwmerge.fw_version_number(),
    _fwmerge.fwpy_header_version_number(),
    _fwmerge.fwpy_library_path(),
)

if _build_info.LIBTORCH_KIND != "torch" and not any(
    isinstance(f, _RefuseTorch) for f in sys.meta_path
):
    sys.meta_path.insert(0, _RefuseTorch())
