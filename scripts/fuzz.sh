#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang with -fsanitize=fuzzer,address,undefined) in
# build-fuzz/ and runs each for a bounded time on a copy of its committed seed corpus.
# Fails on any crash, sanitizer report, leak, timeout or out-of-memory; the input that caused it is
# left in build-fuzz/fuzz-run/<target>/ (crash-*, timeout-*, oom-*, leak-*).
#
#   scripts/fuzz.sh [seconds_per_target] [target...]     (default 20 s; all tests/fuzz/fuzz_*.cpp)
#
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_JOBS (build jobs, nproc), FUZZ_WORKERS (parallel
# fuzzing processes per target, 1), FUZZ_MAX_LEN (libFuzzer -max_len; its default when unset),
# FUZZ_RUNS (stop a target after this many executions, or at the time limit, whichever is first).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-20}"
shift || true
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${FUZZ_JOBS:-$(nproc)}"
WORKERS="${FUZZ_WORKERS:-1}"

cmake -S . -B "$BUILD_DIR" -G Ninja -DFWMERGE_FUZZ=ON -DCMAKE_CXX_COMPILER="${FUZZ_CXX:-clang++}" \
  >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

failed=()
total=0
printf '%-20s %12s %10s %8s  %s\n' target executions exec/s seconds result
for t in "${targets[@]}"; do
  work="$BUILD_DIR/fuzz-run/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"  # new units go to the copy, not the committed seeds
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  [ -n "${FUZZ_MAX_LEN:-}" ] && args+=(-max_len="$FUZZ_MAX_LEN")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  if ((WORKERS > 1)); then args+=(-fork="$WORKERS" -ignore_crashes=0); fi
  start=$(date +%s)
  rc=0
  "$BUILD_DIR/tests/fuzz/$t" "${args[@]}" "$work/corpus" >"$work/log" 2>&1 || rc=$?
  seconds=$(($(date +%s) - start))
  # -fork mode has no final stats: its last status line carries the total execution count.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$work/log" | tail -1 | tr -d '#')
  execs=${execs:-0}
  total=$((total + execs))
  result=ok
  if ((rc != 0)) || ls "$work" | grep -qE '^(crash|leak|timeout|oom|slow-unit)-'; then
    result="FAILED (rc $rc), see $work/log"
    failed+=("$t")
  fi
  printf '%-20s %12s %10s %8s  %s\n' "$t" "$execs" "$((execs / (seconds > 0 ? seconds : 1)))" \
    "$seconds" "$result"
done
echo "total executions: $total"
if ((${#failed[@]})); then
  echo "fuzzing FAILED: ${failed[*]}" >&2
  for t in "${failed[@]}"; do tail -n 40 "$BUILD_DIR/fuzz-run/$t/log" >&2; done
  exit 1
fi
