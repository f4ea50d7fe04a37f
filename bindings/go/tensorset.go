package fwmerge

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"unsafe"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// TensorData is a host tensor for SaveTensors: its name, dtype, shape and row-major,
// little-endian bytes (len(Bytes) = product of Shape x DType.Size()).
type TensorData struct {
	Name  string
	DType DType
	Shape []int64
	Bytes []byte
}

// Float32Tensor builds an F32 TensorData from values.
func Float32Tensor(name string, shape []int64, values []float32) TensorData {
	b := make([]byte, 0, 4*len(values))
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return TensorData{Name: name, DType: DTypeF32, Shape: shape, Bytes: b}
}

// Int64Tensor builds an I64 TensorData from values (e.g. the labels of a calibration file).
func Int64Tensor(name string, shape []int64, values []int64) TensorData {
	b := make([]byte, 0, 8*len(values))
	for _, v := range values {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return TensorData{Name: name, DType: DTypeI64, Shape: shape, Bytes: b}
}

func invalid(format string, args ...any) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// SaveTensors writes tensors (in order) as one .safetensors file, atomically
// (fw_save_tensors). Floating tensors (F32, F16, BF16, F64) are converted to dtype when it is
// F32, F16 or BF16 (DTypeDefault: each tensor's own dtype); integer and bool tensors are written
// as they are. metadata goes into __metadata__ (keys in sorted order).
func SaveTensors(path string, tensors []TensorData, dtype DType, metadata map[string]string) error {
	list := swigfw.NewTensorList()
	defer swigfw.DeleteTensorList(list)
	for _, t := range tensors {
		size := t.DType.Size()
		if size == 0 {
			return invalid("fwmerge: tensor %q: unknown dtype %d", t.Name, t.DType)
		}
		numel := int64(1)
		for _, d := range t.Shape {
			if d < 0 || (d > 0 && numel > math.MaxInt64/d) {
				return invalid("fwmerge: tensor %q: bad shape %v", t.Name, t.Shape)
			}
			numel *= d
		}
		if numel > math.MaxInt64/int64(size) || numel*int64(size) != int64(len(t.Bytes)) {
			return invalid("fwmerge: tensor %q: shape %v of %d-byte elements needs %d bytes, has %d",
				t.Name, t.Shape, size, numel*int64(size), len(t.Bytes))
		}
		list.Add(t.Name, swigfw.Fw_dtype(t.DType))
		for _, d := range t.Shape {
			list.Add_dim(d)
		}
		if len(t.Bytes) > 0 {
			address := list.Alloc_data_address(int64(len(t.Bytes)))
			copy(unsafe.Slice((*byte)(cAddress(address)), len(t.Bytes)), t.Bytes)
		}
	}
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		list.Add_metadata(k, metadata[k])
	}
	return call(func() swigfw.Fw_status { return swigfw.Save_tensors(path, list, swigfw.Fw_dtype(dtype)) })
}

// LoadedTensor is one tensor of a TensorSet, Go-owned.
type LoadedTensor struct {
	Name   string
	DType  string // the safetensors dtype string ("F32", "BF16", "I64", "F8_E4M3", ...)
	Shape  []int64
	NBytes uint64 // its size in the file
	Bytes  []byte // row-major little-endian bytes; nil when only the headers were read
}

// Float32s returns the elements of an F32 tensor.
func (t LoadedTensor) Float32s() ([]float32, error) {
	if t.DType != "F32" || t.Bytes == nil {
		return nil, invalid("fwmerge: tensor %q is %s (data loaded: %v), not F32", t.Name, t.DType, t.Bytes != nil)
	}
	out := make([]float32, len(t.Bytes)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Bytes[4*i:]))
	}
	return out, nil
}

// Int64s returns the elements of an I64 tensor.
func (t LoadedTensor) Int64s() ([]int64, error) {
	if t.DType != "I64" || t.Bytes == nil {
		return nil, invalid("fwmerge: tensor %q is %s (data loaded: %v), not I64", t.Name, t.DType, t.Bytes != nil)
	}
	out := make([]int64, len(t.Bytes)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Bytes[8*i:]))
	}
	return out, nil
}

// TensorSet is what LoadTensors read: the tensors in checkpoint order and the __metadata__.
type TensorSet struct {
	Tensors  []LoadedTensor
	Metadata map[string]string
}

// LoadTensors reads a .safetensors file, Hugging Face folder or PEFT adapter folder
// (fw_load_tensors), validated as the solver validates its inputs, into Go memory. headerOnly
// reads names, dtypes, shapes, sizes and metadata only (any dtype; Bytes stay nil).
func LoadTensors(path string, headerOnly bool) (*TensorSet, error) {
	flags := uint(0)
	if headerOnly {
		flags = uint(swigfw.FW_LOAD_FLAG_HEADER_ONLY)
	}
	box := swigfw.NewTensorSetBox()
	defer swigfw.DeleteTensorSetBox(box)
	if err := call(func() swigfw.Fw_status { return swigfw.Load_tensors(path, flags, box) }); err != nil {
		return nil, err
	}
	set := box.GetHandle()
	defer swigfw.Fw_tensor_set_free(set)
	out := &TensorSet{Metadata: map[string]string{}}
	view := swigfw.NewFw_tensor()
	defer swigfw.DeleteFw_tensor(view)
	count := swigfw.Fw_tensor_set_count(set)
	for i := int64(0); i < count; i++ {
		if err := call(func() swigfw.Fw_status { return swigfw.Fw_tensor_set_get(set, i, view) }); err != nil {
			return nil, err
		}
		t := LoadedTensor{
			Name:   view.GetName(),
			DType:  swigfw.Fw_tensor_set_dtype_name(set, i),
			Shape:  make([]int64, view.GetNdim()),
			NBytes: swigfw.Fw_tensor_set_nbytes(set, i),
		}
		for d := range t.Shape {
			t.Shape[d] = swigfw.Shape_at(view, d)
		}
		if address := view.GetData(); address != 0 {
			t.Bytes = make([]byte, t.NBytes)
			copy(t.Bytes, unsafe.Slice((*byte)(cAddress(address)), t.NBytes))
		}
		out.Tensors = append(out.Tensors, t)
	}
	entry := swigfw.NewMetadataEntry()
	defer swigfw.DeleteMetadataEntry(entry)
	n := swigfw.Fw_tensor_set_metadata_count(set)
	for i := int64(0); i < n; i++ {
		if err := call(func() swigfw.Fw_status { return swigfw.Tensor_set_metadata(set, i, entry) }); err != nil {
			return nil, err
		}
		out.Metadata[entry.GetKey()] = entry.GetValue()
	}
	return out, nil
}
