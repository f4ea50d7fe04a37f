// Any checkpoint's tensors read back into host memory, all dtypes (fw_load_tensors, `fwmerge
// inspect`): the counterpart of the writer, through the same validated reader as the solver.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace fw {

struct LoadedTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  int64_t numel;
  uint64_t nbytes;
  at::Tensor bytes;  // nbytes uint8 (64-byte aligned); undefined when only the header was read
};

struct TensorSet {
  std::vector<LoadedTensor> tensors;  // checkpoint order: files in index order, then offset
  std::map<std::string, std::string> metadata;  // the first file's __metadata__
};

// A .safetensors file, a Hugging Face folder (single file or shards + index) or a PEFT adapter
// folder (its adapter_model.safetensors as stored). header_only: no data read, every dtype
// accepted; otherwise a dtype fw_dtype does not name is Status::Unsupported. A folder's files that
// are symbolic links out of it are refused unless `allow_outside_links` (folder_links.h). Throws
// fw::Error.
TensorSet load_tensor_set(const std::string &path, bool header_only,
                          bool allow_outside_links = false);

}  // namespace fw
