// Validated reader of one .safetensors file: the header is checked at open (safetensors_header.h),
// tensor bytes are read on demand with checked preads (read_only_file.h), never memory-mapped.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/dtype.h"
#include "io/read_only_file.h"
#include "io/safetensors_header.h"

namespace fw {

// Status::Unsupported unless the tensor's dtype is one the solver merges (F32, F16, BF16); the
// message names `where` (a file or a checkpoint folder) and the tensor.
void require_mergeable(const TensorEntry &entry, const std::string &where);

class SafetensorsFile {
 public:
  // Parses and validates the header (see shared/docs/formats.md); throws fw::Error
  // (Status::Io / Status::Format with a "[defect]" name). Reads no tensor data.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path);
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return file_.path(); }
  const std::vector<TensorEntry> &tensors() const { return layout_.tensors; }  // sorted by offset
  const TensorEntry *find(const std::string &name) const;                      // nullptr if absent
  const std::map<std::string, std::string> &metadata() const { return layout_.metadata; }

  // Copies bytes [offset, offset + nbytes) of one tensor's data into `out`. A file that changed
  // since open() or came back short is Status::Io naming the file and the tensor.
  void read_bytes(const TensorEntry &entry, uint64_t offset, uint64_t nbytes, void *out) const;
  // The whole tensor in its stored type `type` (the caller maps the dtype), in fresh memory.
  at::Tensor read_tensor(const TensorEntry &entry, at::ScalarType type) const;
  // The whole tensor as contiguous fp32 (F32, F16, BF16; other dtypes Status::Unsupported).
  at::Tensor read_f32(const TensorEntry &entry) const;

  // Status::Io when the file was rewritten, replaced or its header changed since open(): a pool
  // member is re-checked this way before each use, not only byte by byte as it is read.
  void check_unchanged() const;
  // "<size>:<header hash>:<hash of 64 data samples>" (see Checkpoint::identity); reads 256 KiB.
  std::string identity() const;

 private:
  SafetensorsFile() = default;
  ReadOnlyFile file_;
  SafetensorsLayout layout_;
  uint64_t header_hash_ = 0;
  std::unordered_map<std::string, size_t> index_;  // by name (hashed: headers of 400 k names)
};

}  // namespace fw
