#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test fwmerge (idempotent).
set -euo pipefail
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config  # toolchain
  libtorch-dev            # the tensor engine (LibTorch 1.13, CPU)
  nlohmann-json3-dev      # JSON: safetensors headers, index files, metadata
  libgtest-dev            # GoogleTest, the C++ test framework
  swig                    # Go and Java bindings
  bindgen                 # regenerates the Rust -sys declarations (check only)
  clang-format            # formatting check
  dataset-fashion-mnist   # real images for the demo, its tests and the benchmark
  python3-sklearn         # ships the 8x8 digits data set
  gnuplot-nox             # plots of the real-data experiment
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The reference safetensors implementation is a test oracle.
python3 -c "import safetensors, numpy" 2>/dev/null || python3 -m pip install -q safetensors numpy
