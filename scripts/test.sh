#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds everything
# (library, tests, examples, benchmarks, bindings) and runs every test through CTest: C++ (GoogleTest),
# C, Python oracle, Go, Java, Rust, the format check and a short fuzzing pass (fuzz_short: 15 s per
# libFuzzer target). Then the sanitizer run (scripts/sanitize.sh): the library and the C++/C tests
# again, built with ASan + UBSan. SKIP_SANITIZE=1 leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 1500

# A second build (build-asan) with AddressSanitizer + UndefinedBehaviorSanitizer, and its tests.
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  bash scripts/sanitize.sh
fi
