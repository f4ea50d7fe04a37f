#!/usr/bin/env bash
# The real-data demo in one command: installs what is missing, builds only the demo, and runs its
# quick mode (trains or loads the cached models, FW_soft vs task arithmetic as irrelevant models
# join the pool, prints the table, writes the merged model and a plot).
#   scripts/demo.sh                 quick demo, results in ./fwmerge-demo-out
#   scripts/demo.sh --full          every experiment (Table 3 and Table 5 analogues)
#   scripts/demo.sh [demo args]     anything else goes to fwmerge-demo (see --help)
# Environment: BUILD_DIR (default build, the test command's: the library it built is reused, and
# the tests reuse what this builds), FWDEMO_CACHE (model cache, default ~/.cache/fwmerge-demo), JOBS
# (build parallelism, default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${JOBS:-2}"

"$ROOT/scripts/install-deps.sh"

# Configured as scripts/test.sh configures it (the default options), only when it is not yet: a
# configured tree is used as it is, and only the demo and what it links are built.
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target fwmerge-demo

args=(--quick)
if [[ "${1:-}" == "--full" ]]; then
  shift
  args=()
fi
exec "$BUILD_DIR/examples/demo/fwmerge-demo" "${args[@]}" "$@"
