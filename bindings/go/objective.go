package fwmerge

import (
	"fmt"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// Objective computes the loss at params and, when grads is non-nil, writes the gradient into
// grads (zero-filled views, one per tensor, same shapes). Both slices and every Data in them are
// views of library memory that die when the function returns.
//
// A returned error, or a panic, ends the step with StatusCallback and the message in the step's
// error; the solver is left as before the step.
type Objective func(params, grads []Tensor) (float64, error)

// AllTerms is the term a TermsObjective (and Request.Term) reads for the whole objective
// (FW_ALL_TERMS; TestTopKRuleDefaultIsPerTerm checks it against the header).
const AllTerms int32 = -1

// TermsObjective is a multi-term objective l = l_0 + ... + l_{n-1} (fw_objective_terms_fn): it
// evaluates term (0 <= term < n) alone, or the whole objective when term is AllTerms, otherwise
// as an Objective (same views, same failure rules). The terms must add up to the whole objective;
// with TopKPerTerm each term's gradient picks its own vertex of the soft LMO.
type TermsObjective func(term int32, params, grads []Tensor) (float64, error)

// evaluateHost converts the director's views and runs fn on them. A panic must not cross back
// into C (the process would die), so it is recovered here and reported through fail like a
// returned error; the trampoline then reports FW_ERR_CALLBACK.
func evaluateHost(fail func(string), params, grads swigfw.Fw_tensor, n int64,
	fn func(p, g []Tensor) (float64, error)) (loss float64) {
	defer func() {
		if r := recover(); r != nil {
			fail(fmt.Sprintf("panic in Go objective: %v", r))
			loss = 0
		}
	}()
	p, err := views(params, n)
	var g []Tensor
	if err == nil {
		g, err = views(grads, n)
	}
	if err != nil {
		fail(err.Error())
		return 0
	}
	value, err := fn(p, g)
	if err != nil {
		fail(err.Error())
		return 0
	}
	return value
}

// bridge is the Go side of the SWIG directors fwswig::Objective and fwswig::TermsObjective (one
// of fn / terms is set): the library calls Evaluate through the C++ trampoline on the
// goroutine's own thread, inside fw_solver_step / fw_solver_run.
type bridge struct {
	fn       Objective
	director swigfw.Objective

	terms         TermsObjective
	termsDirector swigfw.TermsObjective
}

func newBridge(fn Objective) *bridge {
	b := &bridge{fn: fn}
	b.director = swigfw.NewDirectorObjective(b)
	return b
}

func newTermsBridge(fn TermsObjective) *bridge {
	b := &bridge{terms: fn}
	b.termsDirector = swigfw.NewDirectorTermsObjective(&termsEvaluator{b})
	return b
}

// Evaluate is called by the SWIG director fwswig::Objective.
func (b *bridge) Evaluate(params, grads swigfw.Fw_tensor, n int64) float64 {
	return evaluateHost(func(m string) { b.director.Fail(m) }, params, grads, n, b.fn)
}

// termsEvaluator is what the fwswig::TermsObjective director calls (its Evaluate takes the term,
// so it cannot be bridge's own Evaluate).
type termsEvaluator struct{ b *bridge }

// Evaluate is called by the SWIG director fwswig::TermsObjective.
func (e *termsEvaluator) Evaluate(term int, params, grads swigfw.Fw_tensor, n int64) float64 {
	return evaluateHost(func(m string) { e.b.termsDirector.Fail(m) }, params, grads, n,
		func(p, g []Tensor) (float64, error) { return e.b.terms(int32(term), p, g) })
}

func (b *bridge) free() {
	if b.director != nil {
		swigfw.DeleteDirectorObjective(b.director)
		b.director = nil
	}
	if b.termsDirector != nil {
		swigfw.DeleteDirectorTermsObjective(b.termsDirector)
		b.termsDirector = nil
	}
}
