package fwmerge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// rawEntries reads a safetensors header independently of the library: dtype, shape and the
// tensor's bytes per name.
func rawEntries(t *testing.T, path string) map[string]LoadedTensor {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	out := map[string]LoadedTensor{}
	for name, entry := range header {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int   `json:"data_offsets"`
		}
		if err := json.Unmarshal(entry, &e); err != nil {
			t.Fatal(err)
		}
		body := raw[8+n:]
		out[name] = LoadedTensor{Name: name, DType: e.DType, Shape: e.Shape,
			NBytes: uint64(e.Offsets[1] - e.Offsets[0]), Bytes: body[e.Offsets[0]:e.Offsets[1]]}
	}
	return out
}

func TestSaveAndLoadTensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "calib.safetensors")
	labels := []int64{-5, 1 << 40, 7}
	bf16 := []byte{0x80, 0x3f, 0x00, 0xc0} // 1.0, -2.0 as bfloat16 bit patterns
	in := []TensorData{
		Float32Tensor("x", []int64{2, 2}, []float32{1, 2, 3, -1}),
		Int64Tensor("y", []int64{3}, labels),
		{Name: "h", DType: DTypeBF16, Shape: []int64{2}, Bytes: bf16},
		{Name: "mask", DType: DTypeU8, Shape: []int64{4}, Bytes: []byte{0, 1, 254, 255}},
		Float32Tensor("scalar", []int64{}, []float32{0.5}),
	}
	meta := map[string]string{"task": "labels", "a": "b"}
	if err := SaveTensors(path, in, DTypeDefault, meta); err != nil {
		t.Fatal(err)
	}

	// What the file holds, read without the library.
	raw := rawEntries(t, path)
	if y := raw["y"]; y.DType != "I64" || !reflect.DeepEqual(y.Shape, []int64{3}) || !bytes.Equal(y.Bytes, in[1].Bytes) {
		t.Errorf("file entry y = %+v", y)
	}
	if x := raw["x"]; x.DType != "F32" || !bytes.Equal(x.Bytes, in[0].Bytes) {
		t.Errorf("file entry x = %+v", x)
	}

	set, err := LoadTensors(path, false)
	if err != nil {
		t.Fatal(err)
	}
	// Checkpoint order is the file's (offset order), not necessarily the order given.
	wantDTypes := map[string]string{"x": "F32", "y": "I64", "h": "BF16", "mask": "U8", "scalar": "F32"}
	if len(set.Tensors) != len(in) {
		t.Fatalf("loaded %d tensors; want %d", len(set.Tensors), len(in))
	}
	byName := map[string]LoadedTensor{}
	for _, got := range set.Tensors {
		byName[got.Name] = got
	}
	for _, want := range in {
		got := byName[want.Name]
		if got.DType != wantDTypes[want.Name] || !reflect.DeepEqual(got.Shape, want.Shape) ||
			got.NBytes != uint64(len(want.Bytes)) || !bytes.Equal(got.Bytes, want.Bytes) {
			t.Errorf("tensor %s = %+v; want %+v (%s)", want.Name, got, want, wantDTypes[want.Name])
		}
		if raw[want.Name].DType != got.DType {
			t.Errorf("tensor %s: file says %s, LoadTensors %s", want.Name, raw[want.Name].DType, got.DType)
		}
	}
	if y, err := byName["y"].Int64s(); err != nil || !reflect.DeepEqual(y, labels) {
		t.Errorf("Int64s() = %v, %v", y, err)
	}
	if x, err := byName["x"].Float32s(); err != nil || !reflect.DeepEqual(x, []float32{1, 2, 3, -1}) {
		t.Errorf("Float32s() = %v, %v", x, err)
	}
	if _, err := byName["y"].Float32s(); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("Float32s() of an I64 tensor = %v", err)
	}
	if set.Metadata["task"] != "labels" || set.Metadata["a"] != "b" {
		t.Errorf("metadata %v", set.Metadata)
	}

	header, err := LoadTensors(path, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range header.Tensors {
		if got.Name != set.Tensors[i].Name || got.Bytes != nil || got.NBytes != set.Tensors[i].NBytes ||
			got.DType != set.Tensors[i].DType {
			t.Errorf("header-only tensor %d = %+v", i, got)
		}
	}
	if !reflect.DeepEqual(header.Metadata, set.Metadata) {
		t.Errorf("header-only metadata %v", header.Metadata)
	}

	// Floating tensors are converted to an explicit dtype; integers are written as they are.
	half := filepath.Join(dir, "half.safetensors")
	if err := SaveTensors(half, in[:2], DTypeF16, nil); err != nil {
		t.Fatal(err)
	}
	raw = rawEntries(t, half)
	if raw["x"].DType != "F16" || raw["x"].NBytes != 8 || raw["y"].DType != "I64" {
		t.Errorf("F16 save: %+v", raw)
	}
}

func TestSaveAndLoadTensorsErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	short := TensorData{Name: "x", DType: DTypeF32, Shape: []int64{3}, Bytes: make([]byte, 8)}
	if err := SaveTensors(path, []TensorData{short}, DTypeDefault, nil); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("SaveTensors(3 elements, 8 bytes) = %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a rejected save left a file")
	}
	if _, err := LoadTensors(filepath.Join(dir, "missing.safetensors"), false); !errors.Is(err, StatusIO) {
		t.Errorf("LoadTensors(missing) = %v; want FW_ERR_IO", err)
	}
	if err := os.WriteFile(path, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTensors(path, true); !errors.Is(err, StatusFormat) {
		t.Errorf("LoadTensors(malformed) = %v; want FW_ERR_FORMAT", err)
	}
}
