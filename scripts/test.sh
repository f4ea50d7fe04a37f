#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds everything
# (library, tests, examples, benchmarks, bindings) and runs every test through CTest: C++ (GoogleTest),
# C, Python oracle, Go, Java, Rust, and the format check. Then a short fuzzing pass
# (scripts/fuzz.sh) and the sanitizer run (scripts/sanitize.sh): the library and the C++/C tests
# again, built with ASan + UBSan. FUZZ_SECONDS=0 / SKIP_SANITIZE=1 leave them out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 1500

# A separate step after the test suite: the libFuzzer harnesses (tests/fuzz) built with clang in
# build-fuzz/ and run FUZZ_SECONDS (15) seconds each from the committed seed corpora; fails on any
# crash or sanitizer report. About 2 minutes on 2 cores, build included. FUZZ_SECONDS=0 skips it.
FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
if ((FUZZ_SECONDS > 0)); then
  bash scripts/fuzz.sh "$FUZZ_SECONDS"
fi

# A second build (build-asan) with AddressSanitizer + UndefinedBehaviorSanitizer, and its tests.
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  bash scripts/sanitize.sh
fi
