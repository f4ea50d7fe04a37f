#!/usr/bin/env bash
# CUDA checks on a GPU machine without internet: builds fwmerge against the LibTorch of the pip
# torch there (no nlohmann-json, RE2, GoogleTest or bindings needed: the build falls back to
# third_party/ and skips the rest), then runs the CUDA equivalence check (fw_cuda_check) and the
# scaling benchmark (fw_bench_scale --quick). Run from the repository root.
#   LIBTORCH_PREFIX  a LibTorch CMake prefix (default: python3's torch.utils.cmake_prefix_path)
#   PYTHON           the python with torch (default: python3, then /opt/torch/.venv/bin/python3)
#   OUT              where gpu-check.log and bench.txt go (default: gpu-check-out)
#   JOBS             parallel build jobs (default: all cores)
# Exits 0 with nothing done where there is no pip torch (a CPU machine), 1 if a step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-gpu
out=${OUT:-gpu-check-out}

# The pip torch first: without one (and no LIBTORCH_PREFIX) there is nothing to build against.
prefix=${LIBTORCH_PREFIX:-}
torch_cuda=""
if [ -z "$prefix" ]; then
  for py in ${PYTHON:-} python3 /opt/torch/.venv/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    # One import prints both: the CMake prefix, and the CUDA version the wheel was built for.
    if info=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path); print(torch.version.cuda or "")' 2>/dev/null); then
      prefix=$(sed -n 1p <<<"$info")
      torch_cuda=$(sed -n 2p <<<"$info")
      break
    fi
  done
  if [ -z "$prefix" ]; then
    echo "no pip torch found: nothing to check"
    exit 0
  fi
fi

# A CUDA wheel's CMake config (Caffe2Config) enables the CUDA language and needs nvcc at configure
# time even though fwmerge compiles no .cu file; it stops with a cryptic error without one.
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || [ ! -x /usr/local/cuda/bin/nvcc ] || nvcc=/usr/local/cuda/bin/nvcc
if [ -n "$torch_cuda" ] && [ -z "$nvcc" ]; then
  echo "the pip torch is built for CUDA $torch_cuda, and its CMake config needs the CUDA toolkit:" \
    "put nvcc on PATH (or in /usr/local/cuda/bin)" >&2
  exit 1
fi

mkdir -p "$out"
rm -f "$out/bench.txt"  # so that the figures printed at the end are this run's
main() {
  echo "== $(date -u +%FT%TZ) $(uname -n): LibTorch prefix $prefix (CUDA ${torch_cuda:-none})"
  nvidia-smi -L 2>/dev/null || echo "nvidia-smi: no GPU listed"
  local cmake_args=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
    -DFWMERGE_BUILD_TESTS=OFF -DFWMERGE_BUILD_BINDINGS=OFF -DFWMERGE_BUILD_EXAMPLES=OFF
    -DFWMERGE_BUILD_GPU_CHECKS=ON)
  if [ -n "$nvcc" ]; then
    # FindCUDA (inside Caffe2Config) looks for nvcc on PATH; enable_language(CUDA) reads this.
    PATH=$(dirname "$nvcc"):$PATH
    cmake_args+=(-DCMAKE_CUDA_COMPILER="$nvcc")
    "$nvcc" --version | tail -n 2
  fi
  # RE2 only matters for regex pattern keys in LoRA configs, which the checks do not use.
  if pkg-config --exists re2 2>/dev/null; then re2=ON; else re2=OFF; fi
  cmake_args+=(-DFWMERGE_WITH_RE2=$re2)
  # A generator can only be chosen for a fresh build folder.
  if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then
    cmake_args+=(-G Ninja)
  fi
  echo "== configure: cmake -S . -B $build ${cmake_args[*]}"
  cmake -S . -B "$build" "${cmake_args[@]}"
  echo "== build"
  cmake --build "$build" -j "${JOBS:-$(nproc)}"

  local failed=0 check_result bench_result
  local check=$build/tests/c/fw_cuda_check
  if [ -x "$check" ]; then
    # Its scratch files (hundreds of MB) stay in the build folder, out of $out.
    echo "== $check"
    set +e
    "$check" "$build/cuda-check-pool"
    local rc=$?
    set -e
    case $rc in
      0) check_result="passed" && rm -rf "$build/cuda-check-pool" ;;
      77) check_result="skipped (no CUDA in this LibTorch or no GPU visible)" ;;
      *) check_result="FAILED (exit $rc)" failed=1 ;;
    esac
  else
    check_result="not built ($check missing)"
  fi

  local bench=$build/bench/fw_bench_scale
  if [ -x "$bench" ]; then
    # Its pool (GBs of checkpoints) goes in the build folder too, kept for a rerun.
    echo "== $bench --quick --dir $build/bench-pool"
    if "$bench" --quick --dir "$build/bench-pool" | tee "$out/bench.txt"; then
      bench_result="ran (figures in $out/bench.txt)"
    else
      bench_result="FAILED" failed=1
    fi
  else
    bench_result="not built ($bench missing)"
  fi

  echo "== summary"
  echo "fw_cuda_check: $check_result"
  echo "fw_bench_scale --quick: $bench_result"
  if [ -s "$out/bench.txt" ]; then
    echo "== figures"
    cat "$out/bench.txt"
  fi
  return $failed
}
# Everything, configure and build included, goes to the log too.
main 2>&1 | tee "$out/gpu-check.log"
