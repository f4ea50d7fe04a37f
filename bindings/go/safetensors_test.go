package fwmerge

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"sort"
	"testing"
)

// A minimal, independent safetensors writer and reader for the tests (F32 only): the format is
// an 8-byte little-endian header length, a JSON header, then the tensors' bytes.

type testTensor struct {
	name  string
	shape []int64
	data  []float32
}

func writeSafetensors(t testing.TB, path string, tensors []testTensor) {
	t.Helper()
	header := map[string]any{}
	var body []byte
	for _, tt := range tensors {
		begin := len(body)
		for _, v := range tt.data {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
		}
		header[tt.name] = map[string]any{"dtype": "F32", "shape": tt.shape, "data_offsets": []int{begin, len(body)}}
	}
	text, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(text)%8 != 0 {
		text = append(text, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(text)))
	out = append(append(out, text...), body...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

type readTensor struct {
	dtype string
	shape []int64
	data  []float32
}

// readSafetensors returns the F32 tensors of a file and its __metadata__.
func readSafetensors(t *testing.T, path string) (map[string]readTensor, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	body := raw[8+n:]
	tensors := map[string]readTensor{}
	meta := map[string]string{}
	for name, entry := range header {
		if name == "__metadata__" {
			if err := json.Unmarshal(entry, &meta); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var e struct {
			Dtype   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets [2]int  `json:"data_offsets"`
		}
		if err := json.Unmarshal(entry, &e); err != nil {
			t.Fatal(err)
		}
		rt := readTensor{dtype: e.Dtype, shape: e.Shape}
		for off := e.Offsets[0]; off < e.Offsets[1]; off += 4 {
			rt.data = append(rt.data, math.Float32frombits(binary.LittleEndian.Uint32(body[off:])))
		}
		tensors[name] = rt
	}
	return tensors, meta
}

func sortedNames(m map[string]readTensor) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
