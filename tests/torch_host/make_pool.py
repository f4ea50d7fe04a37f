"""Writes the quadratic example's pool (DIR/base.safetensors, DIR/member0..3.safetensors) with the
same values as examples/c/make_pool, through the Python binding, so that the torch host tests need
nothing from the main build.

    python make_pool.py DIR
"""

import sys

import numpy as np

import fwmerge

NAMES = ["layer0.weight", "layer0.bias", "layer1.weight"]
SHAPES = [(4, 3), (4,), (2, 4)]


def model(member):
    """Tensor j, element i: 0.01*((i*5 + j) % 13) - 0.05 (+ 0.1*(((i + 3*member + j) % 7) - 3)
    for a member), each operation in float32 as the C program computes it."""
    tensors = {}
    for j, (name, shape) in enumerate(zip(NAMES, SHAPES)):
        i = np.arange(int(np.prod(shape)), dtype=np.int64)
        value = np.float32(0.01) * ((i * 5 + j) % 13).astype(np.float32) - np.float32(0.05)
        if member >= 0:
            delta = np.float32(0.1) * (((i + 3 * member + j) % 7) - 3).astype(np.float32)
            value = value + delta
        tensors[name] = value.astype(np.float32).reshape(shape)
    return tensors


def main(folder):
    fwmerge.save_tensors(f"{folder}/base.safetensors", model(-1))
    for m in range(4):
        fwmerge.save_tensors(f"{folder}/member{m}.safetensors", model(m))


if __name__ == "__main__":
    main(sys.argv[1])
