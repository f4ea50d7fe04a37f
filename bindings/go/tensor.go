package fwmerge

// #include <stdint.h>
// /* C memory is not managed by Go's collector: turning its address back into a pointer is sound. */
// static inline void *fw_go_address(uintptr_t address) { return (void *)address; }
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// cAddress turns the address of C memory (a SWIG uintptr) into a pointer.
func cAddress(address uintptr) unsafe.Pointer { return C.fw_go_address(C.uintptr_t(address)) }

// Tensor is a view of one fp32 tensor owned by the library: Data points into its memory.
// See the package documentation for how long a view lives.
type Tensor struct {
	Name  string
	Shape []int64
	Data  []float32
}

// Clone returns a Tensor whose Data is a Go-owned copy, safe to keep.
func (t Tensor) Clone() Tensor {
	return Tensor{
		Name:  t.Name,
		Shape: append([]int64(nil), t.Shape...),
		Data:  append([]float32(nil), t.Data...),
	}
}

// views builds n Tensor views over a C array of fw_tensor (nil when the array is NULL). Go reads
// them as []float32 in host memory, so any other view (a WorkDType other than F32, or a CUDA
// solver without HostViews) is an error rather than a misread.
func views(array swigfw.Fw_tensor, n int64) ([]Tensor, error) {
	if array == nil || array.Swigcptr() == 0 {
		return nil, nil
	}
	out := make([]Tensor, n)
	for i := range out {
		t := swigfw.Tensor_at(array, int64(i))
		if dt, dev := DType(t.GetDtype()), DeviceType(t.GetDevice()); dt != DTypeF32 || dev != DeviceCPU {
			return nil, &Error{Status: StatusUnsupported, Message: fmt.Sprintf("fwmerge: tensor %q is a "+
				"dtype %d view on device %d (index %d); the Go binding reads float32 views in host "+
				"memory: use WorkDType F32 and, on CUDA, HostViews", t.GetName(), dt, dev, t.GetDevice_index())}
		}
		shape := make([]int64, t.GetNdim())
		for d := range shape {
			shape[d] = swigfw.Shape_at(t, d)
		}
		var data []float32
		if numel := t.GetNumel(); numel > 0 {
			ptr := (*float32)(cAddress(t.GetData()))
			data = unsafe.Slice(ptr, numel)
		}
		out[i] = Tensor{Name: t.GetName(), Shape: shape, Data: data}
	}
	return out, nil
}
