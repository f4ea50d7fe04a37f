// Where and in which precision the solver keeps its model-sized tensors (SolverConfig::device,
// device_index, work_dtype): the one place that turns them into tensor options and checks that the
// device exists. Arithmetic that must not lose precision (inner products, merge functions) converts
// chunks to fp32 itself; Placement only says where the resident copies live.
#pragma once

#include <ATen/ATen.h>

#include "solver/config.h"

namespace fw {

struct Placement {
  at::Device device = at::Device(at::kCPU);
  at::ScalarType dtype = at::kFloat;

  at::TensorOptions options() const { return at::TensorOptions().device(device).dtype(dtype); }
  bool on_cpu() const { return device.is_cpu(); }
};

// The placement asked for. Throws Status::Unsupported for CUDA on a LibTorch without CUDA or with
// no CUDA device visible, Status::InvalidArgument for an ordinal that does not exist: what only
// this machine can tell (the values themselves were checked where they were read, lib/capi).
Placement placement_of(DeviceKind device, int device_index, WorkDtype dtype);

// Whether the LibTorch this library was built against has CUDA (compile time) and how many CUDA
// devices it sees now (0 without CUDA).
bool torch_has_cuda();
int cuda_device_count();

// A tensor in the given placement: `t` itself when it already is there (no copy), else a copy.
at::Tensor to_placement(const at::Tensor &t, const Placement &p);

}  // namespace fw
