// Command outside uses package fwmerge from another module (CTest's go_outside_module): it
// writes a tiny pool with SaveTensors, merges it with task arithmetic, reads the result back and
// takes two FW steps on it, checking each value against the hand-computed one.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	fwmerge "github.com/fwmerge/fwmerge/bindings/go"
)

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "outside:", err)
		os.Exit(1)
	}
}

func main() {
	dir, err := os.MkdirTemp("", "fwmerge-outside")
	check(err)
	defer os.RemoveAll(dir)
	fmt.Println("fwmerge", fwmerge.Version(), fwmerge.VersionNumber())

	// base w=[0,0]; m0 w=[1,0]; m1 w=[0,1].
	paths := map[string]string{}
	for name, w := range map[string][]float32{"base": {0, 0}, "m0": {1, 0}, "m1": {0, 1}} {
		paths[name] = filepath.Join(dir, name+".safetensors")
		check(fwmerge.SaveTensors(paths[name],
			[]fwmerge.TensorData{fwmerge.Float32Tensor("w", []int64{2}, w)}, fwmerge.DTypeDefault, nil))
	}
	pool := []string{paths["m0"], paths["m1"]}

	// base + 0.5 * (tau0 + tau1) = [0.5, 0.5].
	ta := fwmerge.DefaultMergeParams(fwmerge.MergeTaskArithmetic)
	ta.Scaling = 0.5
	out := filepath.Join(dir, "merged.safetensors")
	check(fwmerge.Merge(ta, paths["base"], pool, out, fwmerge.DefaultExportOptions()))
	set, err := fwmerge.LoadTensors(out, false)
	check(err)
	merged, err := set.Tensors[0].Float32s()
	check(err)
	if merged[0] != 0.5 || merged[1] != 0.5 {
		check(fmt.Errorf("task arithmetic merged %v; want [0.5 0.5]", merged))
	}

	// l = 1/2 ||w - (1, 0)||^2 from the base: the LMO picks m0, gamma 1 lands on it, loss 0.
	params := fwmerge.DefaultParams()
	params.StepRule = fwmerge.StepConstant
	params.StepScale = 1
	params.MaxIters = 2
	s, err := fwmerge.NewSolver(params)
	check(err)
	defer s.Close()
	check(s.SetBase(paths["base"]))
	for _, p := range pool {
		_, err := s.AddMember(p)
		check(err)
	}
	target := []float32{1, 0}
	check(s.SetObjective(func(params, grads []fwmerge.Tensor) (float64, error) {
		loss := 0.0
		for i, v := range params[0].Data {
			d := v - target[i]
			loss += 0.5 * float64(d) * float64(d)
			if grads != nil {
				grads[0].Data[i] = d
			}
		}
		return loss, nil
	}))
	info, err := s.Step()
	check(err)
	if info.Chosen[0] != 0 {
		check(fmt.Errorf("step chose vertex %v; want m0 (0)", info.Chosen))
	}
	current, err := s.Current()
	check(err)
	if current[0].Data[0] != 1 || current[0].Data[1] != 0 {
		check(fmt.Errorf("after the step theta = %v; want [1 0]", current[0].Data))
	}
	fmt.Println("ok: merge", merged, "step loss", info.Loss, "->", current[0].Data)
}
