"""Parameters and reports as plain Python values, converted to the C structs at each call.

Defaults are the library's (fw_default_params(), fw_default_export_options(),
fw_default_merge_params(method)), read once at import; the field names are the C fields'.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, List, Optional, Sequence, Tuple, Union

from ._enums import (
    DeviceType,
    Dtype,
    Granularity,
    Lmo,
    MergeField,
    MergeMethod,
    MergekitCompat,
    Score,
    SoftSolver,
    StepRule,
    TopkRule,
)
from ._library import _fwmerge

_P = _fwmerge.fw_default_params()
_E = _fwmerge.fw_default_export_options()


def _fill(raw: Any, values: Any, skip: Tuple[str, ...] = ()) -> Any:
    """Copies the dataclass fields of `values` onto the SWIG struct `raw` (same names)."""
    for f in dataclasses.fields(values):
        if f.name not in skip:
            value = getattr(values, f.name)
            setattr(raw, f.name, int(value) if isinstance(value, (bool, IntEnum)) else value)
    return raw


@dataclass
class Params:
    """Solver parameters (`fw_params`); see include/fwmerge.h for each field's meaning."""

    lmo: Lmo = Lmo(_P.lmo)
    granularity: Granularity = Granularity(_P.granularity)
    block_depth: int = _P.block_depth
    score: Score = Score(_P.score)
    top_k: int = _P.top_k
    step_rule: StepRule = StepRule(_P.step_rule)
    step_scale: float = _P.step_scale
    line_search_evals: int = _P.line_search_evals
    soft_solver: SoftSolver = SoftSolver(_P.soft_solver)
    soft_iters: int = _P.soft_iters
    soft_lr: float = _P.soft_lr
    soft_memory_budget: int = _P.soft_memory_budget
    max_iters: int = _P.max_iters
    #: a budget of objective evaluations over the solver's life (0: none); see fwmerge.h
    max_evaluations: int = _P.max_evaluations
    #: how the soft LMO picks its vertices for a multi-term objective (Solver.set_objective_terms,
    #: Solver.set_ask_tell_terms, a TorchScript objective's terms): SUMMED ranks by the whole
    #: gradient; PER_TERM (default) lets each term's gradient pick its own vertex in turn
    topk_rule: TopkRule = TopkRule(_P.topk_rule)
    epsilon: float = _P.epsilon
    threads: int = _P.threads
    seed: int = _P.seed
    device: DeviceType = DeviceType(_P.device)
    device_index: int = _P.device_index
    work_dtype: Dtype = Dtype(_P.work_dtype)
    #: views in host memory even when the solver computes on a CUDA device (see README)
    host_views: bool = bool(_P.host_views)
    #: which tensors are merged: shell-style globs (fnmatch); a tensor is merged when it matches an
    #: include pattern (or there is none) and no exclude pattern. Empty: every tensor.
    include_tensors: Sequence[str] = ()
    exclude_tensors: Sequence[str] = ()
    #: follow symbolic links in model and adapter folders wherever they lead; off: a file that
    #: links out of the folder it was named through (a Hugging Face cache snapshot may link inside
    #: its cached repository) is Error(Status.INVALID_ARGUMENT)
    allow_outside_links: bool = bool(_P.allow_outside_links)
    #: pool members (and start files) may lack floating-point tensors of the base, which they then
    #: read from the base: a zero task vector there; off: such a member is
    #: Error(Status.NAME_MISMATCH)
    fill_missing_from_base: bool = bool(_P.fill_missing_from_base)

    _FILTERS = ("include_tensors", "exclude_tensors")

    def _to_raw(self) -> Any:
        # From the library's defaults, so fields this binding does not know keep theirs.
        return _fill(_fwmerge.fw_default_params(), self, skip=self._FILTERS)

    def _filters(self) -> Tuple[List[str], List[str]]:
        """(include, exclude) for the calls that take the struct (the extension points it at
        them for the call)."""
        return list(self.include_tensors), list(self.exclude_tensors)


@dataclass
class ExportOptions:
    """Export options (`fw_export_options`)."""

    #: Dtype.DEFAULT: each tensor in its base dtype
    dtype: Dtype = Dtype(_E.dtype)
    #: 0: one .safetensors file; > 0: a folder of shards and model.safetensors.index.json
    max_shard_bytes: int = _E.max_shard_bytes
    #: a Hugging Face model folder (model.safetensors or shards, the base folder's config and
    #: tokenizer files, a README.md model card); the path must not exist or be an empty folder
    hf_folder: bool = bool(_E.hf_folder)
    #: with hf_folder: the README.md text, written byte for byte as UTF-8 (None: the card the
    #: library writes, with the recipe); without hf_folder the library rejects it
    #: (Error(Status.INVALID_ARGUMENT)). No NUL characters.
    model_card: Optional[str] = None

    def _to_raw(self) -> Any:
        # model_card is a string the struct would own: fwpy_export / fwpy_merge point it at a
        # copy kept for the call.
        return _fill(_fwmerge.fw_default_export_options(), self, skip=("model_card",))


@dataclass
class MergeOverride:
    """One per-tensor value (`fw_merge_override`): for the tensors whose names match the glob
    `tensors` (None or "*": every tensor), `field` of pool member `member` (-1: every member) is
    `value` instead of what the MergeParams fields give. The first matching override wins."""

    tensors: Optional[str]
    member: int
    field: MergeField
    value: float


@dataclass
class MergeParams:
    """A data-free merge method and its parameters (`fw_merge_params`).

    Fields left at None take the method's defaults (fw_default_merge_params(method)), e.g.
    `MergeParams(MergeMethod.TIES, density=0.5)`. `weights`, `densities`, `betas` and `epsilons`
    hold one value per pool member, in pool order.
    """

    method: MergeMethod = MergeMethod.LINEAR
    scaling: Optional[float] = None
    density: Optional[float] = None
    drop_rate: Optional[float] = None
    beta: Optional[float] = None
    weights: Optional[Sequence[float]] = None
    normalize: Optional[bool] = None
    seed: Optional[int] = None
    threads: Optional[int] = None
    densities: Optional[Sequence[float]] = None
    betas: Optional[Sequence[float]] = None
    #: which tensors are merged (globs, as Params.include_tensors); the others are written as the
    #: base has them (merge) or kept at theta (merge functions)
    include_tensors: Sequence[str] = ()
    exclude_tensors: Sequence[str] = ()
    #: mergekit 0.1.5's arithmetic (merge only; not MODEL_STOCK), rounded in compute_dtype: True
    #: or MergekitCompat.ARITHMETIC; MergekitCompat.EXACT_TIES also keeps the equal magnitudes at
    #: TIES / breadcrumbs thresholds that mergekit keeps (bit-identical to mergekit, each split
    #: tensor sorted); False or MergekitCompat.OFF: fwmerge's arithmetic
    mergekit_compat: Optional[Union[bool, int, MergekitCompat]] = None
    #: with mergekit_compat: F32, F16 or BF16; Dtype.DEFAULT: each tensor's own dtype
    compute_dtype: Optional[Dtype] = None
    #: per-tensor values (merge and Solver.set_start_merge), checked by the library
    overrides: Sequence[MergeOverride] = ()
    #: as Params.allow_outside_links, for merge's base and pool folders
    allow_outside_links: bool = False
    #: as Params.fill_missing_from_base, for merge's members
    fill_missing_from_base: bool = False
    # The parameters of the 0.5.0 methods (fw_merge_params v8, mergekit's names and defaults;
    # other methods ignore them). See fwmerge.h for each range.
    #: SLERP: the point on the arc, base 0 to member 1; NEARSWAP: the distance scale
    t: Optional[float] = None
    #: DELLA(_LINEAR): keep probabilities density +- epsilon; RAM(PLUS_TL): change threshold
    epsilon: Optional[float] = None
    #: DELLA(_LINEAR): one epsilon per pool member (None: epsilon for every member); merge only
    epsilons: Optional[Sequence[float]] = None
    #: MULTISLERP: added to the norms it divides by, > 0
    eps: Optional[float] = None
    #: KARCHER: convergence threshold, >= 0
    tol: Optional[float] = None
    #: SCE: fraction of the varying entries kept, in [0, 1]
    select_topk: Optional[float] = None
    #: RAMPLUS_TL: r
    ram_r: Optional[float] = None
    #: RAMPLUS_TL: alpha, >= 0
    ram_alpha: Optional[float] = None
    #: PASSTHROUGH: the member's multiplier
    scale: Optional[float] = None
    #: KARCHER: iterations, >= 0
    max_iter: Optional[int] = None
    #: DELLA(_LINEAR): survivors divided by their keep probability
    rescale: Optional[bool] = None
    #: NUSLERP: one angle per tensor
    nuslerp_flatten: Optional[bool] = None
    #: NUSLERP, not flattened: per column (dim 0) instead of per row
    nuslerp_row_wise: Optional[bool] = None

    #: the fields that take the method's default when left at None (numbers, then flags)
    _NUMBERS = ("scaling", "density", "drop_rate", "beta", "seed", "threads", "t", "epsilon",
                "eps", "tol", "select_topk", "ram_r", "ram_alpha", "scale", "max_iter")
    _FLAGS = ("normalize", "rescale", "nuslerp_flatten", "nuslerp_row_wise")

    def __post_init__(self) -> None:
        defaults = _fwmerge.fw_default_merge_params(int(self.method))
        for name in self._NUMBERS:
            if getattr(self, name) is None:
                setattr(self, name, getattr(defaults, name))
        for name in self._FLAGS:
            if getattr(self, name) is None:
                setattr(self, name, bool(getattr(defaults, name)))
        if self.mergekit_compat is None:
            self.mergekit_compat = bool(defaults.mergekit_compat)
        if self.compute_dtype is None:
            self.compute_dtype = Dtype(defaults.compute_dtype)
        try:
            self.method = MergeMethod(self.method)
        except ValueError:
            pass  # an unknown method: the library rejects it with its own message

    _ARRAYS = ("weights", "densities", "betas", "epsilons", "include_tensors", "exclude_tensors",
               "overrides")

    def _to_raw(self) -> Any:
        raw = _fwmerge.fw_default_merge_params(int(self.method))
        return _fill(raw, self, skip=self._ARRAYS)

    def _arrays(self) -> Tuple[Any, ...]:
        """(weights, densities, betas, epsilons, include, exclude, overrides): what the
        extension points the struct at for the call."""
        numbers = tuple(
            None if v is None else [float(x) for x in v]
            for v in (self.weights, self.densities, self.betas, self.epsilons)
        )
        overrides = [
            (o.tensors, int(o.member), int(o.field), float(o.value)) for o in self.overrides
        ]
        return numbers + (list(self.include_tensors), list(self.exclude_tensors), overrides)


@dataclass(frozen=True)
class StepInfo:
    """What one Frank-Wolfe step did (`fw_step_info`), copied out of the library."""

    iteration: int  #: t, 0-based
    loss: float  #: l(theta_t) at the start of the step
    loss_after: Optional[float]  #: l(theta_{t+1}) when the step evaluated it
    gap: float  #: FW gap <-grad, s_t - theta_t>
    gamma: float  #: hard: step size; soft: mean over blocks of sum_j lambda_j
    converged: bool  #: gap <= epsilon: theta unchanged, nothing more to do
    evaluations: int  #: objective evaluations spent in this step
    n_blocks: int  #: 1 task-wise; number of blocks layer-wise
    k: int  #: vertices per block: 1 hard, top_k soft
    chosen: Tuple[int, ...]  #: n_blocks * k vertex indices (pool index, -1 = start vertex)
    lambdas: Tuple[float, ...]  #: n_blocks * k coefficients
    leaves_hull: bool  #: the merge function may leave the convex hull


@dataclass
class ObjectiveTerm:
    """One term of the built-in objective (`fw_objective_term`): a module method run on a
    calibration input, cross-entropy against `labels` or prediction entropy without them."""

    inputs: str
    labels: Optional[str] = None
    method: Optional[str] = None  #: None: "forward"
    weight: float = 1.0


@dataclass
class TorchScriptObjective:
    """The library's own LibTorch objective (`fw_torchscript_objective`)."""

    module_path: Any  #: a TorchScript file (torch.jit.script(model).save(path))
    calibration_path: Any  #: .safetensors holding the terms' inputs and labels
    terms: Sequence[ObjectiveTerm] = field(default_factory=list)
    #: (module parameter, base tensor) pairs; None: parameters matched by name
    param_map: Optional[Sequence[Tuple[str, str]]] = None
