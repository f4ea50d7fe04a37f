package fwmerge

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The fields newer than the first Go API reach the library: each changes what it computes or is
// rejected by its own checks. Pool of solver_test.go (base b=[0] w=[0,0]; m0 b=[2] w=[1,0];
// m1 b=[-1] w=[0,1]).
func TestMergeFiltersAndMergekitFieldsReachTheLibrary(t *testing.T) {
	dir := makePool(t)
	pool := []string{filepath.Join(dir, "m0.safetensors"), filepath.Join(dir, "m1.safetensors")}
	base := filepath.Join(dir, "base.safetensors")
	merged := func(p MergeParams) (map[string][]float32, error) {
		out := filepath.Join(dir, "out.safetensors")
		if err := Merge(p, base, pool, out, DefaultExportOptions()); err != nil {
			return nil, err
		}
		tensors, _ := readSafetensors(t, out)
		got := map[string][]float32{}
		for name, tt := range tensors {
			got[name] = tt.data
		}
		return got, nil
	}

	// base + 0.5 * (tau0 + tau1); excluded (or not included) b stays the base's.
	ta := DefaultMergeParams(MergeTaskArithmetic)
	ta.Scaling = 0.5
	want := map[string][]float32{"b": {0}, "w": {0.5, 0.5}}
	exclude := ta
	exclude.ExcludeTensors = []string{"b"}
	include := ta
	include.IncludeTensors = []string{"w*"}
	for name, p := range map[string]MergeParams{"exclude": exclude, "include": include} {
		if got, err := merged(p); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: merged %v, %v; want %v", name, got, err, want)
		}
	}

	// TIES on b with weights 1, 2: the weighted signs +2 and -2 sum to zero. fwmerge elects no
	// sign (b stays at the base); mergekit elects + (m0 agrees: b = 2).
	ties := DefaultMergeParams(MergeTIES)
	ties.Density = 1
	ties.Weights = []float64{1, 2}
	got, err := merged(ties)
	if err != nil || got["b"][0] != 0 {
		t.Errorf("TIES: b = %v, %v; want 0", got["b"], err)
	}
	ties.MergekitCompat = true
	ties.ComputeDType = DTypeF32
	got, err = merged(ties)
	if err != nil || got["b"][0] != 2 {
		t.Errorf("TIES, mergekit: b = %v, %v; want 2", got["b"], err)
	}

	// A scaling override for b: base + 1 * (tau0 + tau1) = 1 there, w keeps the struct's 0.5.
	over := ta
	over.Overrides = []MergeOverride{{Tensors: "b", Member: -1, Field: FieldScaling, Value: 1}}
	if got, err := merged(over); err != nil || !reflect.DeepEqual(got, map[string][]float32{"b": {1}, "w": {0.5, 0.5}}) {
		t.Errorf("scaling override: merged %v, %v", got, err)
	}
	over.Overrides = []MergeOverride{{Tensors: "b", Member: 0, Field: FieldScaling, Value: 1}}
	if _, err := merged(over); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("SCALING with a member: %v; want FW_ERR_INVALID_ARGUMENT", err)
	}

	// HFFolder: the output is a model folder with a model card.
	folder := filepath.Join(dir, "folder")
	opts := DefaultExportOptions()
	opts.HFFolder = true
	if err := Merge(ta, base, pool, folder, opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "README.md"} {
		if _, err := os.Stat(filepath.Join(folder, f)); err != nil {
			t.Errorf("HFFolder: %v", err)
		}
	}

	// ModelCard: the README.md is the given text byte for byte; without HFFolder the library
	// rejects it.
	card := "---\nlicense: mit\n---\n# Merged \u00e9\u2713 \U0001F600\n\nNo trailing newline"
	opts.ModelCard = card
	carded := filepath.Join(dir, "carded")
	if err := Merge(ta, base, pool, carded, opts); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(carded, "README.md")); err != nil || string(got) != card {
		t.Errorf("ModelCard: README.md %q, %v; want %q", got, err, card)
	}
	noFolder := DefaultExportOptions()
	noFolder.ModelCard = card
	if err := Merge(ta, base, pool, filepath.Join(dir, "card.safetensors"), noFolder); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("ModelCard without HFFolder: %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	noFolder.ModelCard = "a\x00b"
	noFolder.HFFolder = true
	if err := Merge(ta, base, pool, filepath.Join(dir, "nul"), noFolder); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("ModelCard with a NUL byte: %v; want FW_ERR_INVALID_ARGUMENT", err)
	}

	// compute_dtype without mergekit_compat, and model_stock in mergekit mode, are rejected.
	ties.MergekitCompat = false
	if _, err := merged(ties); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("compute_dtype without mergekit_compat: %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	stock := DefaultMergeParams(MergeModelStock)
	stock.MergekitCompat = true
	if _, err := merged(stock); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("model_stock, mergekit: %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
}

func TestSolverFiltersAndDeviceFieldsReachTheLibrary(t *testing.T) {
	dir := makePool(t)
	p := constantParams()
	if p.Device != DeviceCPU || p.DeviceIndex != 0 || p.WorkDType != DTypeF32 || p.HostViews {
		t.Fatalf("device defaults %+v", p)
	}
	p.ExcludeTensors = []string{"b"}
	s, err := NewSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		t.Fatal(err)
	}
	// Only w is merged: the views cover it alone.
	if got := currentByName(t, s); !reflect.DeepEqual(got, map[string][]float32{"w": {0, 0}}) {
		t.Errorf("views with b excluded: %v", got)
	}

	p.IncludeTensors = []string{"nothing*"}
	p.ExcludeTensors = nil
	s2, err := NewSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.SetBase(filepath.Join(dir, "base.safetensors")); !errors.Is(err, StatusNameMismatch) {
		t.Errorf("a filter that selects nothing: %v; want FW_ERR_NAME_MISMATCH", err)
	}

	// The device index is checked by the library: 1 on the CPU is invalid.
	p = constantParams()
	p.DeviceIndex = 1
	if _, err := NewSolver(p); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("device_index 1 on the CPU: %v; want FW_ERR_INVALID_ARGUMENT", err)
	}

	// A bf16 solver's views are not float32: the objective is refused, not misread.
	p = constantParams()
	p.WorkDType = DTypeBF16
	s3 := newPoolSolverWith(t, dir, p)
	if err := s3.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Step(); !errors.Is(err, StatusCallback) {
		t.Errorf("bf16 views: %v; want FW_ERR_CALLBACK", err)
	}
	if _, err := s3.Current(); !errors.Is(err, StatusUnsupported) {
		t.Errorf("bf16 Current: %v; want FW_ERR_UNSUPPORTED", err)
	}
}

func newPoolSolverWith(t *testing.T, dir string, p Params) *Solver {
	t.Helper()
	s, err := NewSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"m0.safetensors", "m1.safetensors"} {
		if _, err := s.AddMember(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestMaxEvaluationsBudgetStopsTheRun(t *testing.T) {
	dir := makePool(t)
	p := constantParams()
	if DefaultParams().MaxEvaluations != 0 {
		t.Fatalf("MaxEvaluations default %d; want 0", DefaultParams().MaxEvaluations)
	}
	// A constant step makes one evaluation: a budget of 1 allows one of the two steps.
	p.MaxEvaluations = 1
	s, err := NewSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"m0.safetensors", "m1.safetensors"} {
		if _, err := s.AddMember(filepath.Join(dir, m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if h, err := s.History(); err != nil || len(h) != 1 {
		t.Errorf("history %v, %v; want one step within the budget", h, err)
	}
}

// FillMissingFromBase reaches the library: a member saved without the base's b is refused by
// default and, with the field set, reads b from the base (a zero task vector there), in Merge and
// in the solver. Pool of solver_test.go.
func TestFillMissingFromBaseReachesTheLibrary(t *testing.T) {
	dir := makePool(t)
	base := filepath.Join(dir, "base.safetensors")
	partial := filepath.Join(dir, "partial.safetensors")
	writeSafetensors(t, partial, []testTensor{{"w", []int64{2}, []float32{0, 3}}})
	pool := []string{filepath.Join(dir, "m0.safetensors"), partial}
	out := filepath.Join(dir, "filled.safetensors")

	ta := DefaultMergeParams(MergeTaskArithmetic)
	ta.Scaling = 1
	if err := Merge(ta, base, pool, out, DefaultExportOptions()); !errors.Is(err, StatusNameMismatch) {
		t.Fatalf("a member lacking b: %v, want StatusNameMismatch", err)
	}
	ta.FillMissingFromBase = true
	if err := Merge(ta, base, pool, out, DefaultExportOptions()); err != nil {
		t.Fatal(err)
	}
	tensors, _ := readSafetensors(t, out)
	// b: 0 + tau_m0 (2) + 0; w: 0 + (1, 0) + (0, 3).
	if got := tensors["b"].data; !reflect.DeepEqual(got, []float32{2}) {
		t.Errorf("b = %v, want [2]", got)
	}
	if got := tensors["w"].data; !reflect.DeepEqual(got, []float32{1, 3}) {
		t.Errorf("w = %v, want [1 3]", got)
	}

	for _, fill := range []bool{false, true} {
		p := DefaultParams()
		p.FillMissingFromBase = fill
		s, err := NewSolver(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetBase(base); err != nil {
			t.Fatal(err)
		}
		_, err = s.AddMember(partial)
		if fill && err != nil {
			t.Errorf("AddMember with FillMissingFromBase: %v", err)
		}
		if !fill && !errors.Is(err, StatusNameMismatch) {
			t.Errorf("AddMember without FillMissingFromBase: %v, want StatusNameMismatch", err)
		}
		s.Close()
	}
}
