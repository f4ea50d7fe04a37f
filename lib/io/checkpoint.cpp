// Opening checkpoints of every supported layout, the pool compatibility check, and the in-memory
// checkpoint used for start points.
#include "io/checkpoint.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "io/folder_links.h"
#include "io/hf_index.h"
#include "io/lora_adapter.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_reader.h"
#include "util/error.h"

namespace fw {

void Checkpoint::read_raw_range(const std::string &name, int64_t, int64_t, void *) const {
  fail(Status::Internal, "read_raw_range on " + path() + " (tensor \"" + name +
                             "\"), a checkpoint that does not stream ranges");
}

namespace {

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string shape_text(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

std::unique_ptr<Checkpoint> open_checkpoint(const std::string &path, const Checkpoint *base,
                                            bool allow_outside_links) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    fail(Status::Io, "cannot open checkpoint " + path + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    files.push_back(SafetensorsFile::open(path));
    return std::make_unique<SafetensorsCheckpoint>(path, std::move(files));
  }
  // An adapter folder may also carry model files; the adapter is what it means.
  if (exists(path + "/adapter_config.json"))
    return open_lora_adapter(path, base, allow_outside_links);
  if (exists(path + "/model.safetensors.index.json")) {
    return std::make_unique<SafetensorsCheckpoint>(path,
                                                   open_sharded_folder(path, allow_outside_links));
  }
  if (exists(path + "/model.safetensors")) {
    check_inside_folder(path, path + "/model.safetensors", allow_outside_links);
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    files.push_back(SafetensorsFile::open(path + "/model.safetensors"));
    return std::make_unique<SafetensorsCheckpoint>(path, std::move(files));
  }
  fail_format("folder_no_checkpoint",
              path +
                  " holds no model.safetensors, model.safetensors.index.json or "
                  "adapter_config.json");
}

void check_compatible(const Checkpoint &base, const Checkpoint &member) {
  const std::string who = "pool member " + member.path();
  for (const TensorMeta &b : base.tensors()) {
    if (member.find(b.name) == nullptr) {
      fail(Status::NameMismatch, who + " lacks tensor \"" + b.name + "\" of base " + base.path());
    }
  }
  for (const TensorMeta &m : member.tensors()) {
    if (base.find(m.name) == nullptr) {
      fail(Status::NameMismatch,
           who + " has tensor \"" + m.name + "\" that base " + base.path() + " lacks");
    }
  }
  for (const TensorMeta &b : base.tensors()) {
    const TensorMeta &m = *member.find(b.name);
    if (!is_mergeable(b.dtype) || !is_mergeable(m.dtype)) {
      fail(Status::Unsupported, "tensor \"" + b.name + "\": dtype " + dtype_name(b.dtype) +
                                    " (base) / " + dtype_name(m.dtype) + " (" + member.path() +
                                    ") cannot be merged; only F32, F16 and BF16");
    }
    if (m.dtype != b.dtype) {
      fail(Status::DtypeMismatch, "tensor \"" + b.name + "\": dtype " + dtype_name(m.dtype) +
                                      " in " + who + " but " + dtype_name(b.dtype) + " in base");
    }
    if (m.shape != b.shape) {
      fail(Status::ShapeMismatch, "tensor \"" + b.name + "\": shape " + shape_text(m.shape) +
                                      " in " + who + " but " + shape_text(b.shape) + " in base");
    }
  }
}

InMemoryCheckpoint::InMemoryCheckpoint(std::vector<Entry> entries, std::string description)
    : description_(std::move(description)) {
  for (Entry &e : entries) {
    if (!index_.emplace(e.name, metas_.size()).second) {
      fail(Status::InvalidArgument, description_ + ": tensor \"" + e.name + "\" appears twice");
    }
    if (!e.tensor.defined()) {
      fail(Status::InvalidArgument, description_ + ": tensor \"" + e.name + "\" is undefined");
    }
    // Aliases the caller's tensor when it already is a contiguous fp32 CPU tensor.
    at::Tensor value = e.tensor.to(at::kCPU, at::kFloat).contiguous();
    metas_.push_back(TensorMeta{e.name, e.dtype, value.sizes().vec(), value.numel()});
    values_.push_back(std::move(value));
  }
}

const TensorMeta *InMemoryCheckpoint::find(const std::string &name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &metas_[it->second];
}

at::Tensor InMemoryCheckpoint::load_f32(const std::string &name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    fail(Status::NameMismatch, description_ + " has no tensor named \"" + name + "\"");
  }
  return values_[it->second];
}

}  // namespace fw
