#!/usr/bin/env bash
# `fwmerge merge` on a busy machine (issue 24): a TIES merge of 4 bf16 members, alone and beside
# BUSY processes that each spin one core (an embedding service's threads, other jobs), with
# libgomp's default wait policy (spinning workers) and with the passive one fwmerge sets for
# itself (cli/wait_policy.cpp). Prints wall and CPU seconds and the busy/quiet ratios measured in
# this run (the machine is shared and noisy: compare the ratios, not the seconds).
#   bench/busy_host.sh [FWMERGE_BIN] [POOL_DIR]
# Environment: THREADS (default: the number of cores), BUSY (default 2), MB per model (default 200).
set -euo pipefail
bin=${1:-build/cli/fwmerge}
pool=${2:-${TMPDIR:-/tmp}/fwmerge-busy-pool}
threads=${THREADS:-$(nproc)}
busy=${BUSY:-2}
mb=${MB:-200}
[ -x "$bin" ] || { echo "no fwmerge binary at $bin (build the CLI first)" >&2; exit 2; }

if [ ! -f "$pool/recipe.yml" ]; then
  mkdir -p "$pool"
  # Members = base + small Gaussian task vectors (a fine-tune's scale), bf16 like real checkpoints.
  python3 - "$pool" "$mb" <<'PY'
import json, sys
import numpy as np
folder, mb = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
n = 4096 * 4096
tensors = max(1, mb * 2**20 // (2 * n))
def bf16(a):
    return (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
def save(path, arrays):
    header, blobs, offset = {}, [], 0
    for name, a in arrays.items():
        b = bf16(a).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
base = {f"layers.{i}.weight": rng.standard_normal((4096, 4096), dtype=np.float32) * 0.02
        for i in range(tensors)}
save(f"{folder}/base.safetensors", base)
models = []
for m in range(4):
    save(f"{folder}/m{m}.safetensors",
         {k: v + rng.standard_normal(v.shape, dtype=np.float32) * 0.001 for k, v in base.items()})
    models.append(f"  - model: {folder}/m{m}.safetensors\n    parameters: {{weight: 1.0, density: 0.5}}\n")
with open(f"{folder}/recipe.yml", "w") as f:
    f.write(f"merge_method: ties\nbase_model: {folder}/base.safetensors\nmodels:\n" + "".join(models) + "dtype: bfloat16\n")
PY
fi
cat "$pool"/*.safetensors >/dev/null  # warm page cache: the runs compare CPU, not the disk

run() {  # <label> <env...>: one merge; prints "wall cpu"
  local label=$1 out="$pool/out"
  shift
  rm -rf "$out"
  local t
  t=$( { env "$@" /usr/bin/time -f "%e %U %S" "$bin" merge -q --threads "$threads" "$pool/recipe.yml" "$out" >/dev/null; } 2>&1 | tail -1)
  rm -rf "$out"
  awk -v l="$label" '{printf "%-34s wall %7.2f s  cpu %7.2f s\n", l, $1, $2 + $3}' <<<"$t" >&2
  awk '{print $1, $2 + $3}' <<<"$t"
}

spinners=()
start_busy() { for _ in $(seq "$busy"); do python3 -c "while True: pass" & spinners+=($!); done; sleep 1; }
stop_busy() { kill "${spinners[@]}" 2>/dev/null || true; wait "${spinners[@]}" 2>/dev/null || true; spinners=(); }
trap stop_busy EXIT

echo "fwmerge merge (TIES, 4 x ${mb} MB bf16), --threads $threads, $busy busy processes, $(nproc) cores" >&2
# GOMP_SPINCOUNT=300000 is libgomp's own default spin, and keeps fwmerge from choosing the policy.
read -r qd_w qd_c < <(run "quiet, libgomp default (spin)" GOMP_SPINCOUNT=300000)
read -r qp_w qp_c < <(run "quiet, passive (fwmerge's)")
start_busy
read -r bd_w bd_c < <(run "busy, libgomp default (spin)" GOMP_SPINCOUNT=300000)
read -r bp_w bp_c < <(run "busy, passive (fwmerge's)")
stop_busy
awk -v a="$bd_w" -v b="$qd_w" -v c="$bd_c" -v d="$qd_c" 'BEGIN{printf "libgomp default: busy/quiet wall %.2fx, cpu %.2fx\n", a/b, c/d}'
awk -v a="$bp_w" -v b="$qp_w" -v c="$bp_c" -v d="$qp_c" 'BEGIN{printf "passive:         busy/quiet wall %.2fx, cpu %.2fx\n", a/b, c/d}'
awk -v a="$bp_w" -v b="$bd_w" 'BEGIN{printf "busy: passive/default wall %.2fx\n", a/b}'
awk -v a="$qp_w" -v b="$qd_w" 'BEGIN{printf "quiet: passive/default wall %.2fx\n", a/b}'
