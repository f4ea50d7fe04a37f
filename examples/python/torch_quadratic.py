"""The common example with a PyTorch objective: FW-merges the pool written by examples/c/make_pool
(or tests/torch_host/make_pool.py) with l(theta) = 1/2 ||theta - target||^2, the gradient taken by
autograd on torch tensors that share the solver's memory (no copies), and exports the result. Its
export is byte-identical to the NumPy host's (quadratic.py) and the C example's; the torch host
tests check that (tests/torch_host).

    python torch_quadratic.py POOL_DIR OUT.safetensors

Needs fwmerge built against this environment's torch (pip install ./bindings/python where torch
is installed does that).
"""

import sys
import warnings

import torch

import fwmerge

# The solver's parameter views are read-only arrays (torch.from_numpy warns about that); the
# objective only reads them, and autograd never writes to a leaf.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


def target_of(j, numel):
    """Tensor j's target, element i: ((i*7 + j*3) % 11 - 5) * 0.125 in float32 (as quadratic.py)."""
    i = torch.arange(numel, dtype=torch.int64)
    return ((i * 7 + j * 3) % 11 - 5).to(torch.float32) * 0.125


def objective(params, grads):
    """params and grads are {name: numpy array} views of the solver's buffers; torch.from_numpy
    wraps them without a copy. The gradient is autograd's: d(1/2 sum d^2)/dtheta = d, exactly in
    float32. The loss is summed in float64 element by element, in order, as the NumPy and C hosts
    do, so that the three hosts' line searches see the same bits."""
    loss = 0.0
    for j, (name, view) in enumerate(params.items()):
        theta = torch.from_numpy(view).requires_grad_(grads is not None)
        d = theta.reshape(-1) - target_of(j, theta.numel())
        if grads is not None:
            (0.5 * (d * d).sum()).backward()
            torch.from_numpy(grads[name]).copy_(theta.grad)  # writes the solver's gradient view
        for v in d.detach().tolist():
            loss += 0.5 * v * v
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
        sys.exit("usage: torch_quadratic.py POOL_DIR OUT.safetensors")
    try:
        main(sys.argv[1], sys.argv[2])
    except fwmerge.Error as e:
        sys.exit(f"torch_quadratic: {e}")
