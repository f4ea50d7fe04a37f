package fwmerge

import (
	"runtime"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// Request is what the step in progress asks for (fw_request). Params and Grads are views valid
// until Tell or CancelStep; Grads is nil when only the loss is wanted.
type Request struct {
	Done         bool // the step has ended: call FinishStep
	NeedGradient bool
	Params       []Tensor
	Grads        []Tensor
	// Term is what to evaluate: AllTerms (the whole objective; always, unless the host declared
	// terms with SetAskTellTerms) or one term alone (see TermsObjective).
	Term int32
}

// SetAskTellTerms declares that the objective the host evaluates over ask/tell has nTerms terms
// (default 1; kept across steps): requests then name a term (Request.Term), see TopKRule. Not
// allowed while a step is pending (StatusState).
func (s *Solver) SetAskTellTerms(nTerms int32) error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_ask_tell_terms(h, int(nTerms)) })
}

// BeginStep starts an ask/tell step: the host evaluates the objective itself, e.g.
//
//	s.BeginStep()
//	for req, err := s.Ask(); err == nil && !req.Done; req, err = s.Ask() {
//	    loss := evaluate(req.Params, req.Grads)
//	    s.Tell(loss, nil)
//	}
//	info, err := s.FinishStep()
func (s *Solver) BeginStep() error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_step_begin(h) })
}

// Ask returns the next evaluation the step needs, or a Request with Done set.
func (s *Solver) Ask() (Request, error) {
	native := swigfw.NewFw_request()
	defer swigfw.DeleteFw_request(native)
	native.SetStruct_size(swigfw.Request_size())
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_step_ask(h, native) }); err != nil {
		return Request{}, err
	}
	req := Request{Done: native.GetDone() != 0, NeedGradient: native.GetNeed_gradient() != 0,
		Term: int32(native.GetTerm())}
	if !req.Done {
		// Views Go cannot read (not float32 host memory) leave the evaluation pending: the host
		// ends the step with CancelStep (or Tell with an error).
		var err error
		if req.Params, err = views(native.GetParams(), native.GetN()); err != nil {
			return Request{}, err
		}
		if req.NeedGradient {
			if req.Grads, err = views(native.GetGrads(), native.GetN()); err != nil {
				return Request{}, err
			}
		}
	}
	return req, nil
}

// Tell answers the last Ask with the loss (the gradient is already in its Grads). A non-nil
// hostErr fails the step like a failing objective: FinishStep then returns StatusCallback with
// hostErr's message.
func (s *Solver) Tell(loss float64, hostErr error) error {
	if s.handle == nil {
		return ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	status := swigfw.Fw_status(StatusOK)
	if hostErr != nil {
		swigfw.Fw_set_callback_error(hostErr.Error())
		status = swigfw.Fw_status(StatusCallback)
	}
	return statusError(swigfw.Fw_solver_step_tell(s.handle, status, loss))
}

// FinishStep ends the step: it commits on success and returns the step's error otherwise.
func (s *Solver) FinishStep() (StepInfo, error) { return s.stepWith(swigfw.Fw_solver_step_finish) }

// CancelStep abandons the step in progress; the solver is as before BeginStep.
func (s *Solver) CancelStep() error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_step_cancel(h) })
}
