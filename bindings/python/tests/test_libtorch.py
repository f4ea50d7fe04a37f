"""Which LibTorch the package's library uses, and its refusals where two would meet in one
process (the second LibTorch loaded aborts the interpreter, so the package must refuse first)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fwmerge
from fwmerge import _build_info
from fwmerge._library import check_torch


def test_libtorch_version_is_the_one_the_package_was_built_against():
    assert fwmerge.libtorch_version() == _build_info.LIBTORCH_VERSION
    assert fwmerge.libtorch_version()[0].isdigit()


def test_a_torch_build_refuses_another_torch_version():
    check_torch("torch", "2.15.0+cu132", "2.15.0+cu132")
    with pytest.raises(ImportError, match=r"built against torch 2\.15\.0\+cu132.*is 2\.16\.0"):
        check_torch("torch", "2.15.0+cu132", "2.16.0")


def test_a_system_build_refuses_an_imported_torch():
    check_torch("system", "1.13.0", None)
    with pytest.raises(ImportError, match=r"own LibTorch 1\.13\.0, and torch 2\.15\.0 is already"):
        check_torch("system", "1.13.0", "2.15.0")


@pytest.mark.skipif(_build_info.LIBTORCH_KIND != "system", reason="a torch build imports torch")
def test_a_system_build_turns_import_torch_into_an_import_error():
    """In a fresh interpreter: after `import fwmerge`, `import torch` (installed or not) raises an
    ImportError that names the clash, and the interpreter lives on."""
    code = (
        "import fwmerge\n"
        "try:\n"
        "    import torch\n"
        "except ImportError as e:\n"
        "    print('refused:', e)\n"
        "print('alive', fwmerge.version())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "refused: torch cannot be imported here" in done.stdout
    assert "two LibTorch builds cannot share a process" in done.stdout
    assert f"alive {fwmerge.version()}" in done.stdout
