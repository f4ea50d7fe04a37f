// A Checkpoint over one or more memory-mapped safetensors files (a single file, or the shards of
// a Hugging Face folder).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/safetensors_reader.h"

namespace fw {

// One tensor of a mapped file as a contiguous fp32 CPU tensor: F32 aliases the mapping (read-only
// in spirit; copied only when the bytes are not 4-byte aligned), F16/BF16 are converted (a copy).
// Other dtypes: FW_ERR_UNSUPPORTED.
at::Tensor mapped_tensor_f32(const SafetensorsFile &file, const TensorEntry &entry);

class MappedCheckpoint : public Checkpoint {
 public:
  // `files` in checkpoint order; tensor names must be unique across them (checked by the caller).
  MappedCheckpoint(std::string path, std::vector<std::unique_ptr<SafetensorsFile>> files);

  const std::string &path() const override { return path_; }
  const std::vector<TensorMeta> &tensors() const override { return metas_; }
  const TensorMeta *find(const std::string &name) const override;
  at::Tensor load_f32(const std::string &name) const override;
  void release(const std::string &name) const override;
  void release_all() const override;
  bool streams_ranges() const override { return true; }
  void read_f32_range(const std::string &name, int64_t begin, int64_t end,
                      at::Tensor &out) const override;

  const std::vector<std::unique_ptr<SafetensorsFile>> &files() const { return files_; }

 private:
  struct Location {
    size_t meta;
    const SafetensorsFile *file;
    const TensorEntry *entry;
  };
  const Location &locate(const std::string &name) const;

  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<TensorMeta> metas_;
  std::map<std::string, Location> index_;
};

}  // namespace fw
