"""Frank-Wolfe merging of fine-tuned checkpoints (FW-Merging): the Python binding of libfwmerge.

    import fwmerge

    def objective(params, grads):            # {name: np.ndarray}, grads None: loss only
        loss = 0.0
        for name, theta in params.items():
            d = theta - target[name]
            loss += 0.5 * float(np.dot(d, d))
            if grads is not None:
                grads[name][...] = d
        return loss

    with fwmerge.Solver(fwmerge.Params(max_iters=10)) as solver:
        solver.set_base("base.safetensors")
        solver.pool_add("member0.safetensors")
        solver.set_objective(objective)
        solver.run()
        solver.export("merged.safetensors")

Failures raise fwmerge.Error (.status, .message). See README.md for view lifetimes and threads.
"""

# Every module imports the compiled module through ._library, which refuses an incompatible
# library with an ImportError before anything else runs.
from ._enums import (
    DeviceType,
    Dtype,
    Granularity,
    Lmo,
    LogLevel,
    MergeField,
    MergeMethod,
    MergekitCompat,
    Score,
    SoftSolver,
    Status,
    StepRule,
    TopkRule,
)
from ._errors import Error
from ._functions import (
    libtorch_version,
    merge,
    save_tensors,
    set_malloc_mmap_threshold,
    set_torch_threads,
    version,
)
from ._library import check_library_version as _check_library_version  # noqa: F401 (tests)
from ._solver import ALL_TERMS, AskTell, Objective, Request, Solver, TermsObjective
from ._tensor_set import LoadedTensor, TensorSet, load_tensors
from ._types import (
    ExportOptions,
    MergeOverride,
    MergeParams,
    ObjectiveTerm,
    Params,
    StepInfo,
    TorchScriptObjective,
)
from ._views import Views

try:  # the installed distribution's version (pyproject.toml), which follows the library's
    from importlib.metadata import PackageNotFoundError as _NotFound
    from importlib.metadata import version as _dist_version

    __version__ = _dist_version("fwmerge")
except _NotFound:  # pragma: no cover - imported from a build tree
    __version__ = version()

__all__ = [
    "ALL_TERMS",
    "AskTell",
    "DeviceType",
    "Dtype",
    "Error",
    "ExportOptions",
    "Granularity",
    "LoadedTensor",
    "Lmo",
    "LogLevel",
    "MergeField",
    "MergeMethod",
    "MergekitCompat",
    "MergeOverride",
    "MergeParams",
    "Objective",
    "ObjectiveTerm",
    "Params",
    "Request",
    "Score",
    "SoftSolver",
    "Solver",
    "Status",
    "StepInfo",
    "StepRule",
    "TensorSet",
    "TermsObjective",
    "TopkRule",
    "TorchScriptObjective",
    "Views",
    "libtorch_version",
    "load_tensors",
    "merge",
    "save_tensors",
    "set_malloc_mmap_threshold",
    "set_torch_threads",
    "version",
]
