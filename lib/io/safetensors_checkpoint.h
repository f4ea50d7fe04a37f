// A Checkpoint over one or more safetensors files (a single file, or the shards of a Hugging Face
// folder), read with checked preads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/safetensors_reader.h"

namespace fw {

class SafetensorsCheckpoint : public Checkpoint {
 public:
  // `files` in checkpoint order; tensor names must be unique across them (checked by the caller).
  SafetensorsCheckpoint(std::string path, std::vector<std::unique_ptr<SafetensorsFile>> files);

  const std::string &path() const override { return path_; }
  const std::vector<TensorMeta> &tensors() const override { return metas_; }
  const TensorMeta *find(const std::string &name) const override;
  at::Tensor load_f32(const std::string &name) const override;
  bool streams_ranges() const override { return true; }
  void read_raw_range(const std::string &name, int64_t begin, int64_t end,
                      void *dst) const override;
  void read_f32_range(const std::string &name, int64_t begin, int64_t end,
                      at::Tensor &out) const override;
  void check_unchanged() const override;
  std::string identity() const override;

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
