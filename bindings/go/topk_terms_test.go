package fwmerge

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// Per-term top-k (TopKRule) through SetObjectiveTerms and over ask/tell. Pool: base 0, members
// e_0..e_3 in R^4 (tensor "w"); terms l_j = 1/2 ||x - c_j||^2 with c_0 = (3,0,2,0),
// c_1 = (0,1,0,0), gradient x - c_j (AllTerms: the sum of both). At x = 0 the gradients are -c_j,
// so the scores <g_j, e_i> = -c_j[i]: term 0 picks e_0, term 1 then e_1 (PerTerm: [0, 1]); the
// whole gradient -(3,1,2,0) ranks e_0, e_2 first (Summed: [0, 2]). l(0) = 13/2 + 1/2 = 7.

var termTargets = [][]float64{{3, 0, 2, 0}, {0, 1, 0, 0}}

type termCall struct {
	term     int32
	gradient bool
}

// termsFn is the two-term objective; it records its calls and fails on failTerm (-2: never).
func termsFn(calls *[]termCall, failTerm int32) TermsObjective {
	return func(term int32, params, grads []Tensor) (float64, error) {
		*calls = append(*calls, termCall{term, grads != nil})
		if term == failTerm {
			return 0, errors.New("term exploded")
		}
		total := 0.0
		for j, c := range termTargets {
			if term != AllTerms && int(term) != j {
				continue
			}
			for i, x := range params[0].Data {
				d := float64(x) - c[i]
				total += 0.5 * d * d
				if grads != nil {
					grads[0].Data[i] += float32(d)
				}
			}
		}
		return total, nil
	}
}

func unit4Solver(t *testing.T, rule TopKRule) *Solver {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, w []float32) string {
		path := filepath.Join(dir, name)
		writeSafetensors(t, path, []testTensor{{"w", []int64{4}, w}})
		return path
	}
	p := DefaultParams()
	p.LMO = LMOSoft
	p.TopK = 2
	p.SoftIters = 3
	p.Epsilon = 0
	p.TopKRule = rule
	s, err := NewSolver(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetBase(write("base.safetensors", []float32{0, 0, 0, 0})); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		e := make([]float32, 4)
		e[i] = 1
		if _, err := s.AddMember(write("e"+string(rune('0'+i))+".safetensors", e)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestTopKRuleDefaultIsPerTerm(t *testing.T) {
	if got := DefaultParams().TopKRule; got != TopKPerTerm {
		t.Fatalf("default TopKRule %d; want TopKPerTerm", got)
	}
	if AllTerms != int32(swigfw.FW_ALL_TERMS) || TopKSummed != TopKRule(swigfw.FW_TOPK_RULE_SUMMED) ||
		TopKPerTerm != TopKRule(swigfw.FW_TOPK_RULE_PER_TERM) {
		t.Fatalf("AllTerms %d, TopKSummed %d, TopKPerTerm %d differ from fwmerge.h", AllTerms,
			TopKSummed, TopKPerTerm)
	}
}

func TestTermsObjectivePicksPerTerm(t *testing.T) {
	for _, c := range []struct {
		rule   TopKRule
		chosen []int32
		first  []termCall
	}{
		{TopKPerTerm, []int32{0, 1}, []termCall{{0, true}, {1, true}, {AllTerms, true}}},
		{TopKSummed, []int32{0, 2}, []termCall{{AllTerms, true}}},
	} {
		s := unit4Solver(t, c.rule)
		var calls []termCall
		if err := s.SetObjectiveTerms(termsFn(&calls, -2), 2); err != nil {
			t.Fatal(err)
		}
		info, err := s.Step()
		if err != nil {
			t.Fatalf("rule %d: %v", c.rule, err)
		}
		if !reflect.DeepEqual(info.Chosen, c.chosen) || info.Loss != 7.0 {
			t.Errorf("rule %d: chosen %v loss %v; want %v, 7", c.rule, info.Chosen, info.Loss, c.chosen)
		}
		if len(calls) < len(c.first) || !reflect.DeepEqual(calls[:len(c.first)], c.first) {
			t.Errorf("rule %d: calls %v; want them to start %v", c.rule, calls, c.first)
		}
	}
}

func TestAskTellRequestsNameTheTerm(t *testing.T) {
	s := unit4Solver(t, TopKPerTerm)
	if err := s.SetAskTellTerms(0); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("SetAskTellTerms(0): %v; want FW_ERR_INVALID_ARGUMENT", err)
	}
	if err := s.SetAskTellTerms(2); err != nil {
		t.Fatal(err)
	}
	var calls []termCall
	fn := termsFn(&calls, -2)
	if err := s.BeginStep(); err != nil {
		t.Fatal(err)
	}
	for {
		req, err := s.Ask()
		if err != nil {
			t.Fatal(err)
		}
		if req.Done {
			break
		}
		loss, _ := fn(req.Term, req.Params, req.Grads)
		if err := s.Tell(loss, nil); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.FinishStep()
	if err != nil {
		t.Fatal(err)
	}
	want := []termCall{{0, true}, {1, true}}
	if len(calls) < 3 || !reflect.DeepEqual(calls[:2], want) || calls[2].term != AllTerms {
		t.Errorf("request terms %v; want 0, 1, then %d", calls, AllTerms)
	}
	if !reflect.DeepEqual(info.Chosen, []int32{0, 1}) {
		t.Errorf("chosen %v; want [0 1]", info.Chosen)
	}
}

func TestFailingTermFailsTheStep(t *testing.T) {
	for name, fail := range map[string]func(calls *[]termCall) TermsObjective{
		"error": func(calls *[]termCall) TermsObjective { return termsFn(calls, 1) },
		"panic": func(calls *[]termCall) TermsObjective {
			inner := termsFn(calls, -2)
			return func(term int32, params, grads []Tensor) (float64, error) {
				if term == 1 {
					panic("term exploded")
				}
				return inner(term, params, grads)
			}
		},
	} {
		s := unit4Solver(t, TopKPerTerm)
		var calls []termCall
		if err := s.SetObjectiveTerms(fail(&calls), 2); err != nil {
			t.Fatal(err)
		}
		_, err := s.Step()
		if !errors.Is(err, StatusCallback) || !strings.Contains(err.Error(), "term exploded") {
			t.Errorf("%s: %v; want FW_ERR_CALLBACK with the message", name, err)
		}
		if h, _ := s.History(); len(h) != 0 {
			t.Errorf("%s: history %d; want 0", name, len(h))
		}
	}
}
