#include "io/safetensors_checkpoint.h"

#include <cstdint>

#include "util/error.h"

namespace fw {

SafetensorsCheckpoint::SafetensorsCheckpoint(std::string path,
                                             std::vector<std::unique_ptr<SafetensorsFile>> files)
    : path_(std::move(path)), files_(std::move(files)) {
  for (const auto &file : files_) {
    for (const TensorEntry &entry : file->tensors()) {
      if (index_.count(entry.name) != 0) {
        fail(Status::Internal, "tensor \"" + entry.name + "\" in two files of " + path_);
      }
      index_[entry.name] = Location{metas_.size(), file.get(), &entry};
      metas_.push_back(TensorMeta{entry.name, entry.dtype, entry.shape, entry.numel});
    }
  }
}

const SafetensorsCheckpoint::Location &SafetensorsCheckpoint::locate(
    const std::string &name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    fail(Status::NameMismatch, path_ + " has no tensor named \"" + name + "\"");
  }
  return it->second;
}

const TensorMeta *SafetensorsCheckpoint::find(const std::string &name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &metas_[it->second.meta];
}

at::Tensor SafetensorsCheckpoint::load_f32(const std::string &name) const {
  const Location &loc = locate(name);
  return loc.file->read_f32(*loc.entry);
}

void SafetensorsCheckpoint::read_f32_range(const std::string &name, int64_t begin, int64_t end,
                                           at::Tensor &out) const {
  const Location &loc = locate(name);
  const TensorEntry &entry = *loc.entry;
  require_mergeable(entry, path_);
  if (begin < 0 || end > entry.numel || begin > end || out.numel() != end - begin ||
      out.scalar_type() != at::kFloat || !out.is_contiguous())
    fail(Status::InvalidArgument, "bad element range or buffer for tensor \"" + name + "\"");
  const uint64_t itemsize = static_cast<uint64_t>(dtype_bits(entry.dtype) / 8);
  const uint64_t offset = static_cast<uint64_t>(begin) * itemsize;
  const uint64_t nbytes = static_cast<uint64_t>(end - begin) * itemsize;
  if (entry.dtype == DType::F32) return loc.file->read_bytes(entry, offset, nbytes, out.data_ptr());
  at::Tensor raw = at::empty({end - begin}, at::TensorOptions().dtype(to_scalar_type(entry.dtype)));
  loc.file->read_bytes(entry, offset, nbytes, raw.data_ptr());
  out.copy_(raw);
}

void SafetensorsCheckpoint::read_raw_range(const std::string &name, int64_t begin, int64_t end,
                                           void *dst) const {
  // Any dtype: the bytes are moved, not converted (integer buffers are copied from the base).
  const Location &loc = locate(name);
  const TensorEntry &entry = *loc.entry;
  if (begin < 0 || end > entry.numel || begin > end)
    fail(Status::InvalidArgument, "bad element range for tensor \"" + name + "\"");
  const uint64_t itemsize = static_cast<uint64_t>(dtype_bits(entry.dtype) / 8);
  loc.file->read_bytes(entry, static_cast<uint64_t>(begin) * itemsize,
                       static_cast<uint64_t>(end - begin) * itemsize, dst);
}

std::string SafetensorsCheckpoint::identity() const {
  std::string out;
  for (const auto &file : files_) out += (out.empty() ? "" : ",") + file->identity();
  return out;
}

void SafetensorsCheckpoint::check_unchanged() const {
  for (const auto &file : files_) file->check_unchanged();
}

}  // namespace fw
