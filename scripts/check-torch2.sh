#!/usr/bin/env bash
# Compiles every lib/**/*.cpp and bench/*.cpp, syntax only, against the headers of a LibTorch 2.x
# (C++20), once as a CUDA build (FWMERGE_TORCH_CUDA=1) and once without: catches LibTorch 1.13 ->
# 2.x API differences on a machine that has only Debian's LibTorch 1.13 and no GPU. Needs only the
# headers, e.g. from a wheel that is downloaded, not installed:
#   python3 -m pip download --no-deps --only-binary=:all: torch -d /tmp/whl
#   unzip -q /tmp/whl/torch-*.whl 'torch/include/*' 'torch/share/*' -d /tmp/torch2
#   scripts/check-torch2.sh /tmp/torch2          (or /tmp/torch2/torch)
#   scripts/check-torch2.sh /tmp/torch2 lib/solver/placement.cpp ...   (only these files)
# Prints "OK <file> (<mode>)" per clean file, else the compiler's errors and warnings; exits 1 if
# any file has an error. JOBS=n compiles n files at a time (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
torch=${1:?usage: $0 TORCH_DIR (the unpacked wheel, or its torch/ folder) [FILE.cpp...]}
shift
[ -d "$torch/torch/include" ] && torch=$torch/torch
[ -d "$torch/include/ATen" ] || { echo "no LibTorch headers in $torch/include" >&2; exit 2; }
[ -f "$torch/version.py" ] && sed -n "s/^__version__ = /torch /p" "$torch/version.py"

# -isystem puts these before /usr/include, so a Debian LibTorch 1.13 there does not interfere.
# JSON from third_party/ (same headers as Debian's); RE2 only if installed, as the build does.
flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic
  -isystem "$torch/include" -isystem "$torch/include/torch/csrc/api/include"
  -isystem third_party/nlohmann/include -I lib -I include
  -DFWMERGE_BUILDING -D_GLIBCXX_USE_CXX11_ABI=1)
pkg-config --exists re2 2>/dev/null || flags+=(-DFWMERGE_NO_RE2)
export CXX=${CXX:-g++}

check_one() {  # <mode> <file> [defines...]: one compile, its verdict on stdout
  local mode=$1 file=$2 diag
  shift 2
  if diag=$("$CXX" "$@" "$file" 2>&1) && [ -z "$diag" ]; then
    echo "OK $file ($mode)"
  else
    printf '== %s (%s)\n%s\n' "$file" "$mode" "$diag"
    grep -q "error:" <<<"$diag" && return 1
  fi
  return 0
}
export -f check_one

if (($#)); then files=$(printf '%s\n' "$@"); else files=$(find lib -name '*.cpp' | sort; ls bench/*.cpp); fi
status=0
for mode in cuda cpu; do
  defines=()
  [ "$mode" = cuda ] && defines=(-DFWMERGE_TORCH_CUDA=1)
  # xargs runs check_one per file; its exit status is 123 when any file had an error.
  xargs -P "${JOBS:-1}" -I{} bash -c 'check_one "$@"' _ "$mode" {} "${flags[@]}" \
    "${defines[@]}" <<<"$files" || status=1
done
[ $status -eq 0 ] && echo "all files compile against $torch" || echo "errors above"
exit $status
