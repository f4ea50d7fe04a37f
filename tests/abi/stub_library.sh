#!/usr/bin/env bash
# Builds a stand-in libfwmerge from a header alone: every function the header declares, defined as
# a stub, compiled as C++ with -g as lib/capi is (same compiler, same language: its DWARF describes
# the types as the real library's does, so the unedited header matches the baseline), with 0.x's
# SONAME. abi_check_detects_breaks compares such libraries, built from edited copies of the header,
# with the baseline: a header edit is the quickest way to make each kind of ABI change that the
# policy allows or forbids (docs/abi.md).
#
#   stub_library.sh HEADER OUT.so
set -euo pipefail
header=$1 out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc=${CC:-cc} cxx=${CXX:-c++}
# The library's own definitions: FW_API exports, and the experimental section is declared.
defs=(-DFWMERGE_BUILDING -DFWMERGE_EXPERIMENTAL)
# GCC's -aux-info lists each function declaration as a C prototype with unnamed parameters, which
# is also a valid C++ definition head once `extern` and the trailing `;` are gone.
"$cc" -std=c99 -fsyntax-only -w "${defs[@]}" -aux-info "$work/aux.txt" -x c "$header"
{
  printf '#include "%s"\n' "$(cd "$(dirname "$header")" && pwd)/$(basename "$header")"
  grep -F "$(basename "$header"):" "$work/aux.txt" |
    sed -e 's|^/\*[^*]*\*/ *||' -e 's|^extern ||' -e 's|;$| { __builtin_trap(); }|'
} >"$work/stubs.cpp"
"$cxx" -std=c++17 -shared -fPIC -g -O1 -w "${defs[@]}" -Wl,-soname,libfwmerge.so.0 \
  "$work/stubs.cpp" -o "$out"
