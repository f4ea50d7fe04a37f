package fwmerge

import "github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"

// ObjectiveTerm is one term of the built-in objective's loss (fw_objective_term): a module method
// on a calibration input, cross-entropy against Labels or, without labels, prediction entropy.
type ObjectiveTerm struct {
	Method string  // module method returning logits [N, C]; "" = "forward"
	Inputs string  // calibration tensor name of the inputs [N, ...]
	Labels string  // calibration tensor name of the labels [N]; "": prediction entropy
	Weight float64 // finite, > 0
}

// TorchScriptObjective mirrors fw_torchscript_objective: a TorchScript module run by the
// library on calibration tensors (see fwmerge.h).
type TorchScriptObjective struct {
	ModulePath      string
	CalibrationPath string // .safetensors holding the terms' inputs and labels
	// ParamMap pairs (module parameter name, base tensor name); nil: every module parameter
	// whose name is a base tensor name.
	ParamMap [][2]string
	Terms    []ObjectiveTerm
}

// SetObjectiveTorchScript makes the library evaluate the objective itself with a TorchScript
// module (after SetBase); it replaces an objective set with SetObjective. On error the previous
// objective stays.
func (s *Solver) SetObjectiveTorchScript(objective TorchScriptObjective) error {
	if s.handle == nil {
		return ErrClosed
	}
	spec := swigfw.NewTorchScriptSpec()
	defer swigfw.DeleteTorchScriptSpec(spec)
	for _, t := range objective.Terms {
		spec.Add_term(t.Method, t.Inputs, t.Labels, t.Weight)
	}
	for _, p := range objective.ParamMap {
		spec.Add_param(p[0], p[1])
	}
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status {
		return swigfw.Set_objective_torchscript(h, objective.ModulePath, objective.CalibrationPath, spec)
	}); err != nil {
		return err
	}
	if s.objective != nil { // the library no longer calls the Go objective
		s.objective.free()
		s.objective = nil
	}
	return nil
}
