package fwmerge

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestTorchScriptErrorsKeepTheGoObjective(t *testing.T) {
	dir := makePool(t)
	s := newPoolSolver(t, dir)
	if err := s.SetObjective(quadratic(t)); err != nil {
		t.Fatal(err)
	}
	ts := TorchScriptObjective{
		ModulePath:      filepath.Join(dir, "missing.pt"),
		CalibrationPath: filepath.Join(dir, "base.safetensors"),
		Terms:           []ObjectiveTerm{{Inputs: "x", Labels: "y", Weight: 1}},
	}
	if err := s.SetObjectiveTorchScript(ts); !errors.Is(err, StatusIO) {
		t.Errorf("missing module = %v; want FW_ERR_IO", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.pt"), []byte("not a zip archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.ModulePath = filepath.Join(dir, "garbage.pt")
	if err := s.SetObjectiveTorchScript(ts); !errors.Is(err, StatusFormat) {
		t.Errorf("garbage module = %v; want FW_ERR_FORMAT", err)
	}
	info, err := s.Step() // the Go objective is still installed
	if err != nil {
		t.Fatal(err)
	}
	checkStep(t, info, 0, 0.5*(0.25+1+0.0625), 2, 0)
}

// The module of FWMERGE_TS_FIXTURE (bindings/rust/ts_fixture.cpp): logits = x W^T + b through a
// submodule "fc". Base W = 0, b = 0; "good" moves W against the gradient, "bad" along it.
// At W = 0: p = (1/2, 1/2), loss = ln 2; with x = [[1,2],[3,-1]], labels [0,1]:
// dL/dW = [[0.5,-0.75],[-0.5,0.75]], dL/db = 0; scores <g, good> = -1.625, <g, bad> = 1.625,
// base 0: good, gap 1.625.
func TestTorchScriptCrossEntropyStepMatchesTheClosedForm(t *testing.T) {
	helper := os.Getenv("FWMERGE_TS_FIXTURE")
	if helper == "" {
		t.Skip("FWMERGE_TS_FIXTURE is not set (CTest sets it)")
	}
	dir := t.TempDir()
	if out, err := exec.Command(helper, dir).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", helper, err, out)
	}
	model := func(name string, w []float32) {
		if err := SaveTensors(filepath.Join(dir, name), []TensorData{
			Float32Tensor("fc.weight", []int64{2, 2}, w),
			Float32Tensor("fc.bias", []int64{2}, []float32{0, 0}),
		}, DTypeF32, nil); err != nil {
			t.Fatal(err)
		}
	}
	model("base.safetensors", []float32{0, 0, 0, 0})
	model("good.safetensors", []float32{-0.5, 0.75, 0.5, -0.75})
	model("bad.safetensors", []float32{0.5, -0.75, -0.5, 0.75})
	if err := SaveTensors(filepath.Join(dir, "calib.safetensors"), []TensorData{
		Float32Tensor("x", []int64{2, 2}, []float32{1, 2, 3, -1}),
		Int64Tensor("y", []int64{2}, []int64{0, 1}),
	}, DTypeDefault, nil); err != nil {
		t.Fatal(err)
	}
	s, err := NewSolver(DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"good.safetensors", "bad.safetensors"} {
		if _, err := s.AddMember(filepath.Join(dir, m)); err != nil {
			t.Fatal(err)
		}
	}
	ts := TorchScriptObjective{
		ModulePath:      filepath.Join(dir, "net.pt"),
		CalibrationPath: filepath.Join(dir, "calib.safetensors"),
		ParamMap:        [][2]string{{"fc.weight", "fc.weight"}, {"fc.bias", "fc.bias"}},
		Terms:           []ObjectiveTerm{{Inputs: "x", Labels: "y", Weight: 1}},
	}
	bad := ts
	bad.Terms = []ObjectiveTerm{{Inputs: "nope", Weight: 1}}
	if err := s.SetObjectiveTorchScript(bad); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("unknown calibration tensor = %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	if err := s.SetObjectiveTorchScript(ts); err != nil {
		t.Fatal(err)
	}
	info, err := s.Step()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(info.Loss-math.Ln2) > 1e-6 || math.Abs(info.Gap-1.625) > 1e-6 || len(info.Chosen) != 1 ||
		info.Chosen[0] != 0 || !(info.LossAfter < info.Loss) {
		t.Errorf("step = %+v; want loss ln 2, gap 1.625, chosen good", info)
	}
}
