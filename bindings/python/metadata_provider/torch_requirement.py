"""scikit-build-core metadata provider (pyproject.toml): the package's dependencies.

numpy always; where the package is built against the torch of its environment (ext/CMakeLists.txt
decides it the same way: torch installed there, unless FWMERGE_LIBTORCH=system), also that exact
torch version, as PyTorch extensions pin theirs: libfwmerge then links that torch's libraries, and
another torch version would be another LibTorch ABI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

_FIND_TORCH = (
    "import importlib.util as u; s = u.find_spec('torch'); "
    "print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"
)


def torch_of_environment() -> str:
    """The version of the target environment's torch ('' without one), read from its
    version.py without importing it. -E, as in cmake/FwTorchOfPython.cmake: pip's build
    isolation hides the target environment behind PYTHONPATH."""
    found = subprocess.run(
        [sys.executable, "-E", "-c", _FIND_TORCH], capture_output=True, text=True, check=False
    )
    folder = found.stdout.strip() if found.returncode == 0 else ""
    version_py = Path(folder, "version.py") if folder else None
    if version_py is None or not version_py.is_file():
        return ""
    match = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", version_py.read_text(), re.M)
    return match.group(1) if match else ""


def dynamic_metadata(field: str, settings: dict) -> list[str]:
    if field != "dependencies":
        raise RuntimeError(f"torch_requirement provides 'dependencies', not {field!r}")
    requirements = ["numpy>=1.22"]
    wanted = os.environ.get("FWMERGE_LIBTORCH", "")
    torch = torch_of_environment()
    if torch and wanted != "system":
        # "2.15.0+cu132" -> torch==2.15.0: a local label is matched by the public version.
        requirements.append(f"torch=={torch.split('+')[0]}")
    return requirements
