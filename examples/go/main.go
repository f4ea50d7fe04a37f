// Command quadratic merges the pool made by examples/c/make_pool with a Go-written objective,
// the quadratic example shared by every language's example (its export is byte-identical to the
// C example's):
//
//	quadratic POOL_DIR OUT_FILE
package main

import (
	"fmt"
	"os"

	fwmerge "github.com/fwmerge/fwmerge/bindings/go"
)

// objective: for tensor j and element i, target = ((i*7 + j*3) % 11 - 5) * 0.125 in float32,
// d = theta - target, loss += 0.5*d*d in float64 (tensors and elements in order), grad = d.
func objective(params, grads []fwmerge.Tensor) (float64, error) {
	loss := 0.0
	for j, p := range params {
		for i, theta := range p.Data {
			target := float32((i*7+j*3)%11-5) * 0.125
			d := theta - target
			// The explicit conversion forbids fusing into an FMA, which would change the bits.
			loss += float64(0.5 * float64(d) * float64(d))
			if grads != nil {
				grads[j].Data[i] = d
			}
		}
	}
	return loss, nil
}

// Paths are joined as the C example joins them: the export records them in its recipe.
func run(poolDir, outFile string) error {
	params := fwmerge.DefaultParams()
	params.MaxIters = 10
	solver, err := fwmerge.NewSolver(params)
	if err != nil {
		return err
	}
	defer solver.Close()
	if err := solver.SetBase(poolDir + "/base.safetensors"); err != nil {
		return err
	}
	for m := 0; m < 4; m++ {
		if _, err := solver.AddMember(fmt.Sprintf("%s/member%d.safetensors", poolDir, m)); err != nil {
			return err
		}
	}
	if err := solver.SetObjective(objective); err != nil {
		return err
	}
	if _, err := solver.Run(); err != nil {
		return err
	}
	history, err := solver.History()
	if err != nil {
		return err
	}
	for _, step := range history {
		fmt.Printf("step %d: loss %.6f gap %.6f gamma %.4f\n", step.Iteration, step.Loss, step.Gap, step.Gamma)
	}
	return solver.Export(outFile, fwmerge.DefaultExportOptions())
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: quadratic POOL_DIR OUT_FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "quadratic:", err)
		os.Exit(1)
	}
}
