// A checkpoint as the solver sees it: named tensors read one at a time as fp32 into fresh memory,
// so memory stays flat whatever the pool size.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
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
  // The tensor as a contiguous fp32 CPU tensor. Treat it as read-only: the in-memory checkpoint
  // hands out its own storage.
  virtual at::Tensor load_f32(const std::string &name) const = 0;
  // Status::Io when a file behind the checkpoint was rewritten or replaced since it was opened
  // (size, modification and status change times, inode, header). Reads check size and time
  // themselves; this also catches a replacement, and is called before each step and merge uses the
  // checkpoint.
  virtual void check_unchanged() const {}
  // What a saved solver state (fw_solver_state_save) records to recognise this checkpoint in
  // another process, possibly as a copy at another path: sizes, header hashes and a hash of 64
  // evenly spread 4 KiB samples of the data of its files (and, for an adapter, the scales its
  // config gives). Not inode or time, which a copy does not keep; not a hash of all the data (GBs).
  // "" for checkpoints without files.
  virtual std::string identity() const { return ""; }

  // Copies elements [begin, end) of the flattened tensor, as fp32, into `out` (contiguous fp32,
  // end - begin elements). Lets the LMO walk all checkpoints chunk by chunk while the gradient
  // chunk stays in cache. Files read with pread; checkpoints that compute their tensors (adapters)
  // keep this default, answer false to streams_ranges(), and are loaded whole once instead.
  virtual bool streams_ranges() const { return false; }
  virtual void read_f32_range(const std::string &name, int64_t begin, int64_t end,
                              at::Tensor &out) const {
    out.copy_(load_f32(name).reshape(-1).slice(0, begin, end));
  }
  // The bytes of elements [begin, end) in the tensor's own dtype (TensorMeta::dtype), into `dst`
  // ((end - begin) * itemsize bytes): the GPU path moves bf16 files as bf16 and converts on the
  // device. Only for checkpoints that answer true to streams_ranges().
  virtual void read_raw_range(const std::string &name, int64_t begin, int64_t end, void *dst) const;
};

// A checkpoint held in memory (fp32 tensors): start points that are not files, e.g. a data-free
// merge. Entries must be in the base's order.
class InMemoryCheckpoint : public Checkpoint {
 public:
  struct Entry {
    std::string name;
    at::Tensor tensor;  // fp32, contiguous
    DType dtype;        // dtype reported in tensors() (the base's)
  };
  InMemoryCheckpoint(std::vector<Entry> entries, std::string description);
  const std::string &path() const override { return description_; }
  const std::vector<TensorMeta> &tensors() const override { return metas_; }
  const TensorMeta *find(const std::string &name) const override;
  at::Tensor load_f32(const std::string &name) const override;

 private:
  std::string description_;
  std::vector<TensorMeta> metas_;
  std::vector<at::Tensor> values_;
  std::map<std::string, size_t> index_;
};

// Opens a .safetensors file, a Hugging Face folder (model.safetensors, or shards with
// model.safetensors.index.json). `base` is needed for PEFT adapter folders (adapter_config.json),
// whose tensors are base + delta; nullptr otherwise. A folder's files that are symbolic links out
// of it are refused unless `allow_outside_links` (folder_links.h). Throws fw::Error.
std::unique_ptr<Checkpoint> open_checkpoint(const std::string &path, const Checkpoint *base,
                                            bool allow_outside_links = false);

// Checks that `member` has exactly the base's names, shapes and dtypes (Status::NameMismatch,
// Status::ShapeMismatch, Status::DtypeMismatch) and only mergeable dtypes (Status::Unsupported).
void check_compatible(const Checkpoint &base, const Checkpoint &member);

}  // namespace fw
