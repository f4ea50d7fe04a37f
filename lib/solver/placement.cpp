#include "solver/placement.h"

#include <torch/cuda.h>

#include <string>

#include "util/error.h"

namespace fw {

bool torch_has_cuda() {
#if defined(FWMERGE_TORCH_CUDA)
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
  // torch::cuda::device_count() answers 0 on a CPU-only LibTorch and when no driver or device is
  // present; it never throws.
  return torch_has_cuda() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

Placement placement_of(DeviceKind device, int device_index, WorkDtype dtype) {
  Placement p;
  p.dtype = dtype == WorkDtype::F16    ? at::kHalf
            : dtype == WorkDtype::BF16 ? at::kBFloat16
                                       : at::kFloat;
  if (device == DeviceKind::Cpu) return p;
  if (!torch_has_cuda())
    fail(
        Status::Unsupported,
        "params: device FW_DEVICE_TYPE_CUDA, but this fwmerge was built against a LibTorch without "
        "CUDA (build it against a CUDA LibTorch, e.g. a pip torch, to merge on a GPU)");
  const int count = cuda_device_count();
  if (count == 0)
    fail(Status::Unsupported,
         "params: device FW_DEVICE_TYPE_CUDA, but no CUDA device is visible to this process "
         "(driver, "
         "CUDA_VISIBLE_DEVICES)");
  if (device_index >= count)
    fail(Status::InvalidArgument, "params: CUDA device_index " + std::to_string(device_index) +
                                      " does not exist (" + std::to_string(count) + " device" +
                                      (count == 1 ? "" : "s") + " visible: 0.." +
                                      std::to_string(count - 1) + ")");
  p.device = at::Device(at::kCUDA, static_cast<at::DeviceIndex>(device_index));
  return p;
}

at::Tensor to_placement(const at::Tensor &t, const Placement &p) {
  return t.to(p.options());  // at::Tensor::to returns `t` itself when nothing changes
}

}  // namespace fw
