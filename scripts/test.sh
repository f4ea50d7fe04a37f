#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds everything
# (library, tests, examples, benchmarks, bindings) and runs every test through CTest: C++ (GoogleTest),
# C, Python oracle, Go, Java, Rust, the format check and a short fuzzing pass (fuzz_short: 15 s per
# libFuzzer target). Then the torch host tests (tests/torch_host/run.sh: the Python package built
# against a pip torch, in one process with it; SKIP_TORCH=1 leaves them out). Then the sanitizer
# run (scripts/sanitize.sh): the library and the C++/C tests again, built with ASan + UBSan.
# SKIP_SANITIZE=1 leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 1500

# fwmerge beside PyTorch: a venv with the pip torch (cached), `pip install ./bindings/python`
# built against that torch, the torch host tests and the binding's suite on that build.
if [ "${SKIP_TORCH:-0}" != 1 ]; then
  bash tests/torch_host/run.sh
fi

# A second build (build-asan) with AddressSanitizer + UndefinedBehaviorSanitizer, and its tests.
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  bash scripts/sanitize.sh
fi
