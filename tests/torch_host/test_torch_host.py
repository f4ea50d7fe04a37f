"""fwmerge in a process that has PyTorch (issue: two LibTorch builds in one process abort it).

Run by tests/torch_host/run.sh in a venv with the pip torch, where `pip install ./bindings/python`
built libfwmerge against that torch:
 - `import torch; import fwmerge` and the reverse both work, in fresh interpreters, and the
   library reports the torch it runs on;
 - a PyTorch objective (autograd on tensors that share the solver's views) FW-merges the
   quadratic example's pool, and its export is byte-identical to the NumPy host's;
 - a C++ host that links the pip torch's LibTorch and libfwmerge does the same merge, with the
   same bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"


def run_python(code: str) -> str:
    """Runs `code` in a fresh interpreter of this venv; fails the test with its output unless it
    exits 0 (an abort from a LibTorch clash is a signal, not an exception)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize(
    "order", [("torch", "fwmerge"), ("fwmerge", "torch")], ids=["torch_first", "fwmerge_first"]
)
def test_both_import_orders_share_one_libtorch(order):
    out = run_python(
        f"import {order[0]}; import {order[1]}\n"
        "import fwmerge, torch\n"
        "x = torch.ones(3, requires_grad=True); (x * x).sum().backward()\n"
        "print(fwmerge.version(), fwmerge.libtorch_version(), torch.__version__, x.grad.tolist())\n"
    )
    version, libtorch, torch_version, grad = out.split(" ", 3)
    assert libtorch == torch_version, out
    assert grad.strip() == "[2.0, 2.0, 2.0]"


def test_the_library_lives_in_the_package_and_links_that_torch():
    out = run_python(
        "import fwmerge, torch, os\n"
        "lib = fwmerge._library._fwmerge.fwpy_library_path()\n"
        "print(os.path.realpath(lib)); print(os.path.dirname(torch.__file__))\n"
        "print(open('/proc/self/maps').read())\n"
    )
    lib, torch_dir, maps = out.split("\n", 2)
    assert Path(lib).parent == Path(fwmerge_package_dir()), lib
    # One libc10 and one libtorch_cpu in the process, both the torch package's.
    c10 = {line.split()[-1] for line in maps.splitlines() if "/libc10.so" in line}
    cpu = {line.split()[-1] for line in maps.splitlines() if "/libtorch_cpu.so" in line}
    assert c10 == {os.path.realpath(f"{torch_dir}/lib/libc10.so")}, c10
    assert cpu == {os.path.realpath(f"{torch_dir}/lib/libtorch_cpu.so")}, cpu


def test_the_distribution_requires_the_torch_it_was_built_against():
    out = run_python(
        "import importlib.metadata as m, torch\n"
        "print(m.requires('fwmerge')); print(torch.__version__.split('+')[0])\n"
    )
    requires, version = out.strip().split("\n")
    assert f"torch=={version}" in requires, requires


def fwmerge_package_dir() -> str:
    return run_python("import fwmerge, os; print(os.path.dirname(fwmerge.__file__))").strip()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pool")
    subprocess.run([sys.executable, str(Path(__file__).with_name("make_pool.py")), str(folder)],
                   check=True)
    return folder


def run_host(command: list[str], pool: Path, out: Path) -> str:
    done = subprocess.run(command + [str(pool), str(out)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def numpy_export(pool):
    out = pool.parent / "numpy.safetensors"
    lines = run_host([sys.executable, str(EXAMPLES / "quadratic.py")], pool, out)
    assert lines.count("step ") >= 2, lines
    return out, lines


def test_torch_objective_export_is_byte_identical_to_numpy_hosts(pool, numpy_export):
    out = pool.parent / "torch.safetensors"
    lines = run_host([sys.executable, str(EXAMPLES / "torch_quadratic.py")], pool, out)
    assert lines == numpy_export[1]
    assert out.read_bytes() == numpy_export[0].read_bytes()


def test_cpp_host_linking_pip_libtorch_and_libfwmerge(pool, numpy_export, tmp_path):
    """Builds tests/torch_host/torch_host.cpp against the pip torch's headers and libraries and
    the package's libfwmerge, as a C/C++ host with its own LibTorch would, and runs the merge."""
    torch_dir = run_python("import torch, os; print(os.path.dirname(torch.__file__))").strip()
    package = fwmerge_package_dir()
    libs = sorted(Path(package).glob("libfwmerge.so*"))
    assert libs, f"no libfwmerge in {package}"
    exe = tmp_path / "torch_host"
    compile_cmd = [
        os.environ.get("CXX", "g++"), "-std=c++20", "-O1", "-o", str(exe),
        str(Path(__file__).with_name("torch_host.cpp")),
        f"-I{package}/include",  # the header the package ships beside its library
        "-isystem", f"{torch_dir}/include",
        "-isystem", f"{torch_dir}/include/torch/csrc/api/include",
        str(libs[0]), f"-L{torch_dir}/lib", "-ltorch", "-ltorch_cpu", "-lc10",
        f"-Wl,-rpath,{torch_dir}/lib", f"-Wl,-rpath,{package}",
    ]
    built = subprocess.run(compile_cmd, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "cpp.safetensors"
    done = subprocess.run([str(exe), str(pool), str(out)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "host LibTorch" in done.stderr
    assert done.stdout == numpy_export[1]
    assert out.read_bytes() == numpy_export[0].read_bytes()
