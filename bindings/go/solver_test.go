package fwmerge

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The pool of these tests: tensors b [1] and w [2].
//
//	base: b=[0]  w=[0,0]     m0: b=[2]  w=[1,0]     m1: b=[-1] w=[0,1]
//
// Objective 0.5*||theta - target||^2 with target b=[0.5], w=[1,0.25]: gradient theta - target.
// Step 0 from the base: g = (b:-0.5, w:-1,-0.25); scores <g,m0> = -2, <g,m1> = 0.25, <g,base> = 0,
// so the hard LMO picks m0; gap = <-g, m0 - base> = 0.5*2 + 1*1 = 2; loss = 0.5*(0.25+1+0.0625).
// With the constant step gamma = 0.5: theta_1 = b=[1], w=[0.5,0].
// Step 1: g = (b:0.5, w:-0.5,-0.25); <g,m0> = 1-0.5 = 0.5, <g,m1> = -0.5-0.25 = -0.75,
// <g,base> = 0, so m1; gap = <-g, m1 - theta_1> = -0.5*(-2) + 0.5*(-0.5) + 0.25*1 = 1;
// loss = 0.5*(0.25+0.25+0.0625); theta_2 = 0.5*theta_1 + 0.5*m1 = b=[0], w=[0.25,0.5].
var target = map[string][]float32{"b": {0.5}, "w": {1, 0.25}}

func makePool(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	write := func(name string, b []float32, w []float32) {
		writeSafetensors(t, filepath.Join(dir, name), []testTensor{
			{"b", []int64{1}, b}, {"w", []int64{2}, w},
		})
	}
	write("base.safetensors", []float32{0}, []float32{0, 0})
	write("m0.safetensors", []float32{2}, []float32{1, 0})
	write("m1.safetensors", []float32{-1}, []float32{0, 1})
	return dir
}

// quadratic is the tests' objective; it also checks the views it is given.
func quadratic(t *testing.T) Objective {
	return func(params, grads []Tensor) (float64, error) {
		loss := 0.0
		for i, p := range params {
			tg, ok := target[p.Name]
			if !ok || len(p.Data) != len(tg) || len(p.Shape) != 1 || p.Shape[0] != int64(len(tg)) {
				t.Errorf("unexpected view %q shape %v len %d", p.Name, p.Shape, len(p.Data))
				continue
			}
			for e, v := range p.Data {
				d := v - tg[e]
				loss += 0.5 * float64(d) * float64(d)
				if grads != nil {
					if grads[i].Name != p.Name || grads[i].Data[e] != 0 {
						t.Errorf("gradient view %q not zero-filled or out of order", grads[i].Name)
					}
					grads[i].Data[e] = d
				}
			}
		}
		return loss, nil
	}
}

func constantParams() Params {
	p := DefaultParams()
	p.StepRule = StepConstant
	p.StepScale = 0.5
	p.MaxIters = 2
	p.Epsilon = 0
	p.Threads = 1
	return p
}

func newPoolSolver(t *testing.T, dir string) *Solver {
	t.Helper()
	s, err := NewSolver(constantParams())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		t.Fatal(err)
	}
	for want, name := range []string{"m0.safetensors", "m1.safetensors"} {
		got, err := s.AddMember(filepath.Join(dir, name))
		if err != nil || got != want {
			t.Fatalf("AddMember(%s) = %d, %v; want %d", name, got, err, want)
		}
	}
	return s
}

func currentByName(t *testing.T, s *Solver) map[string][]float32 {
	t.Helper()
	views, err := s.Current()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, v := range views {
		out[v.Name] = v.Clone().Data
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func checkStep(t *testing.T, info StepInfo, iteration int, loss, gap float64, chosen int32) {
	t.Helper()
	if info.Iteration != iteration || !near(info.Loss, loss) || !near(info.Gap, gap) ||
		!near(info.Gamma, 0.5) || info.Converged || info.NBlocks != 1 || info.K != 1 ||
		!reflect.DeepEqual(info.Chosen, []int32{chosen}) || !near(info.Lambdas[0], 0.5) ||
		info.Evaluations < 1 || info.LeavesHull {
		t.Errorf("step %d: got %+v; want loss %v gap %v chosen %d gamma 0.5", iteration, info, loss, gap, chosen)
	}
}

func TestVersion(t *testing.T) {
	if Version() != "0.5.0" {
		t.Errorf("Version() = %q", Version())
	}
	// "1.13.0" (Debian's LibTorch) or "2.15.0+cu132" (a pip torch's): MAJOR.MINOR.PATCH first.
	if lt := LibtorchVersion(); len(strings.Split(strings.SplitN(lt, "+", 2)[0], ".")) != 3 || lt[0] < '1' || lt[0] > '9' {
		t.Errorf("LibtorchVersion() = %q", lt)
	}
	if StatusCallback.String() != "FW_ERR_CALLBACK" {
		t.Errorf("StatusCallback.String() = %q", StatusCallback.String())
	}
}

func TestStepsMatchClosedForm(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {1}, "w": {0.5, 0}}) {
		t.Errorf("theta_1 = %v", got)
	}
	last, err := s.Run() // one more step: MaxIters is 2 in total
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, last, 1, 0.5*(0.25+0.25+0.0625), 1, 1)
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {0}, "w": {0.25, 0.5}}) {
		t.Errorf("theta_2 = %v", got)
	}
	history, err := s.History()
	if err != nil || len(history) != 2 {
		t.Fatalf("History() = %+v, %v", history, err)
	}
	checkStep(t, history[0], 0, 0.5*(0.25+1+0.0625), 2, 0)
	checkStep(t, history[1], 1, 0.5*(0.25+0.25+0.0625), 1, 1)
}

func TestExportWritesCurrentTensors(t *testing.T) {
	dir := makePool(t)
	s := newPoolSolver(t, dir)
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged.safetensors")
	if err := s.Export(out, DefaultExportOptions()); err != nil {
		t.Fatal(err)
	}
	tensors, meta := readSafetensors(t, out)
	if !reflect.DeepEqual(sortedNames(tensors), []string{"b", "w"}) {
		t.Fatalf("exported names %v", sortedNames(tensors))
	}
	if b := tensors["b"]; b.dtype != "F32" || !reflect.DeepEqual(b.shape, []int64{1}) || !reflect.DeepEqual(b.data, []float32{1}) {
		t.Errorf("b = %+v", b)
	}
	if w := tensors["w"]; !reflect.DeepEqual(w.shape, []int64{2}) || !reflect.DeepEqual(w.data, []float32{0.5, 0}) {
		t.Errorf("w = %+v", w)
	}
	if meta["format"] != "pt" || !strings.Contains(meta["fwmerge.recipe"], "m0.safetensors") {
		t.Errorf("metadata %v", meta)
	}
}

// A failing host objective must fail the step with StatusCallback and the host's message, and
// leave the solver exactly as it was; the solver stays usable.
func TestObjectiveErrorAndPanicLeaveSolverUnchanged(t *testing.T) {
	cases := []struct {
		name    string
		fn      Objective
		message string
	}{
		{"error", func(params, grads []Tensor) (float64, error) {
			return 0, errors.New("host says no")
		}, "host says no"},
		{"panic", func(params, grads []Tensor) (float64, error) {
			if grads != nil {
				grads[0].Data[0] = 42 // a partial write must not leak into the solver
			}
			panic("boom in the objective")
		}, "panic in Go objective: boom in the objective"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newPoolSolver(t, makePool(t))
			if err := s.SetObjective(quadratic(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Step(); err != nil {
				t.Fatal(err)
			}
			before := currentByName(t, s)
			if err := s.SetObjective(c.fn); err != nil {
				t.Fatal(err)
			}
			_, err := s.Step()
			var fe *Error
			if !errors.As(err, &fe) || fe.Status != StatusCallback || !errors.Is(err, StatusCallback) ||
				!strings.Contains(fe.Message, c.message) {
				t.Fatalf("Step() error = %v; want FW_ERR_CALLBACK with %q", err, c.message)
			}
			if after := currentByName(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("solver changed: %v -> %v", before, after)
			}
			if h, _ := s.History(); len(h) != 1 {
				t.Errorf("history has %d steps after a failed step; want 1", len(h))
			}
			// Still usable: the next step is the closed-form step 1.
			if err := s.SetObjective(quadratic(t)); err != nil {
				t.Fatal(err)
			}
			info, err := s.Step()
			if err != nil {
				t.Fatal(err)
			}
			checkStep(t, info, 1, 0.5*(0.25+0.25+0.0625), 1, 1)
		})
	}
}

// askTellStep evaluates the requests of one step with the quadratic objective.
func askTellStep(t *testing.T, s *Solver) (StepInfo, error) {
	t.Helper()
	if err := s.BeginStep(); err != nil {
		t.Fatal(err)
	}
	fn := quadratic(t)
	for {
		req, err := s.Ask()
		if err != nil {
			t.Fatal(err)
		}
		if req.Done {
			break
		}
		if req.NeedGradient != (req.Grads != nil) {
			t.Fatalf("NeedGradient %v with grads %v", req.NeedGradient, req.Grads)
		}
		loss, _ := fn(req.Params, req.Grads)
		if err := s.Tell(loss, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s.FinishStep()
}

func TestAskTellMatchesCallbackSteps(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	info, err := askTellStep(t, s)
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
	info, err = askTellStep(t, s)
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 1, 0.5*(0.25+0.25+0.0625), 1, 1)
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {0}, "w": {0.25, 0.5}}) {
		t.Errorf("theta_2 = %v", got)
	}
}

func TestAskTellHostErrorAndCancel(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	before := currentByName(t, s)

	if err := s.BeginStep(); err != nil {
		t.Fatal(err)
	}
	if req, err := s.Ask(); err != nil || req.Done {
		t.Fatalf("Ask() = %+v, %v", req, err)
	}
	if err := s.Tell(0, errors.New("cluster unavailable")); err != nil && !errors.Is(err, StatusCallback) {
		t.Fatalf("Tell(error) = %v", err)
	}
	for { // the step has ended: Ask reports Done
		req, err := s.Ask()
		if err != nil || req.Done {
			break
		}
		t.Fatal("the step asked again after a failed evaluation")
	}
	_, err := s.FinishStep()
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != StatusCallback || !strings.Contains(fe.Message, "cluster unavailable") {
		t.Fatalf("FinishStep() = %v; want FW_ERR_CALLBACK with the host's message", err)
	}
	if after := currentByName(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("solver changed: %v -> %v", before, after)
	}

	if err := s.BeginStep(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ask(); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelStep(); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(); len(h) != 0 {
		t.Errorf("history has %d steps after cancel", len(h))
	}
	if after := currentByName(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("solver changed by a cancelled step: %v -> %v", before, after)
	}
}

func TestErrorsCarryStatusAndMessage(t *testing.T) {
	dir := makePool(t)
	s, err := NewSolver(constantParams())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	err = s.SetBase(filepath.Join(dir, "missing.safetensors"))
	if !errors.Is(err, StatusIO) || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("SetBase(missing) = %v; want FW_ERR_IO naming the file", err)
	}
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		t.Fatal(err)
	}
	writeSafetensors(t, filepath.Join(dir, "bad.safetensors"), []testTensor{
		{"b", []int64{1}, []float32{1}}, {"w", []int64{3}, []float32{1, 2, 3}},
	})
	if _, err := s.AddMember(filepath.Join(dir, "bad.safetensors")); !errors.Is(err, StatusShapeMismatch) {
		t.Errorf("AddMember(wrong shape) = %v; want FW_ERR_SHAPE_MISMATCH", err)
	}
	if _, err := s.AddMember(filepath.Join(dir, "m0.safetensors")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(); !errors.Is(err, StatusState) {
		t.Errorf("Step() without an objective = %v; want FW_ERR_STATE", err)
	}
	bad := constantParams()
	bad.TopK = 0
	if _, err := NewSolver(bad); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("NewSolver(TopK 0) = %v; want FW_ERR_INVALID_ARGUMENT", err)
	}

	s.Close()
	if err := s.SetBase("x"); err != ErrClosed {
		t.Errorf("SetBase after Close = %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
