package fwmerge

import "github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"

// StepInfo describes one FW step (fw_step_info). Chosen and Lambdas are Go-owned copies.
type StepInfo struct {
	Iteration   int     // t, 0-based
	Loss        float64 // loss at the start of the step
	LossAfter   float64 // loss after the step when the step evaluated it, else NaN
	Gap         float64 // FW gap
	Gamma       float64 // hard: step size; soft: mean over blocks of the summed coefficients
	Converged   bool    // gap <= epsilon: theta unchanged, nothing more to do
	Evaluations int     // objective evaluations spent in this step
	NBlocks     int     // 1 task-wise; number of blocks layer-wise
	K           int     // vertices per block
	Chosen      []int32 // NBlocks*K vertex indices (pool index, -1 = start vertex)
	Lambdas     []float64
	LeavesHull  bool // the merge function may leave the convex hull
}

func newNativeStepInfo() swigfw.Fw_step_info {
	n := swigfw.NewFw_step_info()
	n.SetStruct_size(swigfw.Step_info_size()) // an output struct: the size this binding knows
	return n
}

func stepInfoFrom(n swigfw.Fw_step_info) StepInfo {
	info := StepInfo{
		Iteration:   n.GetIteration(),
		Loss:        n.GetLoss(),
		LossAfter:   n.GetLoss_after(),
		Gap:         n.GetGap(),
		Gamma:       n.GetGamma(),
		Converged:   n.GetConverged() != 0,
		Evaluations: n.GetEvaluations(),
		NBlocks:     n.GetN_blocks(),
		K:           n.GetK(),
		LeavesHull:  n.GetLeaves_hull() != 0,
	}
	count := info.NBlocks * info.K
	if count > 0 {
		info.Chosen = make([]int32, count)
		info.Lambdas = make([]float64, count)
		for i := 0; i < count; i++ {
			info.Chosen[i] = int32(swigfw.Chosen_at(n, i))
			info.Lambdas[i] = swigfw.Lambda_at(n, i)
		}
	}
	return info
}
