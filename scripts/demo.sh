#!/usr/bin/env bash
# The real-data demo in one command: installs what is missing, builds only the demo, and runs its
# quick mode (trains or loads the cached models, FW_soft vs task arithmetic as irrelevant models
# join the pool, prints the table, writes the merged model and a plot).
#   scripts/demo.sh                 quick demo, results in ./fwmerge-demo-out
#   scripts/demo.sh --full          every experiment (Table 3 and Table 5 analogues)
#   scripts/demo.sh [demo args]     anything else goes to fwmerge-demo (see --help)
# Environment: BUILD_DIR (default build-demo), FWDEMO_CACHE (model cache, default
# ~/.cache/fwmerge-demo), JOBS (build parallelism, default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-demo}"
JOBS="${JOBS:-2}"

"$ROOT/scripts/install-deps.sh"

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DFWMERGE_BUILD_TESTS=OFF -DFWMERGE_BUILD_BENCH=OFF -DFWMERGE_BUILD_BINDINGS=OFF \
  -DFWMERGE_BUILD_EXAMPLES=ON >/dev/null
ninja -C "$BUILD_DIR" -j"$JOBS" fwmerge-demo

args=(--quick)
if [[ "${1:-}" == "--full" ]]; then
  shift
  args=()
fi
exec "$BUILD_DIR/examples/demo/fwmerge-demo" "${args[@]}" "$@"
