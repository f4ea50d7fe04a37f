package fwmerge

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
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

// The defaults of the 0.5.0 methods (fw_merge_params v8) as the binding reads them: fwmerge.h's
// "Defaults per method".
func TestDefaultMergeParamsOfThe050Methods(t *testing.T) {
	slerp := DefaultMergeParams(MergeSlerp)
	if slerp.Method != MergeSlerp || slerp.T != 0.5 {
		t.Errorf("SLERP defaults %+v; want T 0.5", slerp)
	}
	if p := DefaultMergeParams(MergeNearswap); p.T != 1e-4 {
		t.Errorf("NEARSWAP defaults %+v; want T 1e-4", p)
	}
	della := DefaultMergeParams(MergeDELLA)
	if della.Epsilon != 0.15 || !della.Rescale || !della.Normalize || della.Scaling != 1 || della.Epsilons != nil {
		t.Errorf("DELLA defaults %+v; want Epsilon 0.15, Rescale, Normalize, Scaling 1", della)
	}
	if p := DefaultMergeParams(MergeDELLALinear); p.Epsilon != 0.15 || !p.Rescale || p.Normalize {
		t.Errorf("DELLA_LINEAR defaults %+v; want Epsilon 0.15, Rescale, no Normalize", p)
	}
	if p := DefaultMergeParams(MergeRAM); p.Epsilon != 1e-5 {
		t.Errorf("RAM defaults %+v; want Epsilon 1e-5", p)
	}
	if p := DefaultMergeParams(MergeRAMPlusTL); p.Epsilon != 1e-5 || p.RAMR != 0.1 || p.RAMAlpha != 0.2 {
		t.Errorf("RAMPLUS_TL defaults %+v; want Epsilon 1e-5, RAMR 0.1, RAMAlpha 0.2", p)
	}
	if p := DefaultMergeParams(MergeKarcher); p.MaxIter != 10 || p.Tol != 1e-5 {
		t.Errorf("KARCHER defaults %+v; want MaxIter 10, Tol 1e-5", p)
	}
	if p := DefaultMergeParams(MergeMultislerp); !p.Normalize || p.Eps != 1e-8 {
		t.Errorf("MULTISLERP defaults %+v; want Normalize, Eps 1e-8", p)
	}
	if p := DefaultMergeParams(MergeNuslerp); !p.NuslerpFlatten || p.NuslerpRowWise {
		t.Errorf("NUSLERP defaults %+v; want NuslerpFlatten, not NuslerpRowWise", p)
	}
	if p := DefaultMergeParams(MergePassthrough); p.Scale != 1 {
		t.Errorf("PASSTHROUGH defaults %+v; want Scale 1", p)
	}
	if p := DefaultMergeParams(MergeSCE); p.SelectTopK != 1 {
		t.Errorf("SCE defaults %+v; want SelectTopK 1", p)
	}
}

// Merges with 0.5.0 methods through the binding, against values computed by hand from fwmerge.h
// (pool of solver_test.go: base b=[0] w=[0,0]; m0 b=[2] w=[1,0]), and their fields and override
// fields reach the library.
func TestThe050MethodsMatchHandComputedValues(t *testing.T) {
	dir := makePool(t)
	base := filepath.Join(dir, "base.safetensors")
	m0 := []string{filepath.Join(dir, "m0.safetensors")}
	merged := func(p MergeParams, pool []string) map[string][]float32 {
		t.Helper()
		out := filepath.Join(dir, "out.safetensors")
		if err := Merge(p, base, pool, out, DefaultExportOptions()); err != nil {
			t.Fatal(err)
		}
		tensors, _ := readSafetensors(t, out)
		got := map[string][]float32{}
		for name, tt := range tensors {
			got[name] = tt.data
		}
		return got
	}

	// PASSTHROUGH, Scale 2: exactly 2 x m0.
	pass := DefaultMergeParams(MergePassthrough)
	pass.Scale = 2
	if got, want := merged(pass, m0), map[string][]float32{"b": {4}, "w": {2, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("PASSTHROUGH scale 2: %v; want %v", got, want)
	}
	// FieldScale 3 on w: w = 3 x m0's, b keeps Scale 2.
	pass.Overrides = []MergeOverride{{Tensors: "w", Member: -1, Field: FieldScale, Value: 3}}
	if got, want := merged(pass, m0), map[string][]float32{"b": {4}, "w": {3, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("PASSTHROUGH scale 2, w 3: %v; want %v", got, want)
	}

	// NEARSWAP, T 1: weight = clamp(1 / max(|m - b|, 1e-6), 0, 1) of m0 over the base. b: |2 - 0|
	// = 2, weight 0.5: 1. w: |1 - 0| = 1, weight 1: 1; |0 - 0| clamped to 1e-6, weight 1: 0.
	near := DefaultMergeParams(MergeNearswap)
	near.T = 1
	if got, want := merged(near, m0), map[string][]float32{"b": {1}, "w": {1, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("NEARSWAP t 1: %v; want %v", got, want)
	}
	// FieldT 10 on b: |2 - 0| is far below t, weight 1: exactly m0's 2.
	near.Overrides = []MergeOverride{{Tensors: "b", Member: -1, Field: FieldT, Value: 10}}
	if got, want := merged(near, m0), map[string][]float32{"b": {2}, "w": {1, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("NEARSWAP t 1, b 10: %v; want %v", got, want)
	}

	// DELLA's per-member Epsilons: a count other than the pool's is refused by the binding, a
	// value whose density 0.5 +- epsilon leaves (0, 1) by the library, naming the member.
	pool := []string{m0[0], filepath.Join(dir, "m1.safetensors")}
	della := DefaultMergeParams(MergeDELLA)
	della.Density = 0.5
	della.Epsilons = []float64{0.1}
	out := filepath.Join(dir, "della.safetensors")
	if err := Merge(della, base, pool, out, DefaultExportOptions()); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("one epsilon for two members = %v; want StatusInvalidArgument", err)
	}
	della.Epsilons = []float64{0.1, 0.6}
	err := Merge(della, base, pool, out, DefaultExportOptions())
	if !errors.Is(err, StatusInvalidArgument) || !strings.Contains(err.Error(), "member 1") ||
		!strings.Contains(err.Error(), "epsilon 0.6") {
		t.Errorf("DELLA epsilons 0.1, 0.6 = %v; want StatusInvalidArgument naming member 1's epsilon 0.6", err)
	}
	della.Epsilons = []float64{0.1, 0.1}
	if err := Merge(della, base, pool, out, DefaultExportOptions()); err != nil {
		t.Errorf("DELLA epsilons 0.1, 0.1: %v", err)
	}
}
