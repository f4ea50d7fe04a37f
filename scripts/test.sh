#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds everything
# (library, tests, examples, benchmarks, bindings) and runs every test through CTest: C++ (GoogleTest),
# C, Python oracle, Go, Java, Rust, and the format check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 1500
