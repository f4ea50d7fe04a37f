package fwmerge

import (
	"context"
	"errors"
	"sync"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// LogLevel is the severity of a library log line (fw_log_level).
type LogLevel int32

const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
)

// hooks is the Go side of the SWIG director fwswig::Hooks: the library calls it through the C++
// trampolines on the goroutine's own thread, inside the call that steps (or merges).
//
// Panics must not cross back into C (the process would die), so each method recovers: a panic in
// the progress or log hook is ignored (the step has already succeeded, as in the Rust crate); a
// panic in the abort hook counts as "abort" (the work stops with StatusAborted).
type hooks struct {
	progress func(StepInfo)
	log      func(LogLevel, string)
	abort    func() bool
	director swigfw.Hooks
}

func newHooks() *hooks {
	h := &hooks{}
	h.director = swigfw.NewDirectorHooks(h)
	return h
}

func (h *hooks) free() {
	swigfw.DeleteDirectorHooks(h.director)
	h.director = nil
}

// Progress is called by the SWIG director.
func (h *hooks) Progress(info swigfw.Fw_step_info) {
	defer func() { _ = recover() }()
	if h.progress != nil {
		h.progress(stepInfoFrom(info))
	}
}

// Log is called by the SWIG director.
func (h *hooks) Log(level swigfw.Fw_log_level, message string) {
	defer func() { _ = recover() }()
	if h.log != nil {
		h.log(LogLevel(level), message)
	}
}

// Abort is called by the SWIG director.
func (h *hooks) Abort() (stop bool) {
	defer func() {
		if r := recover(); r != nil {
			stop = true
		}
	}()
	return h.abort != nil && h.abort()
}

func (s *Solver) solverHooks() *hooks {
	if s.hooks == nil {
		s.hooks = newHooks()
	}
	return s.hooks
}

// installHook sets one hook function (set) and registers or removes the trampoline.
func (s *Solver) installHook(set func(*hooks), present bool,
	install func(swigfw.Fw_solver, swigfw.Hooks) swigfw.Fw_status) error {
	if s.handle == nil {
		return ErrClosed
	}
	h := s.solverHooks()
	var director swigfw.Hooks = h.director
	if !present {
		director = swigfw.SwigcptrHooks(0)
	}
	if err := s.do(func(sh swigfw.Fw_solver) swigfw.Fw_status { return install(sh, director) }); err != nil {
		return err
	}
	set(h)
	return nil
}

// SetProgress installs fn, called after each completed step (Step, Run, FinishStep) with its
// info; nil removes it. A panic in fn is recovered and ignored.
func (s *Solver) SetProgress(fn func(StepInfo)) error {
	return s.installHook(func(h *hooks) { h.progress = fn }, fn != nil, swigfw.Set_progress)
}

// SetLog installs fn, which receives the library's log lines (one INFO line per step, ...); nil
// removes it. A panic in fn is recovered and ignored.
func (s *Solver) SetLog(fn func(LogLevel, string)) error {
	return s.installHook(func(h *hooks) { h.log = fn }, fn != nil, swigfw.Set_log)
}

// SetAbort installs fn, polled between tensors and evaluations: true (or a panic) aborts the
// step with StatusAborted and leaves the solver as before the step; nil removes it. Ask/tell
// steps do not consult it. StepContext and RunContext are the usual way to stop a call.
func (s *Solver) SetAbort(fn func() bool) error {
	return s.installHook(func(h *hooks) { h.abort = fn }, fn != nil, swigfw.Set_abort)
}

// afterContextInterrupt runs after a context watcher has interrupted a call (tests use it).
var afterContextInterrupt = func() {}

// withContext runs f, stopping it when ctx is done: a goroutine watching ctx.Done() calls
// fw_solver_interrupt (which any thread may call) while f runs. A ctx already done returns at
// once, without calling f.
func (s *Solver) withContext(ctx context.Context, f func() (StepInfo, error)) (StepInfo, error) {
	if s.handle == nil {
		return StepInfo{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return StepInfo{}, contextError(err)
	}
	if ctx.Done() == nil { // never cancelled
		return f()
	}
	var mu sync.Mutex
	running, fired := true, false
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			mu.Lock()
			if running {
				s.Interrupt()
				fired = true
			}
			mu.Unlock()
			if fired {
				afterContextInterrupt()
			}
		case <-stop:
		}
	}()
	info, err := f()
	mu.Lock()
	running = false
	mu.Unlock()
	close(stop)
	<-done
	if fired {
		var fe *Error
		if errors.As(err, &fe) && fe.Status == StatusAborted {
			fe.Cause = ctx.Err()
		} else {
			// The call ended before it polled the request: consume it, so that it does not
			// stop the next call.
			s.drainInterrupt()
		}
	}
	return info, err
}

// drainInterrupt consumes a pending fw_solver_interrupt request without changing the solver: an
// ask/tell step that is begun (it polls the request first), asked once and cancelled.
func (s *Solver) drainInterrupt() {
	_ = s.do(func(h swigfw.Fw_solver) swigfw.Fw_status {
		if st := swigfw.Fw_solver_step_begin(h); st != 0 {
			return st
		}
		req := swigfw.NewFw_request()
		defer swigfw.DeleteFw_request(req)
		req.SetStruct_size(swigfw.Request_size())
		swigfw.Fw_solver_step_ask(h, req)
		return swigfw.Fw_solver_step_cancel(h)
	})
}

// StepContext is Step stopped by ctx: when ctx is done before the step ends, the step returns an
// *Error of StatusAborted whose Cause is ctx.Err() (errors.Is(err, context.Canceled) holds), and
// the solver is as before the step.
func (s *Solver) StepContext(ctx context.Context) (StepInfo, error) {
	return s.withContext(ctx, s.Step)
}

// RunContext is Run stopped by ctx, like StepContext; the steps completed before ctx was done
// are kept (History has them).
func (s *Solver) RunContext(ctx context.Context) (StepInfo, error) {
	return s.withContext(ctx, s.Run)
}
