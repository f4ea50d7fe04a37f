package fwmerge

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// Data-free merges of the pool of solver_test.go (base b=[0] w=[0,0]; m0 b=[2] w=[1,0]; m1 b=[-1]
// w=[0,1]), computed by hand from the rules in fwmerge.h.
func TestMergeMethodsMatchHandComputedValues(t *testing.T) {
	dir := makePool(t)
	pool := []string{filepath.Join(dir, "m0.safetensors"), filepath.Join(dir, "m1.safetensors")}
	base := filepath.Join(dir, "base.safetensors")

	linear := DefaultMergeParams(MergeLinear)
	if !linear.Normalize || linear.Method != MergeLinear {
		t.Fatalf("LINEAR defaults %+v", linear)
	}
	linear.Weights = []float64{1, 3}
	ta := DefaultMergeParams(MergeTaskArithmetic)
	if ta.Scaling != 0.3 || ta.Normalize {
		t.Fatalf("TASK_ARITHMETIC defaults %+v", ta)
	}
	ta.Scaling = 0.5
	ties := DefaultMergeParams(MergeTIES)
	if ties.Density != 0.2 || ties.Scaling != 1 || !ties.Normalize {
		t.Fatalf("TIES defaults %+v", ties)
	}
	ties.Density = 1
	tiesWeighted := ties
	tiesWeighted.Weights = []float64{1, 3}
	tiesDensities := ties
	tiesDensities.Densities = []float64{1, 1}

	cases := []struct {
		name   string
		params MergeParams
		want   map[string][]float32
	}{
		// (1*m0 + 3*m1) / 4
		{"linear", linear, map[string][]float32{"b": {-0.25}, "w": {0.25, 0.75}}},
		// base + 0.5 * (tau0 + tau1)
		{"task_arithmetic", ta, map[string][]float32{"b": {0.5}, "w": {0.5, 0.5}}},
		// b: signs +2 and -1 elect +, only m0 agrees: 2. w: one nonzero entry per member.
		{"ties", ties, map[string][]float32{"b": {2}, "w": {1, 1}}},
		// b: 1*2 + 3*(-1) < 0 elects -, only m1 agrees: 3*(-1)/3 = -1.
		{"ties_weighted", tiesWeighted, map[string][]float32{"b": {-1}, "w": {1, 1}}},
		{"ties_densities", tiesDensities, map[string][]float32{"b": {2}, "w": {1, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".safetensors")
			if err := Merge(c.params, base, pool, out, DefaultExportOptions()); err != nil {
				t.Fatal(err)
			}
			tensors, meta := readSafetensors(t, out)
			got := map[string][]float32{}
			for name, tt := range tensors {
				got[name] = tt.data
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("merged %v; want %v", got, c.want)
			}
			if meta["fwmerge.recipe"] == "" {
				t.Errorf("no recipe in %v", meta)
			}
		})
	}

	// The per-member arrays reach the library: it rejects densities on LINEAR and betas on TIES.
	bad := DefaultMergeParams(MergeLinear)
	bad.Densities = []float64{1, 1}
	out := filepath.Join(dir, "bad.safetensors")
	if err := Merge(bad, base, pool, out, DefaultExportOptions()); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("LINEAR with densities = %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	bad = ties
	bad.Betas = []float64{0.1, 0.1}
	if err := Merge(bad, base, pool, out, DefaultExportOptions()); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("TIES with betas = %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	bad = linear
	bad.Weights = []float64{1}
	if err := Merge(bad, base, pool, out, DefaultExportOptions()); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("one weight for two members = %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	if err := Merge(linear, base, pool[:1], filepath.Join(dir, "x", "y", "out.safetensors"), DefaultExportOptions()); err == nil {
		t.Error("a merge into a missing folder succeeded")
	}
}

// SetStartMerge: theta_0 = (m0 + m1) / 2 = b=[0.5] w=[0.5,0.5], an extra vertex. Step 0 of the
// quadratic: g = theta_0 - target = (b:0, w:-0.5,0.25); scores <g,m0> = -0.5, <g,m1> = 0.25,
// <g,theta_0> = -0.125: m0; gap = <-g, m0 - theta_0> = 0.5 - 0.125 = 0.375;
// loss = 0.5*(0 + 0.25 + 0.0625); theta_1 = 0.5*theta_0 + 0.5*m0 = b=[1.25] w=[0.75,0.25].
func TestSetStartMergeIsTheStartVertex(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	start := DefaultMergeParams(MergeLinear)
	start.Weights = []float64{1, 1}
	if err := s.SetStartMerge(start); err != nil {
		t.Fatal(err)
	}
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {0.5}, "w": {0.5, 0.5}}) {
		t.Errorf("theta_0 = %v", got)
	}
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	if !near(info.Loss, 0.5*(0.25+0.0625)) || !near(info.Gap, 0.375) || !reflect.DeepEqual(info.Chosen, []int32{0}) {
		t.Errorf("step 0 = %+v", info)
	}
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {1.25}, "w": {0.75, 0.25}}) {
		t.Errorf("theta_1 = %v", got)
	}
	start.Weights = []float64{1}
	if err := s.SetStartMerge(start); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("SetStartMerge with one weight for two members = %v", err)
	}
}

// TASK_ARITHMETIC with scaling 2 as the step's merge function: step 0 still picks m0 with
// gamma 0.5, and theta_1 = base + 2 * 0.5 * (m0 - base) = m0, outside the segment's midpoint.
func TestSetMergeFunctionTaskArithmetic(t *testing.T) {
	s := newPoolSolver(t, makePool(t))
	fn := DefaultMergeParams(MergeTaskArithmetic)
	fn.Scaling = 2
	if err := s.SetMergeFunction(&fn); err != nil {
		t.Fatal(err)
	}
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	if !info.LeavesHull || !reflect.DeepEqual(info.Chosen, []int32{0}) || !near(info.Gamma, 0.5) {
		t.Errorf("step 0 = %+v; want m0, gamma 0.5, leaves the hull", info)
	}
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"b": {2}, "w": {1, 0}}) {
		t.Errorf("theta_1 = %v", got)
	}
	if err := s.SetMergeFunction(nil); !errors.Is(err, StatusState) {
		t.Errorf("SetMergeFunction after a step = %v; want FW_ERR_STATE", err)
	}
	s2 := newPoolSolver(t, makePool(t))
	if err := s2.SetMergeFunction(nil); err != nil {
		t.Errorf("SetMergeFunction(nil) = %v", err)
	}
	ms := DefaultMergeParams(MergeModelStock)
	if err := s2.SetMergeFunction(&ms); !errors.Is(err, StatusUnsupported) {
		t.Errorf("MODEL_STOCK as a step merge function = %v; want FW_ERR_UNSUPPORTED", err)
	}
}
