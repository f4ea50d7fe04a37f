"""The Python host of the common example: FW-merges the pool written by examples/c/make_pool with
the objective l(theta) = 1/2 ||theta - target||^2 and exports the result; its export is
byte-identical to the C example's (examples/c/quadratic.c), which CTest checks.

    python quadratic.py POOL_DIR OUT.safetensors
"""

import sys

import numpy as np

import fwmerge


def objective(params, grads):
    """For tensor j and element i: target = ((i*7 + j*3) % 11 - 5) * 0.125 in float32,
    d = theta - target in float32, loss += 0.5*d*d in float64 (tensors and elements in order),
    grad = d. The gradient is computed on whole arrays; the loss is summed element by element,
    as the C example does, because NumPy's pairwise sum would round differently."""
    loss = 0.0
    for j, (name, theta) in enumerate(params.items()):
        i = np.arange(theta.size, dtype=np.int64)
        target = ((i * 7 + j * 3) % 11 - 5).astype(np.float32) * np.float32(0.125)
        d = theta.reshape(-1) - target
        for v in d.tolist():
            loss += 0.5 * v * v
        if grads is not None:
            grads[name].reshape(-1)[...] = d
    return loss


def main(pool_dir, out_file):
    with fwmerge.Solver(fwmerge.Params(max_iters=10)) as solver:
        # Paths are joined as the C example joins them: the export records them in its recipe.
        solver.set_base(f"{pool_dir}/base.safetensors")
        for m in range(4):
            solver.pool_add(f"{pool_dir}/member{m}.safetensors")
        solver.set_objective(objective)
        solver.run()
        for step in solver.history():
            print(
                f"step {step.iteration}: loss {step.loss:.6f} gap {step.gap:.6f} "
                f"gamma {step.gamma:.4f}"
            )
        solver.export(out_file)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: quadratic.py POOL_DIR OUT.safetensors")
    try:
        main(sys.argv[1], sys.argv[2])
    except fwmerge.Error as e:
        sys.exit(f"quadratic: {e}")
