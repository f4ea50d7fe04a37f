#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test fwmerge (idempotent).
set -euo pipefail
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config  # toolchain
  libtorch-dev            # the tensor engine (LibTorch 1.13, CPU)
  nlohmann-json3-dev      # JSON: safetensors headers, index files, metadata
  libgtest-dev            # GoogleTest, the C++ test framework
  swig                    # Go and Java bindings
  bindgen libclang1-14 libclang-common-14-dev  # regenerates the Rust -sys declarations (check)
  openjdk-17-jdk-headless maven  # Java binding (on this machine image already; Debian's otherwise)
  clang-format            # formatting check
  abigail-tools           # abidw/abidiff: the ABI check against the previous release (tests/abi)
  clang libclang-rt-14-dev  # fuzzing: clang 14 and its libFuzzer/ASan/UBSan runtimes (scripts/fuzz.sh)
  libre2-dev              # linear-time matching of PEFT's rank/alpha patterns (no backtracking)
  libgloo-dev             # headers of the Gloo transport behind LibTorch's c10d (sharded solving)
  libssl-dev              # libcrypto: HMAC-SHA256 of the authenticated rendezvous store (sharded solving)
  libcli11-dev            # the fwmerge command line's argument parsing
  libyaml-cpp-dev         # mergekit YAML recipes (fwmerge merge)
  zlib1g-dev              # reads the gzip-compressed IDX files of Fashion-MNIST (demo)
  dataset-fashion-mnist   # real images for the demo, its tests and the benchmark
  python3-sklearn         # ships the 8x8 digits data set
  python3-venv python3-dev  # Python binding: its tests' venv (ensurepip) and Python.h
  gnuplot-nox             # plots of the real-data experiment
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The reference safetensors implementation is a test oracle.
# Installed for the python3 first on PATH (the one the test runs); Debian's own python3 needs pip
# from apt and --break-system-packages.
if ! python3 -c "import safetensors, numpy" 2>/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip
  python3 -m pip install -q safetensors numpy 2>/dev/null ||
    python3 -m pip install -q --break-system-packages safetensors numpy
fi
# The Python binding's CTest tests (bindings/python) make a venv of this python3 that sees pytest and
# scikit-build-core (the build backend, used without build isolation) from here.
if ! python3 -c "import pytest, scikit_build_core" 2>/dev/null; then
  python3 -m pip install -q pytest scikit-build-core 2>/dev/null ||
    python3 -m pip install -q --break-system-packages pytest scikit-build-core
fi
