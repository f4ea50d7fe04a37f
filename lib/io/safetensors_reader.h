// Validated, memory-mapped reader of one .safetensors file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace fw {

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  int64_t numel;
  uint64_t
      begin;  // offset of the data relative to the file start (8 + header_len + data_offsets[0])
  uint64_t nbytes;
};

class SafetensorsFile {
 public:
  // Parses and validates the header (see shared/docs/formats.md); throws fw::Error
  // (FW_ERR_IO / FW_ERR_FORMAT with a "[defect]" name). Maps the file read-only; reads no tensor
  // data.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  const std::vector<TensorEntry> &tensors() const { return tensors_; }  // sorted by offset
  const TensorEntry *find(const std::string &name) const;               // nullptr if absent
  const std::map<std::string, std::string> &metadata() const { return metadata_; }

  // Pointer to a tensor's bytes inside the mapping. Valid while this object lives.
  const uint8_t *data(const TensorEntry &entry) const;
  // Drops the resident pages of one tensor (madvise DONTNEED): RSS falls, page cache stays.
  void release(const TensorEntry &entry) const;
  // Copies bytes [offset, offset + nbytes) of one tensor's data into `out` with pread: streaming
  // passes avoid a page fault per 4 KiB and leave nothing mapped.
  void read_bytes(const TensorEntry &entry, uint64_t offset, uint64_t nbytes, void *out) const;
  void release_all() const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  int fd_ = -1;
  uint8_t *map_ = nullptr;
  uint64_t size_ = 0;
  std::vector<TensorEntry> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace fw
