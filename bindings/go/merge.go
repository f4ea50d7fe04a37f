package fwmerge

import (
	"context"
	"fmt"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// MergeMethod is a data-free merge method (fw_merge_method; mergekit's names). See fwmerge.h for
// the exact rules of each.
type MergeMethod int32

const (
	MergeLinear          MergeMethod = 0
	MergeTaskArithmetic  MergeMethod = 1
	MergeTIES            MergeMethod = 2
	MergeDARELinear      MergeMethod = 3
	MergeDARETIES        MergeMethod = 4
	MergeBreadcrumbs     MergeMethod = 5
	MergeModelStock      MergeMethod = 6
	MergeBreadcrumbsTIES MergeMethod = 7
	// 0.5.0: mergekit 0.1.5's methods (the mergekit name in the comment); their parameters are
	// the MergeParams fields from T on.
	MergeSlerp       MergeMethod = 8  // slerp: base to the one member along the arc, T
	MergeNuslerp     MergeMethod = 9  // nuslerp: two members' task vectors by weight
	MergeMultislerp  MergeMethod = 10 // multislerp: barycentric on the sphere
	MergeKarcher     MergeMethod = 11 // karcher: Karcher mean of the members
	MergeNearswap    MergeMethod = 12 // nearswap: per entry, the one member where near the base
	MergeArceeFusion MergeMethod = 13 // arcee_fusion
	MergePassthrough MergeMethod = 14 // passthrough: the one member times Scale
	MergeDELLA       MergeMethod = 15 // della
	MergeDELLALinear MergeMethod = 16 // della_linear
	MergeSCE         MergeMethod = 17 // sce
	MergeRAM         MergeMethod = 18 // ram
	MergeRAMPlusTL   MergeMethod = 19 // ramplus_tl
	// The SVD methods (not mergekit's; recipe names in the comment): Scaling is the papers' alpha,
	// SelectTopk ISO_CTS's common_space_fraction.
	MergeTSVM   MergeMethod = 20 // tsv_m: Task Singular Vectors merge
	MergeIsoC   MergeMethod = 21 // iso_c: isotropic merge in the common subspace
	MergeIsoCTS MergeMethod = 22 // iso_cts: isotropic, common and task-specific subspaces
)

// MergeField is the value a MergeOverride sets (fw_merge_field).
type MergeField int32

const (
	FieldWeight  MergeField = 0 // member's weight
	FieldDensity MergeField = 1 // member's density (DARE: keep probability), in (0, 1]
	FieldBeta    MergeField = 2 // member's breadcrumbs beta, in [0, 1)
	FieldScaling MergeField = 3 // the method's scaling; Member must be -1
	FieldEpsilon MergeField = 4 // member's epsilon (DELLA; RAM: Member must be -1)
	FieldScale   MergeField = 5 // PASSTHROUGH's scale; Member -1 or 0
	FieldT       MergeField = 6 // SLERP's / NEARSWAP's t; Member must be -1
)

// MergeOverride is one per-tensor value (fw_merge_override): for the tensors matching the glob
// Tensors ("" or "*": every tensor), Field of pool member Member (-1: every member) is Value. The
// first matching override wins.
type MergeOverride struct {
	Tensors string
	Member  int64
	Field   MergeField
	Value   float64
}

// MergeParams mirrors fw_merge_params; start from DefaultMergeParams(method).
type MergeParams struct {
	Method   MergeMethod
	Scaling  float64 // lambda applied to the combined task vector
	Density  float64 // TIES / breadcrumbs: fraction of entries kept, in (0, 1]
	DropRate float64 // DARE: drop probability, in [0, 1)
	Beta     float64 // breadcrumbs: fraction of largest magnitudes dropped, in [0, 1)
	// Weights has one weight per pool member (pool order); nil: all 1.
	Weights   []float64
	Normalize bool
	// Densities (TIES, breadcrumbs; DARE: keep probabilities) and Betas (breadcrumbs) per pool
	// member; nil: the scalar field for every member. Merge only.
	Densities []float64
	Betas     []float64
	Seed      uint64 // DARE's draws
	Threads   int32  // intra-op threads during the call; 0 = leave the current setting
	// Which tensors are merged (globs, as Params.IncludeTensors): the others are written as the
	// base has them (Merge) or kept at theta (merge functions). Empty: every tensor.
	IncludeTensors []string
	ExcludeTensors []string
	// MergekitCompat reproduces mergekit 0.1.5's arithmetic (Merge only; not for
	// MergeModelStock), rounded in ComputeDType (DTypeF32, DTypeF16, DTypeBF16, or DTypeDefault:
	// each tensor's own dtype). See fwmerge.h.
	MergekitCompat bool
	// MergekitExactTies (with MergekitCompat) also keeps the equal magnitudes at TIES /
	// breadcrumbs thresholds that mergekit keeps (mergekit_compat 2: bit-identical to mergekit,
	// each split tensor sorted).
	MergekitExactTies bool
	ComputeDType      DType
	// Overrides are per-tensor values (Merge and SetStartMerge), checked by the library.
	Overrides []MergeOverride
	// AllowOutsideLinks: as Params.AllowOutsideLinks, for Merge's base and pool folders.
	AllowOutsideLinks bool
	// FillMissingFromBase: as Params.FillMissingFromBase, for Merge's members.
	FillMissingFromBase bool

	// The parameters of the 0.5.0 methods (fw_merge_params v8, mergekit's names and defaults;
	// other methods ignore them). See fwmerge.h for each range.
	T       float64 // SLERP: the point on the arc, base 0 to member 1; NEARSWAP: distance scale
	Epsilon float64 // DELLA(_LINEAR): keep probability spread +-; RAM(PLUS_TL): change threshold
	// Epsilons (DELLA, DELLA_LINEAR) has one epsilon per pool member; nil: Epsilon for every
	// member. Merge only.
	Epsilons       []float64
	Eps            float64 // MULTISLERP: added to the norms it divides by
	Tol            float64 // KARCHER: convergence threshold
	SelectTopK     float64 // SCE: fraction of the varying entries kept, in [0, 1]
	RAMR           float64 // RAMPLUS_TL: r
	RAMAlpha       float64 // RAMPLUS_TL: alpha
	Scale          float64 // PASSTHROUGH: the member's multiplier
	MaxIter        int32   // KARCHER: iterations
	Rescale        bool    // DELLA(_LINEAR): survivors divided by their keep probability
	NuslerpFlatten bool    // NUSLERP: one angle per tensor
	NuslerpRowWise bool    // NUSLERP, not flattened: per column (dim 0) instead of per row
}

// DefaultMergeParams returns the library's defaults for method (fw_default_merge_params).
func DefaultMergeParams(method MergeMethod) MergeParams {
	n := swigfw.Fw_default_merge_params(swigfw.Fw_merge_method(method))
	defer swigfw.DeleteFw_merge_params(n)
	return MergeParams{
		Method:    MergeMethod(n.GetMethod()),
		Scaling:   n.GetScaling(),
		Density:   n.GetDensity(),
		DropRate:  n.GetDrop_rate(),
		Beta:      n.GetBeta(),
		Normalize: n.GetNormalize() != 0,
		Seed:      n.GetSeed(),
		Threads:   int32(n.GetThreads()),

		MergekitCompat:      n.GetMergekit_compat() != 0,
		MergekitExactTies:   n.GetMergekit_compat() == 2,
		ComputeDType:        DType(n.GetCompute_dtype()),
		AllowOutsideLinks:   n.GetAllow_outside_links() != 0,
		FillMissingFromBase: n.GetFill_missing_from_base() != 0,

		T:              n.GetT(),
		Epsilon:        n.GetEpsilon(),
		Eps:            n.GetEps(),
		Tol:            n.GetTol(),
		SelectTopK:     n.GetSelect_topk(),
		RAMR:           n.GetRam_r(),
		RAMAlpha:       n.GetRam_alpha(),
		Scale:          n.GetScale(),
		MaxIter:        int32(n.GetMax_iter()),
		Rescale:        n.GetRescale() != 0,
		NuslerpFlatten: n.GetNuslerp_flatten() != 0,
		NuslerpRowWise: n.GetNuslerp_row_wise() != 0,
	}
}

func doubleList(values []float64) swigfw.DoubleList {
	if values == nil {
		return swigfw.SwigcptrDoubleList(0)
	}
	l := swigfw.NewDoubleList()
	for _, v := range values {
		l.Add(v)
	}
	return l
}

func deleteDoubleList(l swigfw.DoubleList) {
	if l.Swigcptr() != 0 {
		swigfw.DeleteDoubleList(l)
	}
}

// checkArrays: the library reads poolSize entries of each per-member array.
func (p MergeParams) checkArrays(poolSize int) error {
	for _, a := range []struct {
		what   string
		values []float64
	}{{"weights", p.Weights}, {"densities", p.Densities}, {"betas", p.Betas}, {"epsilons", p.Epsilons}} {
		if a.values != nil && len(a.values) != poolSize {
			return &Error{Status: StatusInvalidArgument,
				Message: fmt.Sprintf("fwmerge: %d %s for a pool of %d", len(a.values), a.what, poolSize)}
		}
	}
	return nil
}

// native returns the C struct and a function that frees it and its arrays (after the call).
func (p MergeParams) native() (swigfw.Fw_merge_params, func()) {
	n := swigfw.Fw_default_merge_params(swigfw.Fw_merge_method(p.Method))
	n.SetScaling(p.Scaling)
	n.SetDensity(p.Density)
	n.SetDrop_rate(p.DropRate)
	n.SetBeta(p.Beta)
	n.SetNormalize(boolInt(p.Normalize))
	n.SetSeed(p.Seed)
	n.SetThreads(int(p.Threads))
	compat := boolInt(p.MergekitCompat)
	if p.MergekitCompat && p.MergekitExactTies {
		compat = 2
	}
	n.SetMergekit_compat(compat)
	n.SetCompute_dtype(swigfw.Fw_dtype(p.ComputeDType))
	n.SetAllow_outside_links(boolInt(p.AllowOutsideLinks))
	n.SetFill_missing_from_base(boolInt(p.FillMissingFromBase))
	n.SetT(p.T)
	n.SetEpsilon(p.Epsilon)
	n.SetEps(p.Eps)
	n.SetTol(p.Tol)
	n.SetSelect_topk(p.SelectTopK)
	n.SetRam_r(p.RAMR)
	n.SetRam_alpha(p.RAMAlpha)
	n.SetScale(p.Scale)
	n.SetMax_iter(int(p.MaxIter))
	n.SetRescale(boolInt(p.Rescale))
	n.SetNuslerp_flatten(boolInt(p.NuslerpFlatten))
	n.SetNuslerp_row_wise(boolInt(p.NuslerpRowWise))
	w, d, b := doubleList(p.Weights), doubleList(p.Densities), doubleList(p.Betas)
	swigfw.Merge_params_set_arrays(n, w, d, b)
	e := doubleList(p.Epsilons)
	swigfw.Merge_params_set_epsilons(n, e)
	filters, freeFilters := tensorFilters(p.IncludeTensors, p.ExcludeTensors)
	swigfw.Merge_params_set_filters(n, filters)
	var overrides swigfw.MergeOverrides = swigfw.SwigcptrMergeOverrides(0)
	if len(p.Overrides) > 0 {
		overrides = swigfw.NewMergeOverrides()
		for _, o := range p.Overrides {
			overrides.Add(o.Tensors, o.Member, swigfw.Fw_merge_field(o.Field), o.Value)
		}
	}
	swigfw.Merge_params_set_overrides(n, overrides)
	return n, func() {
		swigfw.DeleteFw_merge_params(n)
		deleteDoubleList(w)
		deleteDoubleList(d)
		deleteDoubleList(b)
		deleteDoubleList(e)
		freeFilters()
		if overrides.Swigcptr() != 0 {
			swigfw.DeleteMergeOverrides(overrides)
		}
	}
}

// Merge merges the pool members against base with a data-free method (fw_merge) and writes the
// result to out like Solver.Export does: atomically, one file or shards, the recipe in the
// metadata. Nothing is written on error.
func Merge(params MergeParams, base string, pool []string, out string, opts ExportOptions) error {
	return MergeContext(context.Background(), params, base, pool, out, opts)
}

// MergeContext is Merge stopped by ctx: the library polls ctx (through fw_merge's abort hook)
// before each tensor, and a cancelled ctx ends the merge with an *Error of StatusAborted whose
// Cause is ctx.Err(); nothing is written then.
func MergeContext(ctx context.Context, params MergeParams, base string, pool []string, out string,
	opts ExportOptions) error {
	if err := params.checkArrays(len(pool)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	o, freeOpts, err := opts.native()
	if err != nil {
		return err
	}
	defer freeOpts()
	n, free := params.native()
	defer free()
	paths := swigfw.NewStringList()
	defer swigfw.DeleteStringList(paths)
	for _, p := range pool {
		paths.Add(p)
	}
	var abort swigfw.Hooks = swigfw.SwigcptrHooks(0)
	if ctx.Done() != nil {
		h := newHooks()
		h.abort = func() bool { return ctx.Err() != nil }
		defer h.free()
		abort = h.director
	}
	err = call(func() swigfw.Fw_status { return swigfw.Merge(n, base, paths, out, o, abort) })
	if fe, ok := err.(*Error); ok && fe.Status == StatusAborted && ctx.Err() != nil {
		fe.Cause = ctx.Err()
	}
	return err
}

func contextError(err error) *Error {
	return &Error{Status: StatusAborted, Message: "fwmerge: " + err.Error(), Cause: err}
}

// SetMergeFunction sets the FW step's merge function (fw_solver_set_merge_function): nil (or
// MergeLinear) is the convex combination; TIES, DARE, breadcrumbs and task arithmetic apply to
// the step's directions and may leave the hull. Weights must be nil. Before the first step only.
func (s *Solver) SetMergeFunction(params *MergeParams) error {
	if params == nil {
		return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status {
			return swigfw.Fw_solver_set_merge_function(h, swigfw.SwigcptrFw_merge_params(0))
		})
	}
	n, free := params.native()
	defer free()
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_merge_function(h, n) })
}

// SetStartMerge starts from a data-free merge of the pool against the base
// (fw_solver_set_start_merge): an extra vertex, index -1 in StepInfo.Chosen. Before the first step only.
func (s *Solver) SetStartMerge(params MergeParams) error {
	if err := params.checkArrays(s.PoolSize()); err != nil {
		return err
	}
	n, free := params.native()
	defer free()
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_start_merge(h, n) })
}
