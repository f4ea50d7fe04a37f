package fwmerge

import "github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"

// SetTorchThreads sets LibTorch's intra-op thread count for the whole process
// (fw_set_torch_threads), n >= 1. Call it once, early, from one goroutine.
func SetTorchThreads(n int) error {
	return call(func() swigfw.Fw_status { return swigfw.Fw_set_torch_threads(n) })
}

// SetMallocMmapThreshold sets glibc's M_MMAP_THRESHOLD for the whole process
// (fw_set_malloc_mmap_threshold); 1 MiB is recommended for large merges. StatusUnsupported where
// malloc is not glibc's.
func SetMallocMmapThreshold(bytes uint64) error {
	return call(func() swigfw.Fw_status { return swigfw.Fw_set_malloc_mmap_threshold(bytes) })
}
