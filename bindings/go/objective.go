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

// bridge is the Go side of the SWIG director fwswig::Objective: the library calls Evaluate
// through the C++ trampoline on the goroutine's own thread, inside fw_step / fw_run.
type bridge struct {
	fn       Objective
	director swigfw.Objective
}

func newBridge(fn Objective) *bridge {
	b := &bridge{fn: fn}
	b.director = swigfw.NewDirectorObjective(b)
	return b
}

// Evaluate is called by the SWIG director. A panic must not cross back into C (the process would
// die), so it is recovered here and reported through Fail like a returned error.
func (b *bridge) Evaluate(params, grads swigfw.Fw_tensor, n int64) (loss float64) {
	defer func() {
		if r := recover(); r != nil {
			b.director.Fail(fmt.Sprintf("panic in Go objective: %v", r))
			loss = 0
		}
	}()
	p, err := views(params, n)
	var g []Tensor
	if err == nil {
		g, err = views(grads, n)
	}
	if err != nil {
		b.director.Fail(err.Error())
		return 0
	}
	value, err := b.fn(p, g)
	if err != nil {
		b.director.Fail(err.Error())
		return 0
	}
	return value
}

func (b *bridge) free() {
	swigfw.DeleteDirectorObjective(b.director)
	b.director = nil
}
