#!/usr/bin/env bash
# fwmerge beside PyTorch, as a Python user installs it: a venv with the pip torch
# (tests/torch_host/requirements.txt; kept in FWMERGE_TORCH_VENV, default
# ~/.cache/fwmerge/torch-venv, and made again only when that file changes), then
#   pip install ./bindings/python
# which builds libfwmerge against that torch (the package's default where torch is installed),
# then the torch host tests (test_torch_host.py: both import orders, a PyTorch objective's export
# byte-identical to the NumPy host's, a C++ host linking the pip LibTorch and libfwmerge) and the
# binding's own suite on that build. scripts/test.sh runs it after the CTest suite (SKIP_TORCH=1
# leaves it out). TORCH_HOST_BUILD_DIR (default build-torch-host) keeps the package's CMake build,
# so a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=${FWMERGE_TORCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fwmerge/torch-venv}
requirements=tests/torch_host/requirements.txt
build=$(realpath -m "${TORCH_HOST_BUILD_DIR:-build-torch-host}")

if ! cmp -s "$requirements" "$venv/.fwmerge-requirements" 2>/dev/null; then
  echo "torch host: making $venv (pip torch, ~5 GB with its CUDA libraries; cached)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q -r "$requirements"
  cp "$requirements" "$venv/.fwmerge-requirements"
fi
"$venv/bin/python" -c "import torch; print('torch host: torch', torch.__version__)"

# The user's command. The package's CMake build is kept in $build/pip between runs.
mkdir -p "$build"
"$venv/bin/python" -m pip install -q -C "build-dir=$build/pip" ./bindings/python

# From outside the source tree, no bytecode written into it.
cd "$build"
export PYTHONDONTWRITEBYTECODE=1
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/tests/torch_host" \
  "$root/bindings/python/tests"
