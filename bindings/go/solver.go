package fwmerge

import (
	"errors"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// ErrClosed is returned by methods of a Solver after Close.
var ErrClosed = errors.New("fwmerge: solver is closed")

// Solver is one FW-Merging run: a base, a pool of fine-tuned checkpoints and a host objective.
// Close releases it. A Solver is used by one goroutine at a time.
type Solver struct {
	handle    swigfw.Fw_solver
	objective *bridge
	hooks     *hooks // progress, log and abort functions, one director for the three
}

// NewSolver creates a solver with the given parameters (start from DefaultParams).
func NewSolver(params Params) (*Solver, error) {
	native, free := params.native()
	defer free()
	box := swigfw.NewSolverBox()
	defer swigfw.DeleteSolverBox(box)
	if err := call(func() swigfw.Fw_status { return swigfw.Solver_new(native, box) }); err != nil {
		return nil, err
	}
	return &Solver{handle: box.GetHandle()}, nil
}

// Close frees the solver and its objective. Closing twice is a no-op.
func (s *Solver) Close() error {
	if s.handle == nil {
		return nil
	}
	swigfw.Fw_solver_free(s.handle)
	s.handle = nil
	if s.objective != nil {
		s.objective.free()
		s.objective = nil
	}
	if s.hooks != nil {
		s.hooks.free()
		s.hooks = nil
	}
	return nil
}

func (s *Solver) do(f func(h swigfw.Fw_solver) swigfw.Fw_status) error {
	if s.handle == nil {
		return ErrClosed
	}
	return call(func() swigfw.Fw_status { return f(s.handle) })
}

// SetParams replaces the parameters (allowed between steps).
func (s *Solver) SetParams(params Params) error {
	native, free := params.native()
	defer free()
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_params(h, native) })
}

// SetBase sets the pre-trained model (file or Hugging Face folder); it resets the solver.
func (s *Solver) SetBase(path string) error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_base(h, path) })
}

// AddMember adds a fine-tuned checkpoint to the pool and returns its pool index.
func (s *Solver) AddMember(path string) (int, error) {
	if s.handle == nil {
		return -1, ErrClosed
	}
	index := int(swigfw.Fw_solver_pool_size(s.handle)) // pool indices are assigned in order
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_pool_add(h, path, nil) }); err != nil {
		return -1, err
	}
	return index, nil
}

// PoolSize returns the number of pool members.
func (s *Solver) PoolSize() int {
	if s.handle == nil {
		return 0
	}
	return int(swigfw.Fw_solver_pool_size(s.handle))
}

// SetStartMember starts from a pool member instead of the base (before the first step).
func (s *Solver) SetStartMember(index int) error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_start_member(h, index) })
}

// SetStartFile starts from a checkpoint that is not in the pool (before the first step).
func (s *Solver) SetStartFile(path string) error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_set_start_file(h, path) })
}

// SetObjective installs the host objective used by Step and Run.
func (s *Solver) SetObjective(fn Objective) error {
	if s.handle == nil {
		return ErrClosed
	}
	if fn == nil {
		return &Error{Status: StatusInvalidArgument, Message: "fwmerge: nil objective"}
	}
	b := newBridge(fn)
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Set_objective(h, b.director) }); err != nil {
		b.free()
		return err
	}
	if s.objective != nil {
		s.objective.free() // the library no longer refers to it
	}
	s.objective = b
	return nil
}

// SetObjectiveTerms installs a multi-term host objective of nTerms terms used by Step and Run
// (fw_solver_set_objective_terms_callback); it replaces any objective set before.
func (s *Solver) SetObjectiveTerms(fn TermsObjective, nTerms int32) error {
	if s.handle == nil {
		return ErrClosed
	}
	if fn == nil {
		return &Error{Status: StatusInvalidArgument, Message: "fwmerge: nil objective"}
	}
	b := newTermsBridge(fn)
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status {
		return swigfw.Set_objective_terms(h, b.termsDirector, int(nTerms))
	}); err != nil {
		b.free()
		return err
	}
	if s.objective != nil {
		s.objective.free() // the library no longer refers to it
	}
	s.objective = b
	return nil
}

// stepWith runs fw_solver_step or fw_solver_run and converts the step info.
func (s *Solver) stepWith(f func(swigfw.Fw_solver, swigfw.Fw_step_info) swigfw.Fw_status) (StepInfo, error) {
	native := newNativeStepInfo()
	defer swigfw.DeleteFw_step_info(native)
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return f(h, native) }); err != nil {
		return StepInfo{}, err
	}
	return stepInfoFrom(native), nil
}

// Step takes one FW iteration with the objective. On error the solver is unchanged.
func (s *Solver) Step() (StepInfo, error) { return s.stepWith(swigfw.Fw_solver_step) }

// Run steps until MaxIters steps in total or the gap <= Epsilon; it returns the last step's info.
func (s *Solver) Run() (StepInfo, error) { return s.stepWith(swigfw.Fw_solver_run) }

// History returns the info of every completed step.
func (s *Solver) History() ([]StepInfo, error) {
	if s.handle == nil {
		return nil, ErrClosed
	}
	count := swigfw.Fw_solver_history_size(s.handle)
	out := make([]StepInfo, 0, count)
	native := newNativeStepInfo()
	defer swigfw.DeleteFw_step_info(native)
	for i := 0; i < count; i++ {
		if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_history_get(h, i, native) }); err != nil {
			return nil, err
		}
		out = append(out, stepInfoFrom(native))
	}
	return out, nil
}

// BlockName returns the name of block b (layer-wise: a tensor name or prefix; task-wise: "").
func (s *Solver) BlockName(block int) string {
	if s.handle == nil {
		return ""
	}
	return swigfw.Fw_solver_block_name(s.handle, block)
}

// Current returns views of the current merged tensors (fp32, base order), valid until the next
// step, reset or Close. Use Tensor.Clone to keep them.
func (s *Solver) Current() ([]Tensor, error) {
	array := swigfw.NewTensorArray()
	defer swigfw.DeleteTensorArray(array)
	if err := s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Current(h, array) }); err != nil {
		return nil, err
	}
	return views(array.GetItems(), array.GetN())
}

// Export writes the current merged model to path (see ExportOptions).
func (s *Solver) Export(path string, opts ExportOptions) error {
	native, free, err := opts.native()
	if err != nil {
		return err
	}
	defer free()
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_export(h, path, native) })
}

// SaveState writes what the run has computed so far (iterate, history, start point, the pool's
// identity) to path, atomically; a solver set up the same way continues it after LoadState.
func (s *Solver) SaveState(path string) error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_state_save(h, path) })
}

// LoadState restores a state saved by SaveState (possibly in another process) into this solver,
// which must have the same base, pool (in order), blocks and merge function.
func (s *Solver) LoadState(path string) error {
	return s.do(func(h swigfw.Fw_solver) swigfw.Fw_status { return swigfw.Fw_solver_state_load(h, path) })
}

// Interrupt stops the call in progress on this solver (Step, Run, an ask/tell step, Export,
// SaveState), or the next one, with an error whose status is StatusAborted; the solver stays as
// before the step. Unlike the other methods it may be called from any goroutine, as long as the
// solver is not being closed.
func (s *Solver) Interrupt() {
	if h := s.handle; h != nil {
		swigfw.Fw_solver_interrupt(h)
	}
}
