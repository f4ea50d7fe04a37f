#!/usr/bin/env bash
# Regenerates src/bindings.rs from include/fwmerge.h with Debian's bindgen (needs libclang1-14).
#   regen.sh            rewrite src/bindings.rs
#   regen.sh --check    exit 1 if the committed file differs from a fresh generation,
#                       77 (skip) if bindgen/libclang is unusable or is not the pinned version
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
header="$here/../../../include/fwmerge.h"
out="$here/src/bindings.rs"
# The committed file is what this bindgen version (Debian 12) plus the toolchain's rustfmt write;
# another bindgen version formats differently, so the check only runs with this one.
pinned="bindgen 0.60.1"
BINDGEN="${BINDGEN:-bindgen}"

generate() {
  # --no-prepend-enum-name: FW_OK rather than fw_status_FW_OK; C enums stay integer constants
  # (a Rust enum would be undefined behaviour on a value this header version does not know).
  # FWMERGE_EXPERIMENTAL: the -sys crate declares the header's experimental section too (sharded
  # solving), as it has since 0.3.4; the safe crate does not wrap it.
  "$BINDGEN" "$header" \
    --allowlist-function 'fw_.*' --allowlist-type 'fw_.*' --allowlist-var 'FW_.*' \
    --no-prepend-enum-name --size_t-is-usize \
    -- -std=c99 -DFWMERGE_EXPERIMENTAL
}

if [[ "${1:-}" == "--check" ]]; then
  version="$("$BINDGEN" --version 2>/dev/null || true)"
  if [[ "$version" != "$pinned" ]]; then
    echo "skip: need '$pinned', found '${version:-no bindgen}'"; exit 77
  fi
  fresh="$(mktemp)"; trap 'rm -f "$fresh"' EXIT
  if ! generate >"$fresh" 2>"$fresh.err"; then
    echo "skip: bindgen could not run (libclang missing?):"; head -3 "$fresh.err"; rm -f "$fresh.err"
    exit 77
  fi
  rm -f "$fresh.err"
  if ! diff -u "$out" "$fresh"; then
    echo "FAIL: src/bindings.rs is stale; run bindings/rust/fwmerge-sys/regen.sh and commit"; exit 1
  fi
  echo "bindings.rs is up to date"
  exit 0
fi

generate >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
