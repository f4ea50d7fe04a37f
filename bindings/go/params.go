package fwmerge

import (
	"strings"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// LMO selects the linear minimization oracle (fw_lmo).
type LMO int32

const (
	LMOHard LMO = 0 // argmin vertex (Algorithm 1)
	LMOSoft LMO = 1 // top-k vertices with simplex-optimized coefficients
)

// Granularity selects task-wise or layer-wise (block-coordinate) FW (fw_granularity).
type Granularity int32

const (
	TaskWise  Granularity = 0
	LayerWise Granularity = 1
)

// Score selects how a vertex is scored against the gradient (fw_score).
type Score int32

const (
	ScoreInner  Score = 0
	ScoreCosine Score = 1
)

// StepRule selects the hard LMO's step size rule (fw_step_rule).
type StepRule int32

const (
	StepLineSearch StepRule = 0
	StepSchedule   StepRule = 1
	StepConstant   StepRule = 2
)

// SoftSolver selects the soft LMO's inner solver (fw_soft_solver).
type SoftSolver int32

const (
	SoftSimplex SoftSolver = 0
	SoftCapped  SoftSolver = 1
	SoftAdam    SoftSolver = 2
	// SoftBox (0.3.3): each lambda in [0, 1], the sum unbounded; the step may leave the hull
	// (StepInfo.LeavesHull).
	SoftBox SoftSolver = 3
)

// TopKRule selects how the soft LMO picks its k vertices when the objective is a sum of terms
// (fw_topk_rule; terms come from SetObjectiveTerms, SetAskTellTerms or a TorchScript objective's
// Terms). With one term both rules are the same.
type TopKRule int32

const (
	// TopKSummed: the k best vertices for the whole objective's gradient.
	TopKSummed TopKRule = 0
	// TopKPerTerm (default): terms in turn, each term's own gradient picks its best vertex not
	// yet picked, until k = max(TopK, n_terms) vertices; a step then takes one gradient
	// evaluation per term at theta_t instead of one.
	TopKPerTerm TopKRule = 1
)

// DType is a tensor element type (fw_dtype).
type DType int32

// The floating types F32, F16 and BF16 are the solver's; the others are storage types that
// SaveTensors writes and LoadTensors reads as they are (0.3.1). TestEnumsMatchHeader checks the
// numbers against fwmerge.h.
const (
	DTypeDefault DType = -1 // export: keep each tensor's base dtype
	DTypeF32     DType = 0
	DTypeF16     DType = 1
	DTypeBF16    DType = 2
	DTypeF64     DType = 3
	DTypeI64     DType = 4
	DTypeI32     DType = 5
	DTypeI16     DType = 6
	DTypeI8      DType = 7
	DTypeU8      DType = 8
	DTypeBool    DType = 9 // one byte per element, 0 or 1
	DTypeU16     DType = 10
	DTypeU32     DType = 11
	DTypeU64     DType = 12
)

// DeviceType says where the solver keeps its model-sized tensors (fw_device_type).
type DeviceType int32

const (
	DeviceCPU  DeviceType = 0 // host memory
	DeviceCUDA DeviceType = 1 // CUDA device DeviceIndex (needs a LibTorch with CUDA)
)

// Size returns the bytes per element (0 for DTypeDefault or an unknown value).
func (d DType) Size() int {
	switch d {
	case DTypeF64, DTypeI64, DTypeU64:
		return 8
	case DTypeF32, DTypeI32, DTypeU32:
		return 4
	case DTypeF16, DTypeBF16, DTypeI16, DTypeU16:
		return 2
	case DTypeI8, DTypeU8, DTypeBool:
		return 1
	}
	return 0
}

// Params mirrors fw_params; start from DefaultParams. See fwmerge.h for each field.
type Params struct {
	LMO              LMO
	Granularity      Granularity
	BlockDepth       int32
	Score            Score
	TopK             int32
	StepRule         StepRule
	StepScale        float64
	LineSearchEvals  int32
	SoftSolver       SoftSolver
	SoftIters        int32
	SoftLR           float64
	SoftMemoryBudget uint64
	MaxIters         int32
	// MaxEvaluations is a budget of objective evaluations over the solver's life (0: none); a
	// step is taken only when its evaluations fit, see fwmerge.h.
	MaxEvaluations int64
	// TopKRule: how the soft LMO picks its vertices for a multi-term objective (TopKPerTerm by
	// default).
	TopKRule TopKRule
	Epsilon  float64
	Threads  int32
	Seed     uint64
	// Where and in which precision the solver keeps theta, the gradient and the candidates. The
	// views this binding hands out (objective, ask/tell, Current) are float32 in host memory: with
	// another WorkDType, or DeviceCUDA without HostViews, use the TorchScript objective.
	Device      DeviceType
	DeviceIndex int32
	WorkDType   DType
	HostViews   bool
	// Which tensors are merged: shell-style globs (fnmatch). A tensor is merged when it matches an
	// include pattern (or IncludeTensors is empty) and no exclude pattern; the others are exported
	// as the base has them. Empty: every tensor. Set before SetBase.
	IncludeTensors []string
	ExcludeTensors []string
	// AllowOutsideLinks follows symbolic links in model and adapter folders wherever they lead
	// (fw_params.allow_outside_links). Off: a file that links out of the folder it was named
	// through (a Hugging Face cache snapshot may link inside its cached repository) is
	// StatusInvalidArgument.
	AllowOutsideLinks bool
	// FillMissingFromBase lets pool members (and start files) lack floating-point tensors of the
	// base, which they then read from the base: a zero task vector there
	// (fw_params.fill_missing_from_base). Off: such a member is StatusNameMismatch.
	FillMissingFromBase bool
}

// DefaultParams returns the library's defaults (fw_default_params).
func DefaultParams() Params {
	n := swigfw.Fw_default_params()
	defer swigfw.DeleteFw_params(n)
	return Params{
		LMO:              LMO(n.GetLmo()),
		Granularity:      Granularity(n.GetGranularity()),
		BlockDepth:       int32(n.GetBlock_depth()),
		Score:            Score(n.GetScore()),
		TopK:             int32(n.GetTop_k()),
		StepRule:         StepRule(n.GetStep_rule()),
		StepScale:        n.GetStep_scale(),
		LineSearchEvals:  int32(n.GetLine_search_evals()),
		SoftSolver:       SoftSolver(n.GetSoft_solver()),
		SoftIters:        int32(n.GetSoft_iters()),
		SoftLR:           n.GetSoft_lr(),
		SoftMemoryBudget: n.GetSoft_memory_budget(),
		MaxIters:         int32(n.GetMax_iters()),
		MaxEvaluations:   n.GetMax_evaluations(),
		TopKRule:         TopKRule(n.GetTopk_rule()),
		Epsilon:          n.GetEpsilon(),
		Threads:          int32(n.GetThreads()),
		Seed:             n.GetSeed(),
		Device:           DeviceType(n.GetDevice()),
		DeviceIndex:      int32(n.GetDevice_index()),
		WorkDType:        DType(n.GetWork_dtype()),
		HostViews:        n.GetHost_views() != 0,

		AllowOutsideLinks:   n.GetAllow_outside_links() != 0,
		FillMissingFromBase: n.GetFill_missing_from_base() != 0,
	}
}

// tensorFilters returns the owning list of the globs (nil when both are empty) and its free.
func tensorFilters(include, exclude []string) (swigfw.TensorFilters, func()) {
	if len(include) == 0 && len(exclude) == 0 {
		return swigfw.SwigcptrTensorFilters(0), func() {}
	}
	f := swigfw.NewTensorFilters()
	for _, p := range include {
		f.Add_include(p)
	}
	for _, p := range exclude {
		f.Add_exclude(p)
	}
	return f, func() { swigfw.DeleteTensorFilters(f) }
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// native returns a C fw_params (struct_size set by the library) and a function that frees it and
// the filter strings it points to (after the call).
func (p Params) native() (swigfw.Fw_params, func()) {
	n := swigfw.Fw_default_params()
	n.SetLmo(swigfw.Fw_lmo(p.LMO))
	n.SetGranularity(swigfw.Fw_granularity(p.Granularity))
	n.SetBlock_depth(int(p.BlockDepth))
	n.SetScore(swigfw.Fw_score(p.Score))
	n.SetTop_k(int(p.TopK))
	n.SetStep_rule(swigfw.Fw_step_rule(p.StepRule))
	n.SetStep_scale(p.StepScale)
	n.SetLine_search_evals(int(p.LineSearchEvals))
	n.SetSoft_solver(swigfw.Fw_soft_solver(p.SoftSolver))
	n.SetSoft_iters(int(p.SoftIters))
	n.SetSoft_lr(p.SoftLR)
	n.SetSoft_memory_budget(p.SoftMemoryBudget)
	n.SetMax_iters(int(p.MaxIters))
	n.SetMax_evaluations(p.MaxEvaluations)
	n.SetTopk_rule(swigfw.Fw_topk_rule(p.TopKRule))
	n.SetEpsilon(p.Epsilon)
	n.SetThreads(int(p.Threads))
	n.SetSeed(p.Seed)
	n.SetDevice(swigfw.Fw_device_type(p.Device))
	n.SetDevice_index(int(p.DeviceIndex))
	n.SetWork_dtype(swigfw.Fw_dtype(p.WorkDType))
	n.SetHost_views(boolInt(p.HostViews))
	n.SetAllow_outside_links(boolInt(p.AllowOutsideLinks))
	n.SetFill_missing_from_base(boolInt(p.FillMissingFromBase))
	filters, freeFilters := tensorFilters(p.IncludeTensors, p.ExcludeTensors)
	swigfw.Params_set_filters(n, filters)
	return n, func() {
		swigfw.DeleteFw_params(n)
		freeFilters()
	}
}

// ExportOptions mirrors fw_export_options; start from DefaultExportOptions.
type ExportOptions struct {
	DType DType
	// MaxShardBytes > 0 makes the export path a folder of shards plus an index.
	MaxShardBytes uint64
	// HFFolder writes the path as a Hugging Face model folder (model.safetensors or shards, the
	// base folder's config and tokenizer files, a README.md model card); the path must not exist
	// or be an empty folder.
	HFFolder bool
	// ModelCard, with HFFolder, is the README.md text, written byte for byte ("": the card the
	// library writes, with the recipe). Without HFFolder the library rejects it
	// (StatusInvalidArgument). It must not contain NUL bytes.
	ModelCard string
}

// DefaultExportOptions returns the library's defaults (fw_default_export_options).
func DefaultExportOptions() ExportOptions {
	n := swigfw.Fw_default_export_options()
	defer swigfw.DeleteFw_export_options(n)
	return ExportOptions{DType: DType(n.GetDtype()), MaxShardBytes: n.GetMax_shard_bytes(),
		HFFolder: n.GetHf_folder() != 0}
}

// native returns the C struct and a function that frees it and the model card's C string (after
// the call that reads it).
func (o ExportOptions) native() (swigfw.Fw_export_options, func(), error) {
	if strings.IndexByte(o.ModelCard, 0) >= 0 {
		return nil, nil, &Error{Status: StatusInvalidArgument,
			Message: "fwmerge: ExportOptions.ModelCard contains a NUL byte"}
	}
	n := swigfw.Fw_default_export_options()
	n.SetDtype(swigfw.Fw_dtype(o.DType))
	n.SetMax_shard_bytes(o.MaxShardBytes)
	n.SetHf_folder(boolInt(o.HFFolder))
	var card swigfw.ModelCard = swigfw.SwigcptrModelCard(0)
	if o.ModelCard != "" {
		card = swigfw.NewModelCard()
		card.Assign(o.ModelCard)
	}
	swigfw.Export_options_set_model_card(n, card)
	return n, func() {
		swigfw.DeleteFw_export_options(n)
		if card.Swigcptr() != 0 {
			swigfw.DeleteModelCard(card)
		}
	}, nil
}
