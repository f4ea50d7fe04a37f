package fwmerge

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// One closed-form step, SaveState, a fresh solver over the same pool, LoadState: it continues with
// the closed-form step 1, as the uninterrupted run in TestStepsMatchClosedForm does.
func TestSaveAndLoadStateContinueTheRun(t *testing.T) {
	dir := makePool(t)
	a := newPoolSolver(t, dir)
	if err := a.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Step(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "run.state")
	if err := a.SaveState(state); err != nil {
		t.Fatal(err)
	}
	b := newPoolSolver(t, dir)
	if err := b.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.LoadState(state); err != nil {
		t.Fatal(err)
	}
	if got := currentByName(t, b); !reflect.DeepEqual(got, map[string][]float32{"b": {1}, "w": {0.5, 0}}) {
		t.Errorf("theta_1 after LoadState = %v", got)
	}
	info, err := b.Step()
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 1, 0.5*(0.25+0.25+0.0625), 1, 1)

	// Another pool order is refused, and the solver keeps what it had.
	c, err := NewSolver(constantParams())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{"base.safetensors", "m1.safetensors", "m0.safetensors"} {
		if p == "base.safetensors" {
			err = c.SetBase(filepath.Join(dir, p))
		} else {
			_, err = c.AddMember(filepath.Join(dir, p))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.LoadState(state); !errors.Is(err, StatusState) {
		t.Errorf("LoadState with another pool order = %v; want FW_ERR_STATE", err)
	}
}

// An interrupt from another goroutine before the step: the step fails with StatusAborted, nothing
// changes, and the interrupt is consumed.
func TestInterruptFromAnotherGoroutine(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Interrupt(); close(done) }()
	<-done
	if _, err := s.Step(); !errors.Is(err, StatusAborted) {
		t.Fatalf("Step() after Interrupt = %v; want FW_ERR_ABORTED", err)
	}
	if h, _ := s.History(); len(h) != 0 {
		t.Errorf("history has %d steps after an interrupted step", len(h))
	}
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
}
