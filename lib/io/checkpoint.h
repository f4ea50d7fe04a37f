// A checkpoint as the solver sees it: named tensors read one at a time as fp32, with their pages
// released after use so memory stays flat whatever the pool size.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace fw {

struct TensorMeta {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  int64_t numel;
};

class Checkpoint {
 public:
  virtual ~Checkpoint() = default;
  virtual const std::string &path() const = 0;
  // All tensors, in a stable order (for sharded folders: the order of the shards, then offsets).
  virtual const std::vector<TensorMeta> &tensors() const = 0;
  virtual const TensorMeta *find(const std::string &name) const = 0;
  // The tensor as a contiguous fp32 CPU tensor. For F32 files this aliases the mapping (zero copy):
  // treat it as read-only, and do not use it after release(name).
  virtual at::Tensor load_f32(const std::string &name) const = 0;
  // Drops resident pages of one tensor / of all tensors.
  virtual void release(const std::string &name) const = 0;
  virtual void release_all() const = 0;
};

// Opens a .safetensors file, a Hugging Face folder (model.safetensors, or shards with
// model.safetensors.index.json). `base` is needed for PEFT adapter folders (adapter_config.json),
// whose tensors are base + delta; nullptr otherwise. Throws fw::Error.
std::unique_ptr<Checkpoint> open_checkpoint(const std::string &path, const Checkpoint *base);

// Checks that `member` has exactly the base's names, shapes and dtypes (FW_ERR_NAME_MISMATCH,
// FW_ERR_SHAPE_MISMATCH, FW_ERR_DTYPE_MISMATCH) and only mergeable dtypes (FW_ERR_UNSUPPORTED).
void check_compatible(const Checkpoint &base, const Checkpoint &member);

}  // namespace fw
