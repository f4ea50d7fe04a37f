#include "io/mapped_checkpoint.h"

#include <cstdint>
#include <cstring>

#include "util/error.h"

namespace fw {

at::Tensor mapped_tensor_f32(const SafetensorsFile &file, const TensorEntry &entry) {
  if (!is_mergeable(entry.dtype)) {
    fail(FW_ERR_UNSUPPORTED, file.path() + ": tensor \"" + entry.name + "\" has dtype " +
                                 dtype_name(entry.dtype) + "; only F32, F16 and BF16 are merged");
  }
  const at::ScalarType type = to_scalar_type(entry.dtype);
  if (entry.numel == 0) return at::empty(entry.shape, at::kFloat);
  // from_blob needs a mutable pointer; the pages are PROT_READ, so a write would fault.
  void *bytes = const_cast<uint8_t *>(file.data(entry));
  const size_t itemsize = static_cast<size_t>(dtype_bits(entry.dtype) / 8);
  at::Tensor view;
  if (reinterpret_cast<uintptr_t>(bytes) % itemsize == 0) {
    view = at::from_blob(bytes, entry.shape, at::TensorOptions().dtype(type));
  } else {
    // Headers not padded to a multiple of 8 leave the data misaligned: copy to aligned memory.
    view = at::empty(entry.shape, at::TensorOptions().dtype(type));
    std::memcpy(view.data_ptr(), bytes, entry.nbytes);
  }
  return type == at::kFloat ? view : view.to(at::kFloat);
}

MappedCheckpoint::MappedCheckpoint(std::string path,
                                   std::vector<std::unique_ptr<SafetensorsFile>> files)
    : path_(std::move(path)), files_(std::move(files)) {
  for (const auto &file : files_) {
    for (const TensorEntry &entry : file->tensors()) {
      if (index_.count(entry.name) != 0) {
        fail(FW_ERR_INTERNAL, "tensor \"" + entry.name + "\" in two files of " + path_);
      }
      index_[entry.name] = Location{metas_.size(), file.get(), &entry};
      metas_.push_back(TensorMeta{entry.name, entry.dtype, entry.shape, entry.numel});
    }
  }
}

const MappedCheckpoint::Location &MappedCheckpoint::locate(const std::string &name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    fail(FW_ERR_NAME_MISMATCH, path_ + " has no tensor named \"" + name + "\"");
  }
  return it->second;
}

const TensorMeta *MappedCheckpoint::find(const std::string &name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &metas_[it->second.meta];
}

at::Tensor MappedCheckpoint::load_f32(const std::string &name) const {
  const Location &loc = locate(name);
  return mapped_tensor_f32(*loc.file, *loc.entry);
}

void MappedCheckpoint::release(const std::string &name) const {
  const Location &loc = locate(name);
  loc.file->release(*loc.entry);
}

void MappedCheckpoint::read_f32_range(const std::string &name, int64_t begin, int64_t end,
                                      at::Tensor &out) const {
  const Location &loc = locate(name);
  const TensorEntry &entry = *loc.entry;
  if (!is_mergeable(entry.dtype))
    fail(FW_ERR_UNSUPPORTED, path_ + ": tensor \"" + name + "\" has dtype " +
                                 dtype_name(entry.dtype) + "; only F32, F16 and BF16 are merged");
  if (begin < 0 || end > entry.numel || begin > end || out.numel() != end - begin ||
      out.scalar_type() != at::kFloat || !out.is_contiguous())
    fail(FW_ERR_INVALID_ARGUMENT, "bad element range or buffer for tensor \"" + name + "\"");
  const uint64_t itemsize = static_cast<uint64_t>(dtype_bits(entry.dtype) / 8);
  const uint64_t offset = static_cast<uint64_t>(begin) * itemsize;
  const uint64_t nbytes = static_cast<uint64_t>(end - begin) * itemsize;
  if (entry.dtype == DType::F32) return loc.file->read_bytes(entry, offset, nbytes, out.data_ptr());
  at::Tensor raw = at::empty({end - begin}, at::TensorOptions().dtype(to_scalar_type(entry.dtype)));
  loc.file->read_bytes(entry, offset, nbytes, raw.data_ptr());
  out.copy_(raw);
}

void MappedCheckpoint::release_all() const {
  for (const auto &file : files_) file->release_all();
}

}  // namespace fw
