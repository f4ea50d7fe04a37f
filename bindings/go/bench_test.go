package fwmerge

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchPool writes a base and two members of nTensors tensors of size elements each.
func benchPool(b *testing.B, nTensors, size int) string {
	dir := b.TempDir()
	for f, value := range map[string]float32{"base": 0, "m0": 1, "m1": -1} {
		tensors := make([]testTensor, nTensors)
		for i := range tensors {
			data := make([]float32, size)
			for e := range data {
				data[e] = value * float32(e%7)
			}
			tensors[i] = testTensor{fmt.Sprintf("layer%03d.weight", i), []int64{int64(size)}, data}
		}
		writeSafetensors(b, filepath.Join(dir, f+".safetensors"), tensors)
	}
	return dir
}

// BenchmarkViews256Tensors measures what the binding adds per objective evaluation: building the
// []Tensor views (names, shapes, unsafe.Slice) over 256 library tensors.
func BenchmarkViews256Tensors(b *testing.B) {
	dir := benchPool(b, 256, 1024)
	s, err := NewSolver(DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Current(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStep256Tensors is one constant-step FW iteration with a Go quadratic objective.
func BenchmarkStep256Tensors(b *testing.B) {
	dir := benchPool(b, 256, 1024)
	p := DefaultParams()
	p.StepRule = StepConstant
	p.StepScale = 1e-9 // tiny steps: every iteration does the same work
	p.Epsilon = 0
	s, err := NewSolver(p)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.SetBase(filepath.Join(dir, "base.safetensors")); err != nil {
		b.Fatal(err)
	}
	for _, m := range []string{"m0", "m1"} {
		if _, err := s.AddMember(filepath.Join(dir, m+".safetensors")); err != nil {
			b.Fatal(err)
		}
	}
	evaluations := 0
	err = s.SetObjective(func(params, grads []Tensor) (float64, error) {
		evaluations++
		loss := 0.0
		for j, t := range params {
			for i, v := range t.Data {
				d := v - 0.5
				loss += 0.5 * float64(d) * float64(d)
				if grads != nil {
					grads[j].Data[i] = d
				}
			}
		}
		return loss, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(evaluations)/float64(b.N), "evals/op")
}
