// Atomic safetensors writer (single file, or Hugging Face shards + index).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace fw {

struct OutTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void *data;  // nbytes little-endian bytes of `dtype`
  uint64_t nbytes;
};

// Writes one file byte-compatible with the reference implementation: header JSON with
// "__metadata__" first, tensors ordered by dtype alignment (widest first) then name, padded with
// spaces to a multiple of 8. Temp file in the same folder + fsync + rename; on any failure
// (FW_ERR_IO, incl. a full disk) the temp file is removed and `path` is untouched.
void write_safetensors(const std::string &path, const std::vector<OutTensor> &tensors,
                       const std::map<std::string, std::string> &metadata);

// Writes `dir`/model-0000i-of-0000N.safetensors (greedy packing in name order, a tensor larger than
// max_shard_bytes gets its own shard) and model.safetensors.index.json ({"metadata":
// {"total_size": ...}, "weight_map": {...}}). Every shard carries `metadata`. All-or-nothing:
// everything is written to temp names first, then renamed, the index last.
void write_sharded(const std::string &dir, const std::vector<OutTensor> &tensors,
                   const std::map<std::string, std::string> &metadata, uint64_t max_shard_bytes);

}  // namespace fw
