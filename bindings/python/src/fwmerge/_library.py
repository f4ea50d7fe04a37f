"""Loads the compiled module and refuses a library this binding was not built for."""

from __future__ import annotations

__all__ = ["_fwmerge", "check_library_version"]

try:
    from . import _fwmerge
except ImportError as exc:  # the extension, or the libfwmerge it links to, did not load
    raise ImportError(
        f"fwmerge: cannot load the compiled module ({exc}). The binding links to "
        "libfwmerge.so.0.3: install the library, build the binding against it "
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
