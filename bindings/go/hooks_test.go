package fwmerge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestProgressAndLogHooksSeeTheSteps(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	var seen []StepInfo
	if err := s.SetProgress(func(info StepInfo) { seen = append(seen, info) }); err != nil {
		t.Fatal(err)
	}
	var lines []string
	levels := map[LogLevel]int{}
	if err := s.SetLog(func(level LogLevel, message string) {
		lines = append(lines, message)
		levels[level]++
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("progress saw %d steps; want 2", len(seen))
	}
	checkStep(t, seen[0], 0, 0.5*(0.25+1+0.0625), 2, 0)
	checkStep(t, seen[1], 1, 0.5*(0.25+0.25+0.0625), 1, 1)
	// (fmt: LossAfter is NaN, which DeepEqual never finds equal)
	if history, _ := s.History(); fmt.Sprint(history) != fmt.Sprint(seen) {
		t.Errorf("progress %+v differs from history %+v", seen, history)
	}
	if levels[LogInfo] < 2 || len(lines) < 2 {
		t.Errorf("log lines %q (levels %v); want at least one INFO line per step", lines, levels)
	}

	// Removing the hooks: nothing more is reported.
	if err := s.SetProgress(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLog(nil); err != nil {
		t.Fatal(err)
	}
	p := constantParams()
	p.MaxIters = 3
	if err := s.SetParams(p); err != nil {
		t.Fatal(err)
	}
	n := len(lines)
	if _, err := s.Step(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || len(lines) != n {
		t.Errorf("removed hooks still called: %d steps, %d lines", len(seen), len(lines))
	}
}

// A panicking progress or log hook is recovered and ignored: the steps succeed.
func TestPanickingProgressAndLogHooksAreIgnored(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	calls := 0
	if err := s.SetProgress(func(StepInfo) { calls++; panic("progress hook") }); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLog(func(LogLevel, string) { panic("log hook") }); err != nil {
		t.Fatal(err)
	}
	last, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, last, 1, 0.5*(0.25+0.25+0.0625), 1, 1)
	if calls != 2 {
		t.Errorf("progress hook called %d times; want 2", calls)
	}
}

// An abort hook that returns true, or panics, aborts the step; the solver is unchanged.
func TestAbortHookAbortsAndPanicCountsAsAbort(t *testing.T) {
	for name, fn := range map[string]func() bool{
		"true":  func() bool { return true },
		"panic": func() bool { panic("abort hook") },
	} {
		t.Run(name, func(t *testing.T) {
			s := newPoolSolver(t, makePool(t))
			if err := s.SetObjective(quadratic(t)); err != nil {
				t.Fatal(err)
			}
			before := currentByName(t, s)
			if err := s.SetAbort(fn); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Step(); !errors.Is(err, StatusAborted) {
				t.Fatalf("Step() = %v; want FW_ERR_ABORTED", err)
			}
			if h, _ := s.History(); len(h) != 0 || !reflect.DeepEqual(currentByName(t, s), before) {
				t.Errorf("an aborted step changed the solver")
			}
			if err := s.SetAbort(nil); err != nil {
				t.Fatal(err)
			}
			info, err := s.Step()
			if err != nil {
				t.Fatal(err)
			}
			checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
		})
	}
}

func TestContextAlreadyCancelled(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range []func(context.Context) (StepInfo, error){s.StepContext, s.RunContext} {
		_, err := f(ctx)
		var fe *Error
		if !errors.As(err, &fe) || fe.Status != StatusAborted || !errors.Is(err, context.Canceled) {
			t.Errorf("call with a cancelled context = %v; want FW_ERR_ABORTED wrapping context.Canceled", err)
		}
	}
	if h, _ := s.History(); len(h) != 0 {
		t.Errorf("history has %d steps", len(h))
	}
	// A context that is never cancelled changes nothing.
	info, err := s.StepContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
}

// Cancelling the context while step 1 evaluates its objective: the watcher interrupts the
// solver, step 1 ends with FW_ERR_ABORTED, step 0 stays, and the solver goes on from theta_1.
func TestRunContextCancelledDuringAStep(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	interrupted := make(chan struct{}, 1)
	afterContextInterrupt = func() { interrupted <- struct{}{} }
	defer func() { afterContextInterrupt = func() {} }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inner := quadratic(t)
	if err := s.SetObjective(func(params, grads []Tensor) (float64, error) {
		if h, _ := s.History(); len(h) == 1 { // step 1
			cancel()
			select {
			case <-interrupted:
			case <-time.After(10 * time.Second):
				t.Error("the context watcher did not interrupt the solver")
			}
		}
		return inner(params, grads)
	}); err != nil {
		t.Fatal(err)
	}
	p := constantParams()
	p.MaxIters = 5
	if err := s.SetParams(p); err != nil {
		t.Fatal(err)
	}
	_, err := s.RunContext(ctx)
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != StatusAborted || !errors.Is(err, context.Canceled) ||
		!strings.Contains(fe.Message, "interrupt") {
		t.Fatalf("RunContext = %v; want FW_ERR_ABORTED (interrupted) wrapping context.Canceled", err)
	}
	if h, _ := s.History(); len(h) != 1 {
		t.Fatalf("history has %d steps; want 1", len(h))
	}
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {1}, "w": {0.5, 0}}) {
		t.Errorf("theta after the cancelled run = %v; want theta_1", got)
	}
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 1, 0.5*(0.25+0.25+0.0625), 1, 1)
}

// An interrupt that the call it was meant for never polled is consumed, so the next call runs.
func TestDrainInterruptConsumesAPendingRequest(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	s.Interrupt()
	s.drainInterrupt()
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
	s.drainInterrupt() // nothing pending: no change
	if h, _ := s.History(); len(h) != 1 {
		t.Errorf("history has %d steps", len(h))
	}
}
