#!/usr/bin/env python3
"""Checks files written by fwmerge's safetensors writer with the reference `safetensors` package.

Usage: oracle_test.py <write_fixture binary> <scratch dir>
Fails (never skips) when `safetensors` or numpy is missing: CI installs them.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

try:
    import safetensors
    import safetensors.numpy
except ImportError as error:  # a missing oracle is a failure, not a skip
    sys.exit(f"FAIL: the reference package is required: {error}")

EXPECTED = {
    "model.w32": np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.25) - np.float32(1),
    "model.w16": np.array([0.5, -1.5, 1024.0, 0.333251953125], dtype=np.float16),
    "scalar": np.array(42.0, dtype=np.float32),
    "empty": np.zeros((0, 5), dtype=np.float32),
}
# numpy has no bfloat16: compared through the raw bytes the reference parser hands back.
EXPECTED_BF16 = ("model.wbf", [3], np.array([1.0, -2.5, 0.333984375], dtype=np.float32))
PLAIN = ["model.w32", "model.w16", "scalar"]

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def bf16_bytes_to_f32(data):
    bits = np.frombuffer(bytes(data), dtype="<u2").astype(np.uint32) << 16
    return bits.view(np.float32)


def check_tensor(name, value):
    want = EXPECTED[name]
    check(value.dtype == want.dtype, f"{name}: dtype {value.dtype} != {want.dtype}")
    check(value.shape == want.shape, f"{name}: shape {value.shape} != {want.shape}")
    check(np.array_equal(value, want), f"{name}: values {value} != {want}")


def check_file(path, names, metadata, with_bf16):
    with safetensors.safe_open(path, framework="numpy") as f:
        check(f.metadata() == metadata, f"{path}: metadata {f.metadata()} != {metadata}")
        keys = set(f.keys())
        want_keys = set(names) | ({EXPECTED_BF16[0]} if with_bf16 else set())
        check(keys == want_keys, f"{path}: keys {sorted(keys)} != {sorted(want_keys)}")
        for name in names:
            check_tensor(name, f.get_tensor(name))
    if with_bf16:
        name, shape, want = EXPECTED_BF16
        with open(path, "rb") as handle:
            parsed = dict(safetensors.deserialize(handle.read()))
        entry = parsed[name]
        check(entry["dtype"] == "BF16", f"{name}: dtype {entry['dtype']}")
        check(list(entry["shape"]) == shape, f"{name}: shape {entry['shape']}")
        check(np.array_equal(bf16_bytes_to_f32(entry["data"]), want),
              f"{name}: values {bf16_bytes_to_f32(entry['data'])} != {want}")


def main():
    fixture, scratch = sys.argv[1], sys.argv[2]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    subprocess.run([fixture, scratch], check=True)

    meta = {"format": "pt"}
    mixed_names = PLAIN + ["empty"]
    check_file(os.path.join(scratch, "mixed.safetensors"), mixed_names, meta, True)
    check_file(os.path.join(scratch, "plain.safetensors"), PLAIN, meta, False)
    check_file(os.path.join(scratch, "bare.safetensors"), PLAIN, None, False)

    # Byte identity with the reference writer (numpy-expressible dtypes; at most one metadata key,
    # since the reference writes __metadata__ in hash-map order).
    plain = {name: EXPECTED[name] for name in PLAIN}
    for ours, metadata in (("plain.safetensors", meta), ("bare.safetensors", None)):
        ref_path = os.path.join(scratch, "reference-" + ours)
        safetensors.numpy.save_file(plain, ref_path, metadata=metadata)
        with open(os.path.join(scratch, ours), "rb") as a, open(ref_path, "rb") as b:
            mine, theirs = a.read(), b.read()
        check(mine == theirs, f"{ours}: bytes differ from safetensors.numpy.save_file "
                              f"({len(mine)} vs {len(theirs)} bytes)")

    # Sharded folder: index content, total size, and every shard through the reference parser.
    folder = os.path.join(scratch, "sharded")
    with open(os.path.join(folder, "model.safetensors.index.json")) as handle:
        index = json.load(handle)
    all_names = set(mixed_names) | {EXPECTED_BF16[0]}
    check(set(index["weight_map"]) == all_names, f"weight_map keys {sorted(index['weight_map'])}")
    total = sum(v.nbytes for v in EXPECTED.values()) + 2 * len(EXPECTED_BF16[2])
    check(index["metadata"]["total_size"] == total,
          f"total_size {index['metadata']['total_size']} != {total}")
    shards = sorted(set(index["weight_map"].values()))
    check(len(shards) > 1, f"expected several shards, got {shards}")
    for i, shard in enumerate(shards):
        check(shard == f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors", f"shard name {shard}")
        held = [n for n, s in index["weight_map"].items() if s == shard]
        path = os.path.join(folder, shard)
        check_file(path, [n for n in held if n != EXPECTED_BF16[0]], meta, EXPECTED_BF16[0] in held)

    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("oracle: all checks passed")


if __name__ == "__main__":
    main()
